"""Real `interconn serve` processes on loopback: the story over HTTP, crashes, the CLI, the demo.

Every node gets its own data directory and database (``interconn.testing.database_url``, so
these tests run on PostgreSQL too with INTERCONN_TEST_DB=postgres). Waiting is done by
polling the admin API against a deadline, never by fixed sleeps.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from interconn.cli.admin_client import AdminClient
from interconn.errors import OperatorError
from interconn.localnodes import NodeProcess
from tests.procs import CLI_ENV, make_pair, start_nodes, wait_for

pytestmark = pytest.mark.processes

# Quick retries (so a restarted partner is reached soon), a short callback timeout and a
# frequent reconciler (so a lost callback is recovered within the test).
FAST = {
    "INTERCONN_OUTBOX_BASE_DELAY_S": "0.2",
    "INTERCONN_OUTBOX_MAX_DELAY_S": "1",
    "INTERCONN_OUTBOX_POLL_S": "0.2",
    "INTERCONN_CALLBACK_TIMEOUT_S": "1",
    "INTERCONN_RECONCILE_INTERVAL_S": "0.5",
}


# --------------------------------------------------------------------------- helpers


def contract(admin: AdminClient, ref: str) -> dict[str, Any]:
    row = admin.get(f"/admin/v1/contracts/{ref}")
    assert isinstance(row, dict)
    return row


def status_is(admin: AdminClient, ref: str, status: str) -> Callable[[], bool]:
    return lambda: contract(admin, ref)["status"] == status


def inbox_from(admin: AdminClient, node_id: str) -> list[dict[str, Any]]:
    items = admin.get("/admin/v1/inbox")
    return [i for i in items if i["kind"] == "contract" and i["from_node_id"] == node_id]


def apply(a: NodeProcess, b: NodeProcess, ca: AdminClient, cb: AdminClient) -> tuple[str, str]:
    """A applies to B by address; wait until B holds it and A knows the contract_id.
    Return (A's internal id, contract_id)."""
    created = ca.post("/admin/v1/contracts", {"address": b.address})
    assert created["status"] == "APPLIED" and created["contract_id"] is None
    items = wait_for(lambda: inbox_from(cb, a.node_id), "the application in B's inbox")
    assert len(items) == 1
    ref = str(items[0]["ref"])
    wait_for(lambda: contract(ca, created["id"])["contract_id"] == ref, "A to learn the id")
    return str(created["id"]), ref


def actions(admin: AdminClient, record_id: str) -> list[str]:
    entries = admin.get("/admin/v1/audit", record_id=record_id, limit=1000)
    return [e["action"] for e in reversed(entries)]


def outbox(admin: AdminClient, message: str, record_id: str) -> dict[str, Any]:
    rows = [
        r
        for r in admin.get("/admin/v1/outbox", limit=1000)
        if r["message"] == message and r["record_id"] == record_id
    ]
    assert len(rows) == 1, rows
    return rows[0]


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "interconn", *args],
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """Two nodes shared by the tests of this module (starting processes is what costs time);
    each test makes its own contract and looks only at its own records."""
    a, b = make_pair(tmp_path_factory.mktemp("nodes"), FAST)
    try:
        start_nodes(a, b)
        yield a, b
    finally:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: n.stop(), (a, b)))


@pytest.fixture
def nodes(pair: tuple[NodeProcess, NodeProcess]) -> tuple[NodeProcess, NodeProcess]:
    """The shared nodes, restarted first if an earlier test left one of them dead."""
    for node in pair:
        if node.proc is None or node.proc.poll() is not None:
            node.start()
    return pair


# --------------------------------------------------------------------------- the story


def test_story_over_http(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = nodes
    ca, cb = a.admin(), b.admin()
    mine, ref = apply(a, b, ca, cb)
    assert contract(cb, ref)["peer_address"] == a.address

    cb.post(f"/admin/v1/contracts/{ref}/approve", {})
    wait_for(status_is(ca, ref, "APPROVED"), "A to see APPROVED")
    assert contract(ca, ref)["expired_time"] == contract(cb, ref)["expired_time"] is not None
    assert inbox_from(cb, a.node_id) == []

    info = ca.get(f"/admin/v1/partners/{b.node_id}/info")
    assert info["node_id"] == b.node_id and info["name"] == "Node B"
    assert info["auth_credential"].startswith("-----BEGIN PUBLIC KEY-----")
    assert ca.get(f"/admin/v1/partners/{b.node_id}/health") == {"status": "OK"}

    result = ca.patch("/admin/v1/node", {"name": "Node A (renamed)"})
    assert result["partners_notified"] == 1
    wait_for(lambda: contract(cb, ref)["peer_name"] == "Node A (renamed)", "B to see A's new name")
    assert cb.get(f"/admin/v1/partners/{a.node_id}/info")["name"] == "Node A (renamed)"

    ca.post(f"/admin/v1/contracts/{ref}/terminate", {"reason": "done"})
    assert contract(ca, ref)["status"] == "TERMINATED"
    wait_for(status_is(cb, ref, "TERMINATED"), "B to see TERMINATED")
    with pytest.raises(OperatorError, match="10201"):
        ca.get(f"/admin/v1/partners/{b.node_id}/health")
    assert actions(ca, mine) == ["contract.apply", "contract.approve", "contract.terminate"]
    ca.close()
    cb.close()


def test_rejection_over_http(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = nodes
    ca, cb = a.admin(), b.admin()
    mine, ref = apply(a, b, ca, cb)
    cb.post(f"/admin/v1/contracts/{ref}/reject", {"reason": "not now"})
    wait_for(status_is(ca, ref, "REJECTED"), "A to see REJECTED")
    assert contract(cb, ref)["status"] == "REJECTED"
    assert inbox_from(cb, a.node_id) == []
    with pytest.raises(OperatorError):
        ca.get(f"/admin/v1/partners/{b.node_id}/health")
    assert actions(ca, mine) == ["contract.apply", "contract.reject"]
    ca.close()
    cb.close()


def test_termination_from_partner_over_http(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = nodes
    ca, cb = a.admin(), b.admin()
    _, ref = apply(a, b, ca, cb)
    cb.post(f"/admin/v1/contracts/{ref}/approve", {})
    wait_for(status_is(ca, ref, "APPROVED"), "A to see APPROVED")
    assert cb.get(f"/admin/v1/partners/{a.node_id}/health") == {"status": "OK"}
    cb.post(f"/admin/v1/contracts/{ref}/terminate", {"reason": "partner ends it"})
    wait_for(status_is(ca, ref, "TERMINATED"), "A to see TERMINATED")
    assert contract(cb, ref)["status"] == "TERMINATED"
    with pytest.raises(OperatorError, match="10201"):
        cb.get(f"/admin/v1/partners/{a.node_id}/health")
    ca.close()
    cb.close()


def test_cli_against_running_node(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = nodes
    ca, cb = a.admin(), b.admin()
    _, ref = apply(a, b, ca, cb)

    out = cli("inbox", "-d", str(b.data_dir))
    assert ref in out and a.node_id in out
    out = cli("status", "-d", str(a.data_dir))
    assert "APPLIED" in out and "pending" in out

    out = cli("approve", ref, "-d", str(b.data_dir))
    assert "APPROVED" in out
    wait_for(status_is(ca, ref, "APPROVED"), "A to see APPROVED")
    out = cli("status", "-d", str(a.data_dir))
    assert "APPROVED" in out
    out = cli("partners", "list", "-d", str(a.data_dir))
    assert ref in out and b.node_id in out
    assert ref not in cli("inbox", "-d", str(b.data_dir))

    # Against a node that is not running, the CLI says so and exits non-zero.
    stopped = subprocess.run(
        [sys.executable, "-m", "interconn", "status", "-d", str(a.data_dir)],
        env={**CLI_ENV, "INTERCONN_ADMIN_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 2 and "interconn serve" in stopped.stdout
    ca.close()
    cb.close()


# --------------------------------------------------------------------------- crashes


def test_kill_and_restart_mid_flight(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = nodes
    ca, cb = a.admin(), b.admin()

    contracts_on_b = len(cb.get("/admin/v1/contracts"))
    # B is down hard when A applies: the apply waits in A's outbox and is retried.
    b.stop(kill=True)
    created = ca.post("/admin/v1/contracts", {"address": b.address})
    mine = created["id"]
    row = wait_for(
        lambda: (r := outbox(ca, "apply", mine))["attempts"] >= 2 and r,
        "A to retry its apply",
    )
    assert row["status"] == "PENDING" and row["last_error"]

    # B comes back on the same data directory and ports: the apply gets through.
    b.start()
    cb = b.admin()
    items = wait_for(lambda: inbox_from(cb, a.node_id), "the application in B's inbox")
    ref = str(items[0]["ref"])
    wait_for(lambda: contract(ca, mine)["contract_id"] == ref, "A to learn the contract_id")
    assert outbox(ca, "apply", mine)["status"] == "DELIVERED"

    # B approves and A dies at once (before or during the confirm's delivery).
    theirs = contract(cb, ref)["id"]
    cb.post(f"/admin/v1/contracts/{ref}/approve", {})
    a.stop(kill=True)
    a.start()
    ca = a.admin()
    wait_for(status_is(ca, ref, "APPROVED"), "A to end APPROVED")
    wait_for(lambda: outbox(cb, "confirm", theirs)["status"] == "DELIVERED", "B's confirm sent")

    # Nothing was applied twice on either side.
    assert actions(ca, mine) == ["contract.apply", "contract.approve"]
    assert actions(cb, theirs) == ["contract.apply", "contract.approve"]
    assert len(cb.get("/admin/v1/contracts")) == contracts_on_b + 1
    assert ca.get(f"/admin/v1/partners/{b.node_id}/health") == {"status": "OK"}
    ca.close()
    cb.close()


def test_lost_callback_recovered_by_reconciler(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = nodes
    ca, cb = a.admin(), b.admin()
    mine, ref = apply(a, b, ca, cb)
    theirs = contract(cb, ref)["id"]

    # A is dead when B approves; the operator of B then gives up on the confirm.
    a.stop(kill=True)
    cb.post(f"/admin/v1/contracts/{ref}/approve", {})
    confirm = wait_for(
        lambda: (r := outbox(cb, "confirm", theirs))["attempts"] >= 1 and r,
        "B to try its confirm",
    )
    cancelled = cb.post(f"/admin/v1/outbox/{confirm['id']}/cancel")
    assert cancelled["status"] == "CANCELLED"

    # A restarts; its reconciler queries B after the callback timeout.
    a.start()
    ca = a.admin()
    wait_for(status_is(ca, ref, "APPROVED"), "A's reconciler to learn APPROVED")
    assert contract(ca, ref)["expired_time"] == contract(cb, ref)["expired_time"] is not None
    entries = ca.get("/admin/v1/audit", record_id=mine, limit=100)
    approve = [e for e in entries if e["action"] == "contract.approve"]
    assert len(approve) == 1 and approve[0]["actor"] == "reconciler"
    assert outbox(cb, "confirm", theirs)["status"] == "CANCELLED"
    assert ca.get(f"/admin/v1/partners/{b.node_id}/health") == {"status": "OK"}
    ca.close()
    cb.close()


# --------------------------------------------------------------------------- the demo


def test_demo_runs_to_completion() -> None:
    env = {k: v for k, v in CLI_ENV.items() if not k.startswith("INTERCONN_")}
    done = subprocess.run(
        [sys.executable, "-m", "interconn", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo complete" in done.stdout
    assert "refused as expected" in done.stdout
