"""Security of the partner API: real keys, real signed HTTP through the apps.

Every refusal is checked three ways: HTTP status, envelope ``code`` (errors.CODES), and that
the callee's database did not change (contracts, hence the inbox; audit log; outbox; seen
nonces). A nonce is spent only once the signature verified (docs/signature-profile.md 1).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from interconn.auditlog.models import AuditEntry
from interconn.client.partner import PartnerClient
from interconn.contracts.models import Contract
from interconn.errors import CODES
from interconn.node.identity import LocalNode
from interconn.outbox.models import OutboxMessage
from interconn.protocol.endpoints import path
from interconn.security.models import SeenNonce
from interconn.security.signing import SigningKey, new_nonce, sign_request
from interconn.testing import Router, TestNode, make_node
from tests.conftest import admin, contract_between, deliver

pytestmark = pytest.mark.anyio

HEALTH, QUERY, UPDATE = path("node.health"), path("node.query"), path("node.update")
APPLY, CONFIRM = path("contract.apply"), path("contract.confirm")
TERMINATE, CQUERY = path("contract.terminate"), path("contract.query")


# --------------------------------------------------------------------------- helpers


def snapshot(node: TestNode) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a partner request could change."""
    with node.ctx.db.read() as s:
        return {
            m.__tablename__: sorted((tuple(r) for r in s.execute(select(m.__table__))), key=repr)
            for m in (Contract, AuditEntry, OutboxMessage, SeenNonce)
        }


def status_of(node: TestNode, contract_id: str) -> str:
    with node.ctx.db.read() as s:
        return s.scalars(select(Contract.status).where(Contract.contract_id == contract_id)).one()


def tamper(
    request: httpx.Request,
    *,
    method: str | None = None,
    url: str | httpx.URL | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str | None] | None = None,
    resign: SigningKey | None = None,
) -> httpx.Request:
    """A copy of a signed request with some parts changed (``None`` header value: removed);
    ``resign`` re-signs the result correctly with that key."""
    new_headers = {k: v for k, v in request.headers.items() if k != "content-length"}
    for name, value in (headers or {}).items():
        new_headers.pop(name, None)
        if value is not None:
            new_headers[name] = value
    body = request.content if content is None else content
    out = httpx.Request(
        method or request.method, url or request.url, content=body or None, headers=new_headers
    )
    if resign is not None:
        sent_path, _, raw_query = out.url.raw_path.decode().partition("?")
        h = out.headers
        out.headers["x-auth-sign"] = sign_request(
            resign,
            method=out.method,
            path=sent_path,
            raw_query=raw_query,
            source_node_id=h["x-source-node-id"],
            target_node_id=h.get("x-target-node-id", ""),
            timestamp=h["x-timestamp"],
            nonce=h["x-nonce"],
            token_set=h.get("x-mprac-token-set", ""),
            body=body,
        )
    return out


async def refused(
    client: PartnerClient,
    request: httpx.Request,
    callee: TestNode,
    code_name: str,
    *,
    nonce_spent: bool = False,
) -> dict[str, Any]:
    """Send; assert the status, the code, and that the callee's state did not change
    (except, for a genuine request refused after verification, its spent nonce)."""
    before = snapshot(callee)
    status, envelope = await client.send(request)
    err = CODES[code_name]
    assert (status, envelope.get("code")) == (err.http_status, err.code), envelope
    assert envelope.get("msg")
    after = snapshot(callee)
    spent = {(request.headers.get("x-source-node-id"), request.headers.get("x-nonce"))}
    before_nonces, after_nonces = set(before.pop("seen_nonces")), set(after.pop("seen_nonces"))
    assert after == before
    assert {n[:2] for n in after_nonces - before_nonces} == (spent if nonce_spent else set())
    return envelope


async def accepted(client: PartnerClient, request: httpx.Request) -> dict[str, Any]:
    status, envelope = await client.send(request)
    assert (status, envelope.get("code")) == (200, 0), envelope
    return dict(envelope["data"])


def impostor(node: TestNode) -> LocalNode:
    """The node's identity with a freshly generated key (LocalNode is frozen)."""
    return dataclasses.replace(node.ctx.node, key=SigningKey.generate())


def apply_body(local: LocalNode) -> dict[str, Any]:
    return dict(local.info(system_version="t"))


async def pending_ref(a: TestNode, b: TestNode) -> str:
    """A applies to B; return the contract_id waiting in B's inbox."""
    await admin(a, "POST", "/admin/v1/contracts", {"address": b.address}, expect=201)
    await deliver(a, b)
    inbox = await admin(b, "GET", "/admin/v1/inbox")
    assert isinstance(inbox, list) and len(inbox) == 1
    return str(inbox[0]["ref"])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def extra_nodes(tmp_path: Path, router: Router) -> Iterator[Any]:
    made: list[TestNode] = []

    def make(name: str, **settings: Any) -> TestNode:
        made.append(make_node(tmp_path, name, router, settings_overrides=settings or None))
        return made[-1]

    yield make
    for node in made:
        node.ctx.db.dispose()


@pytest.fixture
async def client(node_a: TestNode, router: Router) -> AsyncIterator[PartnerClient]:
    async with PartnerClient(node_a.ctx.node, version="t", transport=router) as c:
        yield c


@pytest.fixture
async def ref(node_a: TestNode, node_b: TestNode) -> str:
    """An APPROVED contract between A (initiator) and B."""
    return await contract_between(node_a, node_b)


# --------------------------------------------------------------------------- tampering

TS = "x-mprac-token-set"
TOKENS = {"token_set": "ds-1/PUBLIC/tk_a"}
FLAG = {"query": {"flag": "a"}}


def header(name: str, value: Any) -> Any:
    """A change of one header (``None``: removed); ``value`` may be computed from the request."""
    return lambda r: {"headers": {name: value(r) if callable(value) else value}}


GET_TAMPERS: dict[str, tuple[dict[str, Any], Any]] = {  # build options, then the change
    "path": ({"path": QUERY}, lambda r: {"url": r.url.copy_with(path=HEALTH)}),
    "query_added": (FLAG, lambda r: {"url": r.url.copy_add_param("extra", "1")}),
    "query_modified": (FLAG, lambda r: {"url": r.url.copy_set_param("flag", "b")}),
    "query_removed": (FLAG, lambda r: {"url": r.url.copy_with(query=None)}),
    "timestamp": ({}, header("x-timestamp", lambda r: str(int(r.headers["x-timestamp"]) + 1))),
    "nonce": ({}, header("x-nonce", lambda r: new_nonce())),
    "token_set_modified": (TOKENS, header(TS, "ds-1/PUBLIC/tk_b")),
    "token_set_added": ({}, header(TS, "ds-1/PUBLIC/tk_a")),
    "token_set_removed": (TOKENS, header(TS, None)),
    "target_added": ({}, header("x-target-node-id", "node-b")),
    "target_removed": ({"target_node_id": "node-b"}, header("x-target-node-id", "")),
    "signature_byte": ({}, header("x-auth-sign", lambda r: flip(r.headers["x-auth-sign"]))),
    "wrong_key": ({}, lambda r: {"resign": SigningKey.generate()}),
}


def flip(sig: str) -> str:
    return ("B" if sig[0] == "A" else "A") + sig[1:]  # one base64 character


@pytest.mark.parametrize("case", list(GET_TAMPERS))
async def test_tampered_get_is_refused(
    client: PartnerClient, node_b: TestNode, ref: str, case: str
) -> None:
    opts, change = GET_TAMPERS[case]
    options = dict(opts)
    signed = client.build("GET", node_b.address, options.pop("path", HEALTH), **options)
    await refused(client, tamper(signed, **change(signed)), node_b, "SIGNATURE_INVALID")
    await accepted(client, signed)  # the untouched original still verifies


async def test_tampered_post_is_refused(client: PartnerClient, node_b: TestNode, ref: str) -> None:
    update_body = {"contract_id": ref, "node_id": "node-a", "name": "Mallory"}
    # Method: signed as GET, sent as POST to terminate.
    as_get = client.build("GET", node_b.address, TERMINATE, body={"contract_id": ref})
    await refused(client, tamper(as_get, method="POST"), node_b, "SIGNATURE_INVALID")
    # Path: a node update re-routed to terminate (the terminate model ignores extra fields).
    signed = client.build("POST", node_b.address, UPDATE, body=update_body)
    rerouted = tamper(signed, url=f"{node_b.address}{TERMINATE}")
    await refused(client, rerouted, node_b, "SIGNATURE_INVALID")
    # Body: one byte of the new name.
    flipped = signed.content.replace(b"Mallory", b"Mallorz")
    assert len(flipped) == len(signed.content) and flipped != signed.content
    await refused(client, tamper(signed, content=flipped), node_b, "SIGNATURE_INVALID")
    assert status_of(node_b, ref) == "APPROVED"
    await accepted(client, signed)
    peers = await admin(node_b, "GET", "/admin/v1/partners")
    assert isinstance(peers, list) and peers[0]["peer_name"] == "Mallory"


async def test_tampered_source_node(
    client: PartnerClient, node_b: TestNode, ref: str, extra_nodes: Any
) -> None:
    node_c = extra_nodes("node-c")
    await contract_between(node_c, node_b)
    signed = client.build("GET", node_b.address, HEALTH)
    # Pretending to be C (which has a contract) does not verify against C's key, and does
    # not burn C's nonce (the snapshot includes seen nonces).
    as_c = tamper(signed, headers={"x-source-node-id": node_c.node_id})
    await refused(client, as_c, node_b, "SIGNATURE_INVALID")
    as_z = tamper(signed, headers={"x-source-node-id": "node-z"})
    await refused(client, as_z, node_b, "UNKNOWN_NODE")
    await accepted(client, signed)


async def test_repeated_query_parameter_is_refused(
    client: PartnerClient, node_b: TestNode, ref: str
) -> None:
    # The canonical query sorts pairs, so the order of a repeated name is not signed:
    # reading "the last value" would let anyone swap which value counts.
    def build(raw_query: str) -> httpx.Request:
        return client.build("GET", node_b.address, f"{QUERY}?{raw_query}")

    signed = build("node_id=node-z&node_id=node-b")
    swapped = tamper(signed, url=signed.url.copy_with(query=b"node_id=node-b&node_id=node-z"))
    for request in (signed, swapped):  # both verify: same canonical query
        await refused(client, request, node_b, "MALFORMED_QUERY")
    # The same value twice is harmless (order cannot matter) and served.
    assert (await accepted(client, build("node_id=node-b&node_id=node-b")))["node_id"] == "node-b"


# --------------------------------------------------------------------------- replay


async def test_identical_request_twice_is_a_replay(
    client: PartnerClient, node_b: TestNode, ref: str
) -> None:
    signed = client.build(
        "POST", node_b.address, UPDATE, body={"contract_id": ref, "node_id": "node-a", "name": "A2"}
    )
    await accepted(client, signed)
    await refused(client, signed, node_b, "NONCE_REPLAYED")  # no second audit entry


async def test_replay_of_business_refusal_is_still_a_replay(
    client: PartnerClient, node_b: TestNode, ref: str
) -> None:
    # Verified, then refused by the service: the nonce is spent anyway.
    wrong_node = client.build("GET", node_b.address, QUERY, query={"node_id": "node-z"})
    await refused(client, wrong_node, node_b, "NOT_FOUND", nonce_spent=True)
    await refused(client, wrong_node, node_b, "NONCE_REPLAYED")
    # A contract id that is not the caller's is refused while identifying the credential,
    # before any signature check: nothing is recorded and the same refusal comes back.
    unknown = client.build("POST", node_b.address, TERMINATE, body={"contract_id": "ct-nope"})
    for _ in range(2):
        await refused(client, unknown, node_b, "NOT_FOUND")
    await admin(node_b, "POST", f"/admin/v1/contracts/{ref}/terminate", {})
    late = client.build(
        "POST",
        node_b.address,
        UPDATE,
        body={"contract_id": ref, "node_id": "node-a", "name": "late"},
    )
    await refused(client, late, node_b, "STATE_CONFLICT", nonce_spent=True)
    await refused(client, late, node_b, "NONCE_REPLAYED")


async def test_refused_apply_cannot_be_replayed_once_state_allows(
    client: PartnerClient, node_a: TestNode, node_b: TestNode, router: Router
) -> None:
    pending = await pending_ref(node_a, node_b)
    other = impostor(node_a)  # A with a second key (proof of possession holds for it)
    async with PartnerClient(other, version="t", transport=router) as other_client:
        second = other_client.build("POST", node_b.address, APPLY, body=apply_body(other))
        await refused(other_client, second, node_b, "STATE_CONFLICT", nonce_spent=True)
        await admin(node_b, "POST", f"/admin/v1/contracts/{pending}/reject", {})
        await refused(other_client, second, node_b, "NONCE_REPLAYED")
    assert await admin(node_b, "GET", "/admin/v1/inbox") == []


# --------------------------------------------------------------------------- headers & clock


@pytest.mark.parametrize(
    ("headers", "code_name"),
    [
        pytest.param({"x-nonce": "short_nonce"}, "NONCE_INVALID", id="nonce_short"),
        pytest.param({"x-nonce": "bad.chars!nonce+1234"}, "NONCE_INVALID", id="nonce_chars"),
        pytest.param({"x-nonce": None}, "NONCE_INVALID", id="nonce_missing"),
        pytest.param({"x-timestamp": None}, "MALFORMED_HEADER", id="timestamp_missing"),
        pytest.param({"x-source-node-id": None}, "MALFORMED_HEADER", id="source_missing"),
        pytest.param({"x-timestamp": "soon"}, "MALFORMED_HEADER", id="timestamp_text"),
        pytest.param({"x-timestamp": "1.7e12"}, "MALFORMED_HEADER", id="timestamp_float"),
        pytest.param({"x-target-node-id": "node-z"}, "WRONG_TARGET", id="wrong_target"),
        pytest.param({"x-auth-sign": None}, "SIGNATURE_MISSING", id="unsigned"),
    ],
)
async def test_bad_headers(
    client: PartnerClient,
    node_b: TestNode,
    ref: str,
    headers: dict[str, str | None],
    code_name: str,
) -> None:
    signed = client.build("GET", node_b.address, HEALTH)
    await refused(client, tamper(signed, headers=headers), node_b, code_name)


@pytest.mark.parametrize("offset_s", [-600, 600])
async def test_clock_skew(client: PartnerClient, node_b: TestNode, ref: str, offset_s: int) -> None:
    ts = int((time.time() + offset_s) * 1000)
    signed = client.build("GET", node_b.address, HEALTH, timestamp_ms=ts)
    await refused(client, signed, node_b, "TIMESTAMP_SKEWED")


async def test_timestamp_in_seconds_is_accepted(
    client: PartnerClient, node_b: TestNode, ref: str
) -> None:
    signed = client.build("GET", node_b.address, HEALTH, timestamp_ms=int(time.time()))
    assert len(signed.headers["x-timestamp"]) == 10
    assert await accepted(client, signed) == {"status": "OK"}


@pytest.mark.parametrize(
    "renames",
    [
        {"x-source-node-id": "X-Node-Id"},
        {"x-source-node-id": "x_node_id"},
        {
            "x-source-node-id": "x_source_node_id",
            "x-target-node-id": "x_target_node_id",
            "x-timestamp": "x_timestamp",
            "x-nonce": "x_nonce",
            "x-auth-sign": "x_auth_sign",
        },
    ],
    ids=["v1.0", "v1.0_underscore", "all_underscore"],
)
async def test_header_aliases_accepted(
    client: PartnerClient, node_b: TestNode, ref: str, renames: dict[str, str]
) -> None:
    signed = client.build("GET", node_b.address, HEALTH, target_node_id=node_b.node_id)
    renamed = tamper(signed, headers={old: None for old in renames})
    for old, new in renames.items():
        renamed.headers[new] = signed.headers[old]
    assert await accepted(client, renamed) == {"status": "OK"}
    assert ("node-a", signed.headers["x-nonce"]) in {n[:2] for n in snapshot(node_b)["seen_nonces"]}


# --------------------------------------------------------------------------- who may call


async def test_unknown_node_and_public_node_info(
    client: PartnerClient, node_b: TestNode, extra_nodes: Any
) -> None:
    await refused(client, client.build("GET", node_b.address, HEALTH), node_b, "UNKNOWN_NODE")
    await refused(client, client.build("GET", node_b.address, QUERY), node_b, "UNKNOWN_NODE")
    public = extra_nodes("node-p", public_node_info=True)
    info = await accepted(client, client.build("GET", public.address, QUERY))
    assert info["node_id"] == "node-p" and info["auth_credential"] == public.ctx.node.credential
    await refused(client, client.build("GET", public.address, HEALTH), public, "UNKNOWN_NODE")


async def test_unsigned_apply(
    client: PartnerClient, node_a: TestNode, node_b: TestNode, extra_nodes: Any
) -> None:
    def unsigned(node: TestNode) -> httpx.Request:
        signed = client.build("POST", node.address, APPLY, body=apply_body(node_a.ctx.node))
        return tamper(signed, headers={"x-auth-sign": None})

    await refused(client, unsigned(node_b), node_b, "SIGNATURE_MISSING")
    lenient = extra_nodes("node-l", allow_unsigned_exempt=True)
    # Lenient about a missing signature, never about a wrong one.
    bad = tamper(
        client.build("POST", lenient.address, APPLY, body=apply_body(node_a.ctx.node)),
        resign=SigningKey.generate(),
    )
    await refused(client, bad, lenient, "SIGNATURE_INVALID")
    answer = await accepted(client, unsigned(lenient))
    assert answer["status"] == "APPLIED" and status_of(lenient, answer["contract_id"]) == "APPLIED"


@pytest.mark.parametrize("code_name", ["CONTRACT_EXPIRED", "CONTRACT_NOT_APPROVED"])
async def test_contract_no_longer_active(
    client: PartnerClient, node_b: TestNode, ref: str, code_name: str
) -> None:
    if code_name == "CONTRACT_EXPIRED":  # the server clock also checks x-timestamp: move expiry
        with node_b.ctx.db.unit_of_work() as s:
            s.execute(
                update(Contract)
                .where(Contract.contract_id == ref)
                .values(expired_time=node_b.clock() - timedelta(minutes=1))
            )
    else:
        await admin(node_b, "POST", f"/admin/v1/contracts/{ref}/terminate", {})
    await refused(client, client.build("GET", node_b.address, HEALTH), node_b, code_name)


async def test_confirm_from_wrong_node_or_wrong_key(
    node_a: TestNode, node_b: TestNode, router: Router, extra_nodes: Any
) -> None:
    pending = await pending_ref(node_a, node_b)
    expiry = int((time.time() + 86400) * 1000)

    def confirm(local: LocalNode) -> dict[str, Any]:
        return {
            "contract_id": pending,
            "status": "APPROVED",
            "expired_time": expiry,
            "auth_type": local.auth_type,
            "auth_credential": local.credential,
        }

    node_c = extra_nodes("node-c")
    cases = ((node_c.ctx.node, "NOT_FOUND"), (impostor(node_b), "SIGNATURE_INVALID"))
    for caller, code_name in cases:
        async with PartnerClient(caller, version="t", transport=router) as c:
            await refused(
                c, c.build("POST", node_a.address, CONFIRM, body=confirm(caller)), node_a, code_name
            )
    assert status_of(node_a, pending) == "APPLIED"


async def test_contract_query_by_other_node(
    node_b: TestNode, ref: str, router: Router, extra_nodes: Any
) -> None:
    node_c = extra_nodes("node-c")
    await contract_between(node_c, node_b)
    async with PartnerClient(node_c.ctx.node, version="t", transport=router) as c:
        request = c.build("GET", node_b.address, CQUERY, query={"contract_id": ref})
        await refused(c, request, node_b, "NOT_FOUND")
        await refused(
            c,
            c.build("POST", node_b.address, TERMINATE, body={"contract_id": ref}),
            node_b,
            "NOT_FOUND",
        )
    assert status_of(node_b, ref) == "APPROVED"


async def test_bad_apply(client: PartnerClient, node_a: TestNode, node_b: TestNode) -> None:
    body = apply_body(node_a.ctx.node)
    other_id = client.build("POST", node_b.address, APPLY, body={**body, "node_id": "node-z"})
    await refused(client, other_id, node_b, "SIGNATURE_INVALID")
    garbage = client.build(
        "POST", node_b.address, APPLY, body={**body, "auth_credential": "garbage"}
    )
    await refused(client, garbage, node_b, "CREDENTIAL_INVALID")
    bad_json = tamper(
        client.build("POST", node_b.address, APPLY, body=body),
        content=b'{"node_id": "node-a",',
        resign=node_a.ctx.node.key,
    )
    await refused(client, bad_json, node_b, "MALFORMED_BODY")
    assert await admin(node_b, "GET", "/admin/v1/inbox") == []


# --------------------------------------------------------------------------- apps & metrics


@pytest.mark.parametrize("auth", [None, "Bearer ict_wrong", "Basic abc", "Bearer "])
async def test_admin_requires_token(node_b: TestNode, auth: str | None) -> None:
    before = snapshot(node_b)
    headers = {"authorization": auth} if auth is not None else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=node_b.admin), base_url="http://admin", headers=headers
    ) as c:
        for response in (
            await c.get("/admin/v1/node"),
            await c.post("/admin/v1/contracts", json={"address": "http://x.test"}),
        ):
            assert (response.status_code, response.json()["code"]) == (401, 20002)
    assert snapshot(node_b) == before


async def test_apps_are_separate(node_b: TestNode) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=node_b.partner), base_url="http://p"
    ) as c:
        response = await c.get(
            "/admin/v1/node", headers={"authorization": f"Bearer {node_b.token}"}
        )
        assert (response.status_code, response.json()["code"]) == (404, 10301)
    async with node_b.admin_client() as c:
        for response in (await c.get(HEALTH), await c.post(APPLY, json={})):
            assert (response.status_code, response.json()["code"]) == (404, 10301), response.text


async def test_auth_failures_are_counted(client: PartnerClient, node_b: TestNode, ref: str) -> None:
    signed = client.build("GET", node_b.address, HEALTH)
    for change, code_name in (
        ({"x-nonce": new_nonce()}, "SIGNATURE_INVALID"),
        ({"x-source-node-id": "node-z"}, "UNKNOWN_NODE"),
    ):
        await refused(client, tamper(signed, headers=change), node_b, code_name)
    await accepted(client, signed)
    await refused(client, signed, node_b, "NONCE_REPLAYED")
    async with node_b.admin_client() as c:
        text = (await c.get("/metrics")).text
    for reason in ("SIGNATURE_INVALID", "NONCE_REPLAYED", "UNKNOWN_NODE"):
        assert f'interconn_auth_failures_total{{reason="{reason}"}} 1.0' in text, text
