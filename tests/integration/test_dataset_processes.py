"""Datasets between two real `interconn serve` processes, driven through the CLI and the
admin API: CSV registration, browsing, authorization, permits, termination."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from interconn.localnodes import NodeProcess
from tests.procs import CLI_ENV, make_pair, start_nodes, stop_all, wait_for

pytestmark = pytest.mark.processes

CSV = (
    "customer_id,age,income,city,vip\n"
    + "".join(
        f"{i},{20 + i % 50},{1000 + i * 3.25:.2f},city{i % 7},{'yes' if i % 3 else 'no'}\n"
        for i in range(1, 501)
    )
    + '501,33,,"Shanghai, Pudong",no\n'
)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    a, b = make_pair(tmp_path)
    start_nodes(a, b)
    try:
        yield a, b
    finally:
        stop_all(a, b)


def cli(node: NodeProcess, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "interconn", "-d", str(node.data_dir), *args],
        env={**node.env, **CLI_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def contract(a: NodeProcess, b: NodeProcess) -> None:
    cli(a, "apply", b.address)
    ca, cb = a.admin(), b.admin()
    ref = wait_for(lambda: (cb.get("/admin/v1/inbox") or [{}])[0].get("ref"), "B's inbox")
    cli(b, "approve", ref)
    wait_for(lambda: ca.get(f"/admin/v1/contracts/{ref}")["status"] == "APPROVED", "A approved")


def register(b: NodeProcess, tmp: Path) -> None:
    path = tmp / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    out = cli(
        b,
        "datasets",
        "add",
        str(path),
        "--name",
        "Customers",
        "--category",
        "retail",
        "--public",
        "--dataset-id",
        "ds-customers",
        "--join",
        "customer_id",
    )
    assert "501" in out  # rows counted
    cli(
        b,
        "datasets",
        "add",
        str(path),
        "--name",
        "Customers (private)",
        "--dataset-id",
        "ds-private",
    )
    meta = tmp / "warehouse.yaml"
    meta.write_text(
        "name: Loans warehouse\nsource: HIVE_JDBC\nrow_count: 1200000\nsize_bytes: 734003200\n"
        "location: jdbc:hive2://dw:10000/loans\npublic: true\ncolumns:\n"
        "  - {name: loan_id, data_type: bigint, distribution: CONTINUOUS}\n"
        "  - {name: overdue, data_type: boolean, distribution: DISCRETE}\n",
        encoding="utf-8",
    )
    cli(b, "datasets", "add", str(meta), "--meta", "--dataset-id", "ds-loans")
    loans = b.admin().get("/admin/v1/datasets/ds-loans")
    assert (loans["source"], loans["row_count"], loans["public"]) == ("HIVE_JDBC", 1200000, True)
    columns = {c["name"]: c for c in b.admin().get("/admin/v1/datasets/ds-private")["columns"]}
    assert columns["customer_id"]["data_type"] == "int"
    assert columns["income"]["data_type"] == "decimal"
    assert columns["city"]["data_type"] == "varchar"
    assert columns["vip"]["data_type"] == "boolean"
    assert columns["customer_id"]["distribution"] == "CONTINUOUS"
    assert columns["vip"]["distribution"] == "DISCRETE"


def request(a: NodeProcess, b: NodeProcess, dataset_id: str, *extra: str) -> tuple[str, str]:
    """A requests; returns (A's internal id, audit id) once B's inbox shows it."""
    cli(a, "authorizations", "request", b.node_id, dataset_id, *extra)
    ca, cb = a.admin(), b.admin()
    mine = next(r for r in ca.get("/admin/v1/authorizations") if r["dataset_id"] == dataset_id)
    wait_for(
        lambda: any(i["ref"] == mine["audit_id"] for i in cb.get("/admin/v1/inbox")),
        "the request in B's inbox",
    )
    return mine["id"], mine["audit_id"]


def status_of(node: NodeProcess, ref: str) -> str:
    return str(node.admin().get(f"/admin/v1/authorizations/{ref}")["status"])


def test_permit_story_over_real_http(pair: tuple[NodeProcess, NodeProcess], tmp_path: Path) -> None:
    a, b = pair
    contract(a, b)
    register(b, tmp_path)
    listing = cli(a, "remote", "datasets", b.node_id)
    assert "ds-customers" in listing and "ds-loans" in listing and "ds-private" not in listing
    mine, audit_id = request(
        a, b, "ds-private", "--uses", "2", "--scope", "PROJECT=p1", "--columns", "customer_id,age"
    )
    cli(b, "approve", audit_id)
    wait_for(lambda: status_of(a, mine) == "APPROVED", "A to hold the permit")
    for _ in range(2):
        assert "Customers (private)" in cli(a, "remote", "dataset", b.node_id, "ds-private")
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "interconn",
            "-d",
            str(a.data_dir),
            "remote",
            "dataset",
            b.node_id,
            "ds-private",
        ],
        env={**a.env, **CLI_ENV},
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "used up" in refused.stdout
    cli(b, "terminate", audit_id)
    wait_for(lambda: status_of(a, mine) == "TERMINATED", "A to see the termination")
    assert status_of(b, audit_id) == "TERMINATED"


def test_rejection_and_withdrawal_over_real_http(
    pair: tuple[NodeProcess, NodeProcess], tmp_path: Path
) -> None:
    a, b = pair
    contract(a, b)
    register(b, tmp_path)
    mine, audit_id = request(a, b, "ds-customers")
    cli(b, "reject", audit_id, "--reason", "not now")
    wait_for(lambda: status_of(a, mine) == "REJECTED", "A to see the rejection")
    mine2, audit_id2 = request(a, b, "ds-customers")
    cli(a, "terminate", mine2)
    wait_for(lambda: status_of(b, audit_id2) == "TERMINATED", "B to see the withdrawal")
    assert b.admin().get("/admin/v1/inbox") == []
