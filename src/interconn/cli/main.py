"""`interconn`: initialise, run and operate a node."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from interconn.cli.admin_client import token_path
from interconn.cli.common import DataDir, client, console, kv, settings, table
from interconn.cli.datasets import auth_app, datasets_app, remote_app
from interconn.config import Settings, config_markdown, write_config
from interconn.errors import InterconnError, OperatorError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="BFIA interconnection management-plane node.",
)
db_app = typer.Typer(help="Database schema.")
node_app = typer.Typer(help="This node's identity.")
partners_app = typer.Typer(help="Partner nodes and contracts.")
outbox_app = typer.Typer(help="Messages waiting for delivery to partners.")
app.add_typer(db_app, name="db")
app.add_typer(node_app, name="node")
app.add_typer(partners_app, name="partners")
app.add_typer(outbox_app, name="outbox")
app.add_typer(datasets_app, name="datasets")
app.add_typer(remote_app, name="remote")
app.add_typer(auth_app, name="authorizations")


@app.callback()
def _root(data_dir: DataDir = None) -> None:
    """BFIA interconnection management-plane node."""
    # `interconn -d DIR command` works like `interconn command -d DIR`.
    if data_dir is not None:
        os.environ["INTERCONN_DATA_DIR"] = str(data_dir)


def _settings(data_dir: Path | None) -> Settings:
    return settings(data_dir)


_client = client
_table = table
_kv = kv


@app.command()
def init(
    data_dir: DataDir = None,
    node_id: Annotated[str | None, typer.Option(help="Node id (default: random).")] = None,
    inst_id: Annotated[str | None, typer.Option(help="Institution id (default: node id).")] = None,
    name: Annotated[str, typer.Option(help="Node name.")] = "interconn node",
    institution: Annotated[str, typer.Option(help="Institution name.")] = "",
    auth_type: Annotated[
        str, typer.Option(help="SHA256_ECDSA, SHA256_RSA or CERT.")
    ] = "SHA256_ECDSA",
    partner_port: Annotated[int | None, typer.Option(help="Partner-facing port.")] = None,
    admin_port: Annotated[int | None, typer.Option(help="Admin API port.")] = None,
    public_address: Annotated[
        str | None, typer.Option(help="URL partners use to reach us.")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default SQLite).")
    ] = None,
) -> None:
    """Create the node's identity, keys, database and first admin token."""
    from interconn.node.identity import create_identity
    from interconn.security.signing import AuthType
    from interconn.server import open_database

    settings = _settings(data_dir)
    if settings.config_path.exists() and token_path(settings).exists():
        raise OperatorError(f"{settings.data_dir} is already initialised")
    try:
        chosen = AuthType(auth_type.upper())
    except ValueError:
        raise OperatorError(f"unsupported auth type {auth_type!r}") from None
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "partner_port": partner_port,
            "admin_port": admin_port,
            "public_address": public_address,
            "database_url": database_url,
        }.items()
        if v is not None
    }
    existing = settings.model_dump(exclude_unset=True, exclude={"data_dir"})
    write_config(settings, {**existing, **values})
    settings = _settings(settings.data_dir)
    db = open_database(settings)
    nid = node_id or "node-" + secrets.token_hex(6)
    with db.unit_of_work() as session:
        token = create_identity(
            session,
            data_dir=settings.data_dir,
            node_id=nid,
            inst_id=inst_id or nid,
            name=name,
            institution=institution or name,
            auth_type=chosen,
        )
    db.dispose()
    path = token_path(settings)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    console.print(f"[green]initialised node {nid}[/] in {settings.data_dir}")
    console.print(f"admin token (also in {path}): [bold]{token}[/]")


@app.command()
def serve(data_dir: DataDir = None) -> None:
    """Run the node: partner API, admin API, delivery worker and reconciler."""
    from interconn.server import run

    run(_settings(data_dir))


@app.command("config-doc")
def config_doc() -> None:
    """Print every setting with its environment variable and default (Markdown)."""
    sys.stdout.write(config_markdown())


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply pending schema migrations."""
    from interconn.server import open_database

    open_database(_settings(data_dir)).dispose()
    console.print("[green]database is up to date[/]")


@node_app.command("show")
def node_show(data_dir: DataDir = None) -> None:
    """Show this node's identity."""
    _kv("this node", _client(data_dir).get("/admin/v1/node"))


@node_app.command("update")
def node_update(
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option()] = None,
    institution: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change this node's info and send it to every partner (node/update)."""
    result = _client(data_dir).patch(
        "/admin/v1/node", {"name": name, "institution": institution, "description": description}
    )
    console.print(f"updated; {result['partners_notified']} partner(s) will be notified")


CONTRACT_COLUMNS = [
    "id",
    "contract_id",
    "role",
    "status",
    "peer_node_id",
    "peer_name",
    "peer_address",
    "expired_time",
]


@partners_app.command("list")
def partners_list(data_dir: DataDir = None) -> None:
    """Every contract, with its partner and state."""
    _table("partners", _client(data_dir).get("/admin/v1/partners"), CONTRACT_COLUMNS)


@partners_app.command("info")
def partners_info(node_id: str, data_dir: DataDir = None) -> None:
    """Ask a partner for its node info (node/query)."""
    _kv(f"node {node_id}", _client(data_dir).get(f"/admin/v1/partners/{node_id}/info"))


@partners_app.command("health")
def partners_health(node_id: str, data_dir: DataDir = None) -> None:
    """Probe a partner's health (node/health)."""
    _kv(f"node {node_id}", _client(data_dir).get(f"/admin/v1/partners/{node_id}/health"))


@app.command()
def apply(
    address: Annotated[str, typer.Argument(help="The partner's URL, e.g. http://10.0.0.2:8600")],
    data_dir: DataDir = None,
    node_id: Annotated[str | None, typer.Option(help="The partner's node id, if known.")] = None,
) -> None:
    """Apply for a contract with the node at ADDRESS."""
    row = _client(data_dir).post("/admin/v1/contracts", {"address": address, "node_id": node_id})
    _kv("contract application", row)


@app.command()
def inbox(data_dir: DataDir = None) -> None:
    """Requests from partners waiting for your decision."""
    _table(
        "inbox",
        _client(data_dir).get("/admin/v1/inbox"),
        ["kind", "ref", "from_node_id", "summary"],
    )


def _decision_path(data_dir: Path | None, ref: str) -> str:
    """Contracts and dataset authorizations share one inbox: find which one REF names."""
    admin = _client(data_dir)
    for base in ("/admin/v1/contracts", "/admin/v1/authorizations"):
        try:
            admin.get(f"{base}/{ref}")
        except OperatorError as exc:
            if "HTTP 404" in exc.msg:
                continue
            raise
        return f"{base}/{ref}"
    raise OperatorError(f"no contract or authorization {ref!r} (see `interconn inbox`)")


@app.command()
def approve(
    ref: str, data_dir: DataDir = None, reason: Annotated[str | None, typer.Option()] = None
) -> None:
    """Approve a pending request from the inbox (contract or dataset authorization)."""
    _kv(
        "approved",
        _client(data_dir).post(f"{_decision_path(data_dir, ref)}/approve", {"reason": reason}),
    )


@app.command()
def reject(
    ref: str, data_dir: DataDir = None, reason: Annotated[str | None, typer.Option()] = None
) -> None:
    """Reject a pending request from the inbox."""
    _kv(
        "rejected",
        _client(data_dir).post(f"{_decision_path(data_dir, ref)}/reject", {"reason": reason}),
    )


@app.command()
def terminate(
    ref: str, data_dir: DataDir = None, reason: Annotated[str | None, typer.Option()] = None
) -> None:
    """Terminate a contract or authorization (or withdraw a pending request)."""
    _kv(
        "terminated",
        _client(data_dir).post(f"{_decision_path(data_dir, ref)}/terminate", {"reason": reason}),
    )


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Contracts by state and the delivery backlog."""
    data = _client(data_dir).get("/admin/v1/status")
    _kv("contracts", data["contracts"] or {"(none)": 0})
    _kv("outbox", data["outbox"])


@app.command()
def audit(
    data_dir: DataDir = None, record: Annotated[str | None, typer.Option()] = None, limit: int = 50
) -> None:
    """The audit log, newest first."""
    rows = _client(data_dir).get("/admin/v1/audit", record_id=record, limit=limit)
    _table(
        "audit log",
        rows,
        ["id", "at", "actor", "action", "record_id", "from_state", "to_state", "trace_id"],
    )


@outbox_app.command("list")
def outbox_list(
    data_dir: DataDir = None, state: Annotated[str | None, typer.Option("--status")] = None
) -> None:
    """Outbox messages, newest first."""
    rows = _client(data_dir).get("/admin/v1/outbox", status=state)
    _table(
        "outbox",
        rows,
        [
            "id",
            "kind",
            "message",
            "peer_node_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
        ],
    )


@outbox_app.command("retry")
def outbox_retry(message_id: int, data_dir: DataDir = None) -> None:
    """Send a FAILED or CANCELLED message again."""
    _kv("outbox", _client(data_dir).post(f"/admin/v1/outbox/{message_id}/retry"))


@outbox_app.command("cancel")
def outbox_cancel(message_id: int, data_dir: DataDir = None) -> None:
    """Give up on a pending message."""
    _kv("outbox", _client(data_dir).post(f"/admin/v1/outbox/{message_id}/cancel"))


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="Keep the data directories.")] = False) -> None:
    """Start two nodes on loopback and run the whole contract story."""
    from interconn.cli.demo import run_demo

    run_demo(console, keep=keep)


def main() -> None:
    try:
        app()
    except InterconnError as exc:
        console.print(f"[red]error:[/] {exc.msg}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
