"""Authenticating partner requests: headers, clock, nonce, signature, and who may call.

The steps every signed call goes through, in order, each with its own error code:
malformed headers -> wrong target -> clock skew -> nonce format -> identify the credential
(by contract, by the contract named in the request, or by proof of possession) -> signature
-> replay. The nonce is stored only once the signature verified, so nobody can burn another
node's nonces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from interconn.contracts.models import Contract
from interconn.errors import AccessDenied, AuthError, MalformedRequest
from interconn.security import nonces
from interconn.security.contract_cache import ContractSnapshot, cache_of
from interconn.security.nonces import NonceStore
from interconn.security.signing import (
    NONCE_RE,
    PublicCredential,
    load_credential,
    parse_timestamp_ms,
    string_to_sign,
)

# v1.0 spellings (and the underscore forms seen in the wild) -> v1.1+ names.
_HEADER_ALIASES = {
    "x-node-id": "x-source-node-id",
}
_NODE_ID_MAX = 64


@dataclass(frozen=True)
class AuthHeaders:
    source_node_id: str
    target_node_id: str
    timestamp: str
    timestamp_ms: int
    nonce: str
    signature: str
    token_set: str
    trace_id: str


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    raw_query: str
    body: bytes


@dataclass(frozen=True)
class Caller:
    """Who called, and the credential their signature must verify against."""

    node_id: str
    credential: PublicCredential | None
    contract: ContractSnapshot | None = None
    exempt: bool = False  # a call the standard lets go unsigned (see allow_unsigned_exempt)
    anonymous: bool = False  # served without any identity (public_node_info)
    token_set: str = ""  # x-mprac-token-set as sent (permits are checked by the service)


def normalize_headers(raw: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw.items():
        key = name.lower().replace("_", "-")
        out[_HEADER_ALIASES.get(key, key)] = value
    return out


def read_headers(raw: Mapping[str, str]) -> AuthHeaders:
    h = normalize_headers(raw)
    source = h.get("x-source-node-id", "").strip()
    if not source:
        raise MalformedRequest(
            "x-source-node-id (or X-Node-Id) is required", code_name="MALFORMED_HEADER"
        )
    if len(source) > _NODE_ID_MAX:
        raise MalformedRequest(
            "x-source-node-id is longer than 64 characters", code_name="MALFORMED_HEADER"
        )
    ts = h.get("x-timestamp", "").strip()
    if not ts:
        raise MalformedRequest(
            "x-timestamp is required (epoch milliseconds)", code_name="MALFORMED_HEADER"
        )
    return AuthHeaders(
        source_node_id=source,
        target_node_id=h.get("x-target-node-id", "").strip(),
        timestamp=ts,
        timestamp_ms=parse_timestamp_ms(ts),
        nonce=h.get("x-nonce", "").strip(),
        signature=h.get("x-auth-sign", "").strip(),
        token_set=h.get("x-mprac-token-set", "").strip(),
        trace_id=h.get("x-trace-id", "").strip(),
    )


def check_target(headers: AuthHeaders, own_node_id: str) -> None:
    if headers.target_node_id and headers.target_node_id != own_node_id:
        raise MalformedRequest(
            f"x-target-node-id is {headers.target_node_id!r} but this node is {own_node_id!r}",
            code_name="WRONG_TARGET",
        )


def check_clock(headers: AuthHeaders, now: datetime, window_s: int) -> None:
    skew_ms = abs(now.timestamp() * 1000 - headers.timestamp_ms)
    if skew_ms > window_s * 1000:
        raise AuthError(
            f"x-timestamp is {skew_ms / 1000:.0f} s away from this node's clock "
            f"(accepted: ±{window_s} s); check the caller's clock",
            code_name="TIMESTAMP_SKEWED",
        )


def check_nonce_format(headers: AuthHeaders) -> None:
    if not NONCE_RE.match(headers.nonce):
        raise AuthError(
            "x-nonce must be 16-128 characters of [A-Za-z0-9_-]", code_name="NONCE_INVALID"
        )


def verify_signature(caller: Caller, headers: AuthHeaders, request: RawRequest) -> None:
    if caller.anonymous or (caller.exempt and not headers.signature):
        return
    if not headers.signature:
        raise AuthError("x-auth-sign is required on this call", code_name="SIGNATURE_MISSING")
    if caller.credential is None:
        raise AuthError("no credential is known for the caller", code_name="SIGNATURE_INVALID")
    message = string_to_sign(
        method=request.method,
        path=request.path,
        raw_query=request.raw_query,
        source_node_id=headers.source_node_id,
        target_node_id=headers.target_node_id,
        timestamp=headers.timestamp,
        nonce=headers.nonce,
        token_set=headers.token_set,
        body=request.body,
    ).encode()
    if not caller.credential.verify(headers.signature, message):
        raise AuthError(
            "x-auth-sign does not verify against the caller's agreed credential "
            f"({caller.credential.auth_type}, key {caller.credential.fingerprint[:16]}); "
            "see docs/signature-profile.md for the string to sign",
            code_name="SIGNATURE_INVALID",
        )


def remember_nonce(store: NonceStore, headers: AuthHeaders, now: datetime) -> None:
    """Spend the nonce (durably, before the request is acted on) or refuse a replay."""
    if not store.remember(headers.source_node_id, headers.nonce, now):
        raise AuthError(
            "x-nonce was already used by this node within the replay window",
            code_name="NONCE_REPLAYED",
        )


def prune_nonces(session: Session, now: datetime, window_s: int) -> int:
    # Twice the window: a nonce older than that cannot pass the clock check any more.
    return nonces.prune(session, now - timedelta(seconds=2 * window_s))


def active_contract(session: Session, node_id: str, now: datetime) -> ContractSnapshot:
    """The caller's newest APPROVED, unexpired contract, or the reason it has none."""
    rows = cache_of(session).of_node(session, node_id)
    if not rows:
        raise AuthError(
            f"node {node_id!r} has no contract with this node", code_name="UNKNOWN_NODE"
        )
    approved = [c for c in rows if c.status == "APPROVED"]
    live = [c for c in approved if c.is_active(now)]
    if live:
        return live[0]
    if approved:
        raise AccessDenied(
            f"the contract with node {node_id!r} has expired", code_name="CONTRACT_EXPIRED"
        )
    raise AccessDenied(
        f"node {node_id!r} has no APPROVED contract with this node",
        code_name="CONTRACT_NOT_APPROVED",
    )


def contract_caller(session: Session, headers: AuthHeaders, now: datetime) -> Caller:
    contract = active_contract(session, headers.source_node_id, now)
    return Caller(headers.source_node_id, credential_of(contract), contract)


def credential_of(contract: Contract | ContractSnapshot) -> PublicCredential | None:
    if not contract.peer_auth_type or not contract.peer_credential:
        return None
    return load_credential(contract.peer_auth_type, contract.peer_credential)


Authenticator = Callable[[Session, AuthHeaders, object, datetime], Caller]
