"""Datasets between two nodes in one process: catalogue, authorizations, permits."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from interconn.client.partner import PartnerClient
from interconn.datasets import permits
from interconn.datasets.models import DatasetAuthorization, Permit
from interconn.protocol.endpoints import path
from interconn.testing import TestNode
from tests.conftest import admin, contract_between, deliver

pytestmark = pytest.mark.anyio

COLUMNS = [
    {"name": "id", "data_type": "bigint", "distribution": "CONTINUOUS"},
    {"name": "age", "data_type": "tinyint", "distribution": "DISCRETE"},
    {"name": "income", "data_type": "decimal", "distribution": "CONTINUOUS"},
]


async def _register(
    node: TestNode, dataset_id: str, *, public: bool, name: str = "customers"
) -> None:
    await admin(
        node,
        "POST",
        "/admin/v1/datasets",
        {
            "dataset_id": dataset_id,
            "name": name,
            "category": "retail",
            "public": public,
            "row_count": 1000,
            "size_bytes": 2048,
            "columns": COLUMNS,
            "join_columns": ["id"],
        },
        expect=201,
    )


async def _request(a: TestNode, b: TestNode, dataset_id: str, **terms: Any) -> dict[str, Any]:
    row = await admin(
        a,
        "POST",
        "/admin/v1/authorizations",
        {"node_id": b.node_id, "dataset_id": dataset_id, **terms},
        expect=201,
    )
    assert isinstance(row, dict)
    await deliver(a, b)
    return row


async def _auth(node: TestNode, ref: str) -> dict[str, Any]:
    row = await admin(node, "GET", f"/admin/v1/authorizations/{ref}")
    assert isinstance(row, dict)
    return row


async def _detail(a: TestNode, b: TestNode, dataset_id: str) -> tuple[int, str]:
    async with a.admin_client() as client:
        r = await client.get(f"/admin/v1/remote/{b.node_id}/datasets/{dataset_id}")
    return r.status_code, r.text


async def test_browse_public_catalogue_only(node_a: TestNode, node_b: TestNode) -> None:
    await contract_between(node_a, node_b)
    await _register(node_b, "ds-public-1", public=True, name="Customers 2024")
    await _register(node_b, "ds-public-2", public=True, name="Transactions")
    await _register(node_b, "ds-private", public=False, name="Customers secret")
    page = await admin(node_a, "GET", f"/admin/v1/remote/{node_b.node_id}/datasets")
    assert isinstance(page, dict) and page["total"] == 2
    assert [r["dataset_id"] for r in page["records"]] == ["ds-public-1", "ds-public-2"]
    by_name = await admin(node_a, "GET", f"/admin/v1/remote/{node_b.node_id}/datasets?name=custom")
    assert isinstance(by_name, dict) and by_name["total"] == 1
    assert by_name["records"][0]["dataset_id"] == "ds-public-1"
    paged = await admin(
        node_a, "GET", f"/admin/v1/remote/{node_b.node_id}/datasets?page_num=2&page_size=1"
    )
    assert isinstance(paged, dict) and paged["total"] == 2
    assert [r["dataset_id"] for r in paged["records"]] == ["ds-public-2"]
    detail = await admin(node_a, "GET", f"/admin/v1/remote/{node_b.node_id}/datasets/ds-public-1")
    assert isinstance(detail, dict)
    assert [c["name"] for c in detail["column_metas"]] == ["id", "age", "income"]
    assert "location" not in detail
    status, body = await _detail(node_a, node_b, "ds-private")
    assert status == 502 and "10301" in body  # looks exactly like a missing dataset


async def test_authorization_permit_and_use_limit(node_a: TestNode, node_b: TestNode) -> None:
    await contract_between(node_a, node_b)
    await _register(node_b, "ds-secret", public=False)
    mine = await _request(
        node_a,
        node_b,
        "ds-secret",
        times_limit=2,
        column_names=["id", "age"],
        auth_scope={"PROJECT": ["p1"], "COMPONENT": ["psi"]},
    )
    inbox = await admin(node_b, "GET", "/admin/v1/inbox")
    assert isinstance(inbox, list) and len(inbox) == 1 and inbox[0]["kind"] == "dataset"
    assert "ds-secret" in inbox[0]["summary"] and "2 use(s)" in inbox[0]["summary"]
    assert "PROJECT=p1" in inbox[0]["summary"]
    await admin(node_b, "POST", f"/admin/v1/authorizations/{mine['audit_id']}/approve", {})
    await deliver(node_a, node_b)
    held = await _auth(node_a, mine["id"])
    assert held["status"] == "APPROVED" and held["has_permit"]
    for _ in range(2):
        status, body = await _detail(node_a, node_b, "ds-secret")
        assert status == 200, body
    status, body = await _detail(node_a, node_b, "ds-secret")
    assert status == 502 and "10204" in body and "used up" in body
    granted = await _auth(node_b, mine["audit_id"])
    assert granted["permit_uses"] == 2


async def test_terminate_revokes_at_once_both_sides(node_a: TestNode, node_b: TestNode) -> None:
    await contract_between(node_a, node_b)
    await _register(node_b, "ds-secret", public=False)
    mine = await _request(node_a, node_b, "ds-secret")
    await admin(node_b, "POST", f"/admin/v1/authorizations/{mine['audit_id']}/approve", {})
    await deliver(node_a, node_b)
    assert (await _detail(node_a, node_b, "ds-secret"))[0] == 200
    await admin(node_b, "POST", f"/admin/v1/authorizations/{mine['audit_id']}/terminate", {})
    # Revoked at once on the holder, even before A hears about it.
    status, body = await _detail(node_a, node_b, "ds-secret")
    assert status == 502 and "revoked" in body
    await deliver(node_a, node_b)
    assert (await _auth(node_a, mine["id"]))["status"] == "TERMINATED"


async def test_rejection_and_withdrawal(node_a: TestNode, node_b: TestNode) -> None:
    await contract_between(node_a, node_b)
    await _register(node_b, "ds-1", public=True)
    first = await _request(node_a, node_b, "ds-1")
    await admin(
        node_b,
        "POST",
        f"/admin/v1/authorizations/{first['audit_id']}/reject",
        {"reason": "not for you"},
    )
    await deliver(node_a, node_b)
    assert (await _auth(node_a, first["id"]))["status"] == "REJECTED"
    second = await _request(node_a, node_b, "ds-1")
    await admin(node_a, "POST", f"/admin/v1/authorizations/{second['id']}/terminate", {})
    await deliver(node_a, node_b)
    assert (await _auth(node_b, second["audit_id"]))["status"] == "TERMINATED"
    assert await admin(node_b, "GET", "/admin/v1/inbox") == []


async def test_contract_termination_ends_authorizations_on_both_sides(
    node_a: TestNode, node_b: TestNode
) -> None:
    ref = await contract_between(node_a, node_b)
    await _register(node_b, "ds-1", public=True)
    await _register(node_b, "ds-2", public=True)
    approved = await _request(node_a, node_b, "ds-1")
    await admin(node_b, "POST", f"/admin/v1/authorizations/{approved['audit_id']}/approve", {})
    pending = await _request(node_a, node_b, "ds-2")
    await deliver(node_a, node_b)
    await admin(node_a, "POST", f"/admin/v1/contracts/{ref}/terminate", {})
    await deliver(node_a, node_b)
    assert (await _auth(node_a, approved["id"]))["status"] == "TERMINATED"
    assert (await _auth(node_b, approved["audit_id"]))["status"] == "TERMINATED"
    assert (await _auth(node_a, pending["id"]))["status"] == "TERMINATED"
    assert (await _auth(node_b, pending["audit_id"]))["status"] == "TERMINATED"
    outbox = await admin(node_a, "GET", "/admin/v1/outbox?status=FAILED")
    assert outbox == []  # every notice arrived while the contract still stood


async def test_delete_dataset_refused_while_authorized_unless_forced(
    node_a: TestNode, node_b: TestNode
) -> None:
    await contract_between(node_a, node_b)
    await _register(node_b, "ds-1", public=True)
    mine = await _request(node_a, node_b, "ds-1")
    await admin(node_b, "POST", f"/admin/v1/authorizations/{mine['audit_id']}/approve", {})
    await deliver(node_a, node_b)
    body = await admin(node_b, "DELETE", "/admin/v1/datasets/ds-1", expect=400)
    assert isinstance(body, dict) and "live authorization" in body["msg"]
    await admin(node_b, "DELETE", "/admin/v1/datasets/ds-1?force=true")
    await deliver(node_a, node_b)
    assert (await _auth(node_a, mine["id"]))["status"] == "TERMINATED"
    page = await admin(node_a, "GET", f"/admin/v1/remote/{node_b.node_id}/datasets")
    assert isinstance(page, dict) and page["total"] == 0


async def test_listing_requires_contract_and_own_contract_id(
    node_a: TestNode, node_b: TestNode, tmp_path: Any, router: Any
) -> None:
    from interconn.testing import make_node

    node_c = make_node(tmp_path, "node-c", router)
    ref = await contract_between(node_a, node_b)
    await contract_between(node_c, node_b)
    async with PartnerClient(node_c.ctx.node, version="t", transport=router) as client:
        # C passes A's contract id: refused even though C has its own contract.
        status, envelope = await client.send(
            client.build("GET", node_b.address, path("dataset.list"), query={"contract_id": ref})
        )
        assert (status, envelope["code"]) == (403, 10203)
    node_d = make_node(tmp_path, "node-d", router)
    async with PartnerClient(node_d.ctx.node, version="t", transport=router) as client:
        status, envelope = await client.send(
            client.build("GET", node_b.address, path("dataset.list"))
        )
        assert (status, envelope["code"]) == (401, 10107)


async def test_last_use_raced_twice_exactly_one_wins(node_a: TestNode, node_b: TestNode) -> None:
    await contract_between(node_a, node_b)
    await _register(node_b, "ds-secret", public=False)
    mine = await _request(node_a, node_b, "ds-secret", times_limit=1)
    await admin(node_b, "POST", f"/admin/v1/authorizations/{mine['audit_id']}/approve", {})
    await deliver(node_a, node_b)
    results = await asyncio.gather(*(_detail(node_a, node_b, "ds-secret") for _ in range(6)))
    assert sorted(s for s, _ in results) == [200, 502, 502, 502, 502, 502]


async def test_forged_foreign_and_misbound_permits_refused(
    node_a: TestNode, node_b: TestNode, tmp_path: Any, router: Any
) -> None:
    from interconn.testing import make_node

    node_c = make_node(tmp_path, "node-c", router)
    await contract_between(node_a, node_b)
    await contract_between(node_c, node_b)
    await _register(node_b, "ds-secret", public=False)
    await _register(node_b, "ds-other", public=False)
    mine = await _request(node_a, node_b, "ds-secret")
    await admin(node_b, "POST", f"/admin/v1/authorizations/{mine['audit_id']}/approve", {})
    await deliver(node_a, node_b)
    token = (await _auth(node_a, mine["id"]))["id"]
    with node_a.ctx.db.read() as session:
        row = session.get(DatasetAuthorization, token)
        assert row is not None and row.permit_token
        real = row.permit_token

    def item(dataset_id: str, tok: str) -> str:
        return f"{permits.resource_name('DATASET', dataset_id)}/READ/{tok}"

    async def read(node: TestNode, dataset_id: str, token_set: str) -> tuple[int, int]:
        async with PartnerClient(node.ctx.node, version="t", transport=router) as client:
            status, env = await client.send(
                client.build(
                    "GET",
                    node_b.address,
                    path("dataset.query"),
                    query={"dataset_id": dataset_id},
                    token_set=token_set,
                )
            )
        return status, int(env["code"])

    assert await read(node_a, "ds-secret", item("ds-secret", real)) == (200, 0)
    # Presented by another node.
    assert await read(node_c, "ds-secret", item("ds-secret", real)) == (403, 10204)
    # For another dataset.
    assert await read(node_a, "ds-other", item("ds-other", real)) == (403, 10204)
    # Forged: claims changed, signature kept.
    head, payload, sig = real.rsplit(".", 2)
    claims = permits.json.loads(permits._unb64(payload))
    claims["uses"] = None
    claims["rid"] = "ds-other"
    forged_payload = permits._b64(permits.json.dumps(claims).encode())
    assert await read(node_a, "ds-other", item("ds-other", f"{head}.{forged_payload}.{sig}")) == (
        403,
        10204,
    )
    # Signed by another key (C's), well formed.
    fake = permits.sign_token(node_c.ctx.node.key, permits.Claims(**{**claims, "rid": "ds-secret"}))
    assert await read(node_a, "ds-secret", item("ds-secret", fake)) == (403, 10204)
    # Expired: move B's clock past a short time limit on a fresh authorization.
    short = await _request(
        node_a, node_b, "ds-other", time_limit=(node_b.clock() + timedelta(minutes=1)).isoformat()
    )
    await admin(node_b, "POST", f"/admin/v1/authorizations/{short['audit_id']}/approve", {})
    await deliver(node_a, node_b)
    with node_a.ctx.db.read() as session:
        other = session.get(DatasetAuthorization, short["id"])
        assert other is not None and other.permit_token
        other_token = other.permit_token
    assert await read(node_a, "ds-other", item("ds-other", other_token)) == (200, 0)
    with node_b.ctx.db.unit_of_work() as session:
        for p in session.query(Permit).filter(Permit.resource_id == "ds-other"):
            p.expires_at = node_b.clock() - timedelta(seconds=1)
    assert await read(node_a, "ds-other", item("ds-other", other_token)) == (403, 10204)


def test_name_filter_matches_substrings_through_the_index(tmp_path: Any) -> None:
    """The partner `name` filter: case-insensitive substrings, index-backed from 3 characters,
    kept in step with renames and deletions (on SQLite by triggers)."""
    from interconn.datasets import catalogue
    from interconn.db import migrate
    from interconn.db.base import make_engine, utcnow
    from interconn.db.uow import Database
    from interconn.security.auth import Caller
    from interconn.testing import database_url
    from interconn.wire.dataset import DatasetListParams

    engine = make_engine(database_url(tmp_path, "names"))
    migrate.upgrade(engine)
    db = Database(engine)
    names = {"d1": "Customers 2024", "d2": "Transactions", "d3": "客户数据集", "d4": "50%_off list"}
    with db.unit_of_work() as session:
        for dataset_id, name in names.items():
            catalogue.register(
                session,
                name=name,
                columns=[],
                row_count=1,
                size_bytes=1,
                now=utcnow(),
                dataset_id=dataset_id,
                public=True,
            )

    def ids(fragment: str) -> list[str]:
        req = DatasetListParams.model_validate({"name": fragment})
        with db.unit_of_work() as session:
            page = catalogue.list_public(session, None, Caller("x", None), req)  # type: ignore[arg-type]
        assert page["total"] == len(page["records"])
        return sorted(r["dataset_id"] for r in page["records"])

    assert ids("custom") == ["d1"]
    assert ids("CUSTOMERS") == ["d1"]
    assert ids("24") == ["d1"]  # shorter than a trigram: scanned
    assert ids("客户数") == ["d3"]
    assert ids("%_o") == ["d4"]  # wildcards are literal
    assert ids("s 2") == ["d1"]
    assert ids("xyz") == []
    with db.unit_of_work() as session:
        catalogue.edit(session, dataset_id="d2", changes={"name": "Trades"})
        catalogue.delete(session, dataset_id="d1")
    assert ids("trans") == []
    assert ids("trade") == ["d2"]
    assert ids("custom") == []
    db.dispose()
