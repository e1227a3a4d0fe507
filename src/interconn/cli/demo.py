"""`interconn demo`: two real nodes on loopback, the whole contract story, then clean up."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from interconn.cli.admin_client import AdminClient
from interconn.localnodes import NodeProcess


def _wait(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _contract(admin: AdminClient, node_id: str) -> dict[str, Any]:
    rows = [r for r in admin.get("/admin/v1/partners") if r["peer_node_id"] == node_id]
    return rows[0] if rows else {}


def _show(
    console: Console, a: NodeProcess, b: NodeProcess, ca: AdminClient, cb: AdminClient
) -> None:
    table = Table(title="contract state on both sides")
    for col in ("node", "role", "contract_id", "status", "peer", "expires"):
        table.add_column(col)
    for node, admin, peer in ((a, ca, b), (b, cb, a)):
        row = _contract(admin, peer.node_id)
        table.add_row(
            node.node_id,
            row.get("role", ""),
            row.get("contract_id") or "",
            row.get("status", ""),
            peer.node_id,
            str(row.get("expired_time") or ""),
        )
    console.print(table)


def run_demo(console: Console, *, keep: bool = False) -> None:
    root = Path(tempfile.mkdtemp(prefix="interconn-demo-"))
    a = NodeProcess(root / "bank-a", node_id="bank-a", name="Bank A")
    b = NodeProcess(root / "data-b", node_id="data-b", name="Data Co B")
    try:
        for node in (a, b):
            node.init()
            node.start()
            console.print(
                f"[green]started[/] {node.node_id}: partner API {node.address}, "
                f"admin {node.admin_url}"
            )
        ca, cb = a.admin(), b.admin()

        console.rule("1. A applies for a contract with B")
        ca.post("/admin/v1/contracts", {"address": b.address})
        _wait(lambda: bool(cb.get("/admin/v1/inbox")), "B's inbox")
        item = cb.get("/admin/v1/inbox")[0]
        console.print(f"B's inbox: {item['summary']} (contract {item['ref']})")
        _show(console, a, b, ca, cb)

        console.rule("2. B approves; the confirm callback reaches A")
        cb.post(f"/admin/v1/contracts/{item['ref']}/approve", {})
        _wait(lambda: _contract(ca, b.node_id).get("status") == "APPROVED", "A to see APPROVED")
        _show(console, a, b, ca, cb)

        console.rule("3. A reads B's node info and health (signed calls)")
        info = ca.get(f"/admin/v1/partners/{b.node_id}/info")
        console.print(
            f"B says: {info['name']} / {info['institution']} / "
            f"{info['system']} {info['system_version']}"
        )
        console.print(f"B's health: {ca.get(f'/admin/v1/partners/{b.node_id}/health')['status']}")

        console.rule("4. A renames itself; node/update reaches B")
        ca.patch("/admin/v1/node", {"name": "Bank A (renamed)"})
        _wait(
            lambda: _contract(cb, a.node_id).get("peer_name") == "Bank A (renamed)",
            "B to see the new name",
        )
        console.print(f"B now knows A as {_contract(cb, a.node_id)['peer_name']!r}")

        console.rule("5. B terminates the contract; A follows")
        cb.post(f"/admin/v1/contracts/{item['ref']}/terminate", {"reason": "demo over"})
        _wait(lambda: _contract(ca, b.node_id).get("status") == "TERMINATED", "A to see TERMINATED")
        _show(console, a, b, ca, cb)

        console.rule("6. After termination, B refuses A's signed calls")
        try:
            ca.get(f"/admin/v1/partners/{b.node_id}/health")
            console.print("[red]unexpected: B still answered[/]")
        except Exception as exc:
            console.print(f"refused as expected: {exc}")
        console.rule("audit log on B")
        for entry in reversed(cb.get("/admin/v1/audit", limit=20)):
            console.print(
                f"{entry['at']}  {entry['actor']:<14} {entry['action']:<22} "
                f"{entry['from_state'] or '-'} -> {entry['to_state'] or '-'}"
            )
        ca.close()
        cb.close()
        console.print("[bold green]demo complete[/]")
    finally:
        for node in (a, b):
            node.stop()
        if keep:
            console.print(f"data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
