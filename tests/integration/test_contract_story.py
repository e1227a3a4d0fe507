"""The contract story between two nodes wired in one process (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio

import pytest

from interconn.client.partner import PartnerClient
from interconn.protocol.endpoints import path
from interconn.testing import TestNode
from tests.conftest import admin, contract_between, deliver

pytestmark = pytest.mark.anyio


async def _status(node: TestNode, ref: str) -> str:
    row = await admin(node, "GET", f"/admin/v1/contracts/{ref}")
    assert isinstance(row, dict)
    return str(row["status"])


async def test_apply_approve_both_sides_agree(node_a: TestNode, node_b: TestNode) -> None:
    created = await admin(
        node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201
    )
    assert isinstance(created, dict)
    assert created["status"] == "APPLIED" and created["contract_id"] is None
    await deliver(node_a, node_b)
    mine = await admin(node_a, "GET", f"/admin/v1/contracts/{created['id']}")
    assert isinstance(mine, dict)
    ref = mine["contract_id"]
    assert ref and mine["peer_node_id"] == "node-b" and mine["peer_key_fingerprint"]
    inbox = await admin(node_b, "GET", "/admin/v1/inbox")
    assert isinstance(inbox, list) and [i["ref"] for i in inbox] == [ref]
    assert inbox[0]["from_node_id"] == "node-a"
    await admin(node_b, "POST", f"/admin/v1/contracts/{ref}/approve", {})
    assert await _status(node_b, ref) == "APPROVED"
    assert await _status(node_a, ref) == "APPLIED"  # not yet delivered
    await deliver(node_a, node_b)
    assert await _status(node_a, ref) == "APPROVED"
    a_row = await admin(node_a, "GET", f"/admin/v1/contracts/{ref}")
    b_row = await admin(node_b, "GET", f"/admin/v1/contracts/{ref}")
    assert isinstance(a_row, dict) and isinstance(b_row, dict)
    assert a_row["expired_time"] == b_row["expired_time"] is not None
    assert await admin(node_b, "GET", "/admin/v1/inbox") == []


async def test_rejection_reaches_initiator(node_a: TestNode, node_b: TestNode) -> None:
    await admin(node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201)
    await deliver(node_a, node_b)
    ref = (await admin(node_b, "GET", "/admin/v1/inbox"))[0]["ref"]  # type: ignore[index]
    await admin(node_b, "POST", f"/admin/v1/contracts/{ref}/reject", {"reason": "no thanks"})
    await deliver(node_a, node_b)
    assert await _status(node_a, ref) == "REJECTED"
    assert await _status(node_b, ref) == "REJECTED"
    # Final: approving or terminating a rejected contract is refused or a no-op, never a change.
    body = await admin(node_b, "POST", f"/admin/v1/contracts/{ref}/approve", {}, expect=409)
    assert isinstance(body, dict) and body["code"] == 10401
    await admin(node_b, "POST", f"/admin/v1/contracts/{ref}/terminate", {})
    assert await _status(node_b, ref) == "REJECTED"


@pytest.mark.parametrize("side", ["initiator", "partner"])
async def test_terminate_from_either_side(node_a: TestNode, node_b: TestNode, side: str) -> None:
    ref = await contract_between(node_a, node_b)
    who = node_a if side == "initiator" else node_b
    await admin(who, "POST", f"/admin/v1/contracts/{ref}/terminate", {"reason": "done"})
    await deliver(node_a, node_b)
    assert await _status(node_a, ref) == "TERMINATED"
    assert await _status(node_b, ref) == "TERMINATED"
    # Signed calls between them are refused from now on.
    async with node_a.admin_client() as client:
        response = await client.get(f"/admin/v1/partners/{node_b.node_id}/health")
    assert response.status_code == 502
    assert "10201" in response.json()["msg"]


async def test_withdraw_pending_application(node_a: TestNode, node_b: TestNode) -> None:
    await admin(node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201)
    await deliver(node_a, node_b)
    ref = (await admin(node_b, "GET", "/admin/v1/inbox"))[0]["ref"]  # type: ignore[index]
    await admin(node_a, "POST", f"/admin/v1/contracts/{ref}/terminate", {})
    await deliver(node_a, node_b)
    assert await _status(node_b, ref) == "TERMINATED"
    assert await admin(node_b, "GET", "/admin/v1/inbox") == []


async def test_terminate_before_apply_delivered_keeps_order(
    node_a: TestNode, node_b: TestNode
) -> None:
    created = await admin(
        node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201
    )
    assert isinstance(created, dict)
    await admin(node_a, "POST", f"/admin/v1/contracts/{created['id']}/terminate", {})
    await deliver(node_a, node_b)
    mine = await admin(node_a, "GET", f"/admin/v1/contracts/{created['id']}")
    assert isinstance(mine, dict) and mine["status"] == "TERMINATED"
    assert await _status(node_b, mine["contract_id"]) == "TERMINATED"


async def test_node_info_health_and_update(node_a: TestNode, node_b: TestNode) -> None:
    await contract_between(node_a, node_b)
    info = await admin(node_a, "GET", f"/admin/v1/partners/{node_b.node_id}/info")
    assert isinstance(info, dict)
    assert info["node_id"] == "node-b" and info["system"] == "interconn"
    assert info["auth_credential"].startswith("-----BEGIN PUBLIC KEY-----")
    health = await admin(node_a, "GET", f"/admin/v1/partners/{node_b.node_id}/health")
    assert health == {"status": "OK"}
    result = await admin(
        node_a, "PATCH", "/admin/v1/node", {"name": "A renamed", "description": "d"}
    )
    assert isinstance(result, dict) and result["partners_notified"] == 1
    await deliver(node_a, node_b)
    seen = await admin(node_b, "GET", "/admin/v1/partners")
    assert isinstance(seen, list) and seen[0]["peer_name"] == "A renamed"
    # B asks A back: the contract works in both directions.
    back = await admin(node_b, "GET", f"/admin/v1/partners/{node_a.node_id}/info")
    assert isinstance(back, dict) and back["name"] == "A renamed"


async def test_same_apply_twice_gets_same_answer(node_a: TestNode, node_b: TestNode) -> None:
    first = await admin(
        node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201
    )
    again = await admin(
        node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201
    )
    assert isinstance(first, dict) and isinstance(again, dict) and first["id"] == again["id"]
    assert await deliver(node_a, node_b) == 1
    # On the wire: the very same apply sent twice (fresh nonces) gets the same contract id.
    body = node_a.ctx.node.info(system_version="x")
    async with PartnerClient(
        node_a.ctx.node, version="x", transport=node_a.ctx.transport
    ) as client:
        answers = [
            await client.call("POST", node_b.address, path("contract.apply"), body=body)
            for _ in range(2)
        ]
    assert answers[0]["contract_id"] == answers[1]["contract_id"]
    assert answers[0]["status"] == "APPLIED"
    inbox = await admin(node_b, "GET", "/admin/v1/inbox")
    assert isinstance(inbox, list) and len(inbox) == 1


async def test_audit_log_records_every_change_with_trace(
    node_a: TestNode, node_b: TestNode
) -> None:
    ref = await contract_between(node_a, node_b)
    entries = await admin(node_b, "GET", "/admin/v1/audit")
    assert isinstance(entries, list)
    actions = [(e["action"], e["from_state"], e["to_state"]) for e in reversed(entries)]
    assert actions == [
        ("contract.apply", None, "APPLIED"),
        ("contract.approve", "APPLIED", "APPROVED"),
    ]
    assert all(e["trace_id"] for e in entries)
    a_entries = await admin(node_a, "GET", "/admin/v1/audit")
    assert isinstance(a_entries, list)
    assert [e["action"] for e in reversed(a_entries)] == ["contract.apply", "contract.approve"]
    assert ref


async def test_concurrent_applies_make_one_application(node_a: TestNode, node_b: TestNode) -> None:
    body = node_a.ctx.node.info(system_version="x")
    async with PartnerClient(node_a.ctx.node, version="x", transport=node_a.ctx.transport) as c:
        answers = await asyncio.gather(
            *(c.call("POST", node_b.address, path("contract.apply"), body=body) for _ in range(6))
        )
    assert len({a["contract_id"] for a in answers}) == 1
    inbox = await admin(node_b, "GET", "/admin/v1/inbox")
    assert isinstance(inbox, list) and len(inbox) == 1


async def test_initiator_cannot_decide_its_own_request(node_a: TestNode, node_b: TestNode) -> None:
    created = await admin(
        node_a, "POST", "/admin/v1/contracts", {"address": node_b.address}, expect=201
    )
    assert isinstance(created, dict)
    body = await admin(
        node_a, "POST", f"/admin/v1/contracts/{created['id']}/approve", {}, expect=400
    )
    assert isinstance(body, dict) and body["code"] == 20001 and "only the partner" in body["msg"]
    mine = await admin(node_a, "GET", f"/admin/v1/contracts/{created['id']}")
    assert isinstance(mine, dict) and mine["status"] == "APPLIED"
