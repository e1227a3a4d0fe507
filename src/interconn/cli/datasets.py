"""`interconn datasets ...`, `interconn remote ...` and `interconn authorizations ...`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from interconn.cli.common import DataDir, client, kv, table
from interconn.errors import OperatorError

datasets_app = typer.Typer(help="This node's dataset catalogue (metadata only).")
remote_app = typer.Typer(help="Partners' public catalogues.")
auth_app = typer.Typer(help="Dataset authorizations (requested and granted).")

DATASET_COLUMNS = ["dataset_id", "name", "category", "public", "row_count", "size_bytes", "source"]
AUTH_COLUMNS = [
    "id",
    "audit_id",
    "role",
    "status",
    "peer_node_id",
    "dataset_id",
    "times_limit",
    "time_limit",
    "permit_uses",
]


def _load_meta(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise OperatorError(f"{path}: invalid YAML: {exc}") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OperatorError(f"{path}: invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise OperatorError(f"{path}: metadata must be an object")
    return data


@datasets_app.command("add")
def add(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="A CSV file, or with --meta a JSON/YAML metadata file.",
        ),
    ],
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")] = None,
    category: Annotated[str, typer.Option()] = "",
    description: Annotated[str, typer.Option()] = "",
    owner: Annotated[str, typer.Option()] = "",
    dataset_id: Annotated[str | None, typer.Option(help="Default: random ds-<hex>.")] = None,
    public: Annotated[bool, typer.Option("--public/--private")] = False,
    join: Annotated[str | None, typer.Option(help="Comma-separated join columns.")] = None,
    label: Annotated[str | None, typer.Option(help="Comma-separated label columns.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    meta: Annotated[
        bool, typer.Option("--meta", help="FILE is metadata (DB/HIVE/HTTP data).")
    ] = False,
) -> None:
    """Register a dataset: profile a CSV (streaming; only metadata is stored) or read metadata."""
    if meta:
        body = _load_meta(file)
    else:
        from interconn.datasets.inference import profile_csv

        profile = profile_csv(file, delimiter=delimiter)
        body = {
            "source": "CSV",
            "location": str(file.resolve()),
            "row_count": profile.row_count,
            "size_bytes": profile.size_bytes,
            "columns": [
                {"name": c.name, "data_type": c.data_type, "distribution": c.distribution}
                for c in profile.columns
            ],
        }
    body.setdefault("name", name or file.stem)
    for key, value in {
        "category": category,
        "description": description,
        "owner": owner,
        "dataset_id": dataset_id,
    }.items():
        if value:
            body[key] = value
    body["public"] = public or bool(body.get("public"))
    if join:
        body["join_columns"] = [c.strip() for c in join.split(",") if c.strip()]
    if label:
        body["label_columns"] = [c.strip() for c in label.split(",") if c.strip()]
    row = client(data_dir).post("/admin/v1/datasets", body)
    kv("dataset registered", {k: row[k] for k in DATASET_COLUMNS})
    table("columns", row["columns"], ["name", "data_type", "distribution"])


@datasets_app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """Every dataset registered at this node."""
    table("datasets", client(data_dir).get("/admin/v1/datasets"), DATASET_COLUMNS)


@datasets_app.command("show")
def show(dataset_id: str, data_dir: DataDir = None) -> None:
    row = client(data_dir).get(f"/admin/v1/datasets/{dataset_id}")
    kv(f"dataset {dataset_id}", {k: v for k, v in row.items() if k != "columns"})
    table("columns", row["columns"], ["name", "data_type", "distribution", "description"])


@datasets_app.command("edit")
def edit(
    dataset_id: str,
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
) -> None:
    changes = {
        k: v
        for k, v in {
            "name": name,
            "category": category,
            "description": description,
            "owner": owner,
        }.items()
        if v is not None
    }
    row = client(data_dir).patch(f"/admin/v1/datasets/{dataset_id}", changes)
    kv(f"dataset {dataset_id}", {k: row[k] for k in DATASET_COLUMNS})


@datasets_app.command("publish")
def publish(dataset_id: str, data_dir: DataDir = None) -> None:
    """Show the dataset in the public catalogue partners browse."""
    client(data_dir).patch(f"/admin/v1/datasets/{dataset_id}", {"public": True})
    typer.echo(f"{dataset_id} is public")


@datasets_app.command("unpublish")
def unpublish(dataset_id: str, data_dir: DataDir = None) -> None:
    client(data_dir).patch(f"/admin/v1/datasets/{dataset_id}", {"public": False})
    typer.echo(f"{dataset_id} is private")


@datasets_app.command("delete")
def delete(
    dataset_id: str,
    data_dir: DataDir = None,
    force: Annotated[bool, typer.Option(help="End live authorizations first.")] = False,
) -> None:
    result = client(data_dir).request(
        "DELETE", f"/admin/v1/datasets/{dataset_id}", params={"force": str(force).lower()}
    )
    typer.echo(f"deleted {dataset_id}; {result['authorizations_ended']} authorization(s) ended")


@remote_app.command("datasets")
def remote_datasets(
    partner: Annotated[str, typer.Argument(help="The partner's node id.")],
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option(help="Name contains.")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[int, typer.Option(help="Page size, -1 for all.")] = 20,
) -> None:
    """A partner's public catalogue."""
    data = client(data_dir).get(
        f"/admin/v1/remote/{partner}/datasets", name=name, page_num=page, page_size=size
    )
    table(
        f"{partner}: {data['total']} public dataset(s), page {page}",
        data["records"],
        ["dataset_id", "name", "category", "count", "owner", "description"],
    )


@remote_app.command("dataset")
def remote_dataset(partner: str, dataset_id: str, data_dir: DataDir = None) -> None:
    """One dataset of a partner, with its columns (uses our permit if it is not public)."""
    data = client(data_dir).get(f"/admin/v1/remote/{partner}/datasets/{dataset_id}")
    kv(f"{partner}: {dataset_id}", {k: v for k, v in data.items() if k != "column_metas"})
    table("columns", data.get("column_metas") or [], ["name", "data_type", "distribution"])


def _scope(values: list[str] | None) -> dict[str, list[str]] | None:
    if not values:
        return None
    scope: dict[str, list[str]] = {}
    for item in values:
        kind, sep, ids = item.partition("=")
        if not sep or kind.upper() not in ("NODE", "PROJECT", "COMPONENT"):
            raise OperatorError(f"--scope {item!r}: use NODE=, PROJECT= or COMPONENT=id1,id2")
        scope.setdefault(kind.upper(), []).extend(i for i in ids.split(",") if i)
    return scope


@auth_app.command("request")
def request(
    partner: str,
    dataset_id: str,
    data_dir: DataDir = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="e.g. PROJECT=p1,p2 (repeatable).")
    ] = None,
    columns: Annotated[str | None, typer.Option(help="Comma-separated column subset.")] = None,
    until: Annotated[datetime | None, typer.Option(help="Time limit (ISO, UTC).")] = None,
    uses: Annotated[int | None, typer.Option(min=1, help="Number of uses.")] = None,
) -> None:
    """Ask a partner for an authorization on one of its datasets."""
    body: dict[str, Any] = {
        "node_id": partner,
        "dataset_id": dataset_id,
        "auth_scope": _scope(scope),
        "times_limit": uses,
    }
    if columns:
        body["column_names"] = [c.strip() for c in columns.split(",") if c.strip()]
    if until:
        body["time_limit"] = until.isoformat() + ("" if until.tzinfo else "Z")
    row = client(data_dir).post("/admin/v1/authorizations", body)
    kv("authorization requested", {k: row.get(k) for k in AUTH_COLUMNS})


@auth_app.command("list")
def auth_list(
    data_dir: DataDir = None, state: Annotated[str | None, typer.Option("--status")] = None
) -> None:
    table(
        "dataset authorizations",
        client(data_dir).get("/admin/v1/authorizations", status=state),
        AUTH_COLUMNS,
    )


@auth_app.command("show")
def auth_show(ref: str, data_dir: DataDir = None) -> None:
    kv(f"authorization {ref}", client(data_dir).get(f"/admin/v1/authorizations/{ref}"))
