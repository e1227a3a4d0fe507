from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from interconn.outbox.reconciler import Reconciler
from interconn.outbox.worker import OutboxWorker
from interconn.testing import Router, TestNode, make_node


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
def node_a(tmp_path: Path, router: Router) -> Iterator[TestNode]:
    node = make_node(tmp_path, "node-a", router)
    yield node
    node.ctx.db.dispose()


@pytest.fixture
def node_b(tmp_path: Path, router: Router) -> Iterator[TestNode]:
    node = make_node(tmp_path, "node-b", router)
    yield node
    node.ctx.db.dispose()


async def deliver(*nodes: TestNode, rounds: int = 10) -> int:
    """Run every node's delivery worker until nothing is due any more."""
    total = 0
    for _ in range(rounds):
        sent = 0
        for node in nodes:
            sent += await OutboxWorker(node.ctx).run_once()
        total += sent
        if sent == 0:
            return total
    return total


async def reconcile(node: TestNode) -> int:
    return await Reconciler(node.ctx).run_once()


async def admin(
    node: TestNode, method: str, path: str, json: dict | None = None, expect: int = 200
) -> object:
    async with node.admin_client() as client:
        response = await client.request(method, path, json=json)
    assert response.status_code == expect, response.text
    return response.json()


async def contract_between(a: TestNode, b: TestNode) -> str:
    """A applies to B, B approves; return the contract_id (both sides APPROVED)."""
    await admin(a, "POST", "/admin/v1/contracts", {"address": b.address}, expect=201)
    await deliver(a, b)
    inbox = await admin(b, "GET", "/admin/v1/inbox")
    assert isinstance(inbox, list) and len(inbox) == 1
    ref = inbox[0]["ref"]
    await admin(b, "POST", f"/admin/v1/contracts/{ref}/approve", {})
    await deliver(a, b)
    mine = await admin(a, "GET", f"/admin/v1/contracts/{ref}")
    assert isinstance(mine, dict) and mine["status"] == "APPROVED"
    return str(ref)
