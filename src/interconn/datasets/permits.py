"""Resource permits: issued by a holder on approval, presented by the requester later.

Token format (documented in docs/permits.md)::

    bfia-permit.v1.<payload>.<signature>

``payload`` is base64url (no padding) of compact JSON with the claims below; ``signature``
is base64url of the holder's signature over the ASCII bytes ``bfia-permit.v1.<payload>``,
made with the holder's node key (the algorithm of its ``auth_type``). Anyone with the
holder's credential can check a token; only the holder can count and revoke uses, because
the state lives in its ``permits`` table.

Claims: ``pid`` permit id, ``iss``/``iss_inst`` holder node/institution, ``sub``/``sub_inst``
requester node/institution, ``rt`` resource type, ``rid`` resource id, ``lvl`` level,
``scope`` authorization scope, ``exp`` expiry (epoch ms or null), ``uses`` allowed uses (or
null), ``iat`` issue time (epoch ms).

Presentation: ``x-mprac-token-set: <resource-name>/<level>/<token>[, ...]`` with
resource-name ``dataset:<dataset_id>`` (``%``-encoding ``/`` and ``,`` in the id).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from interconn.datasets.models import Permit
from interconn.errors import AccessDenied, MalformedRequest
from interconn.security.signing import PublicCredential, SigningKey
from interconn.wire.common import to_epoch_ms

PREFIX = "bfia-permit.v1"
LEVEL_READ = "READ"
RESOURCE_DATASET = "DATASET"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else to_epoch_ms(moment)


@dataclass(frozen=True)
class Claims:
    pid: str
    iss: str
    iss_inst: str
    sub: str
    sub_inst: str
    rt: str
    rid: str
    lvl: str
    scope: dict[str, list[str]]
    exp: int | None
    uses: int | None
    iat: int


def sign_token(key: SigningKey, claims: Claims) -> str:
    payload = _b64(json.dumps(claims.__dict__, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{PREFIX}.{payload}"
    signature = base64.b64decode(key.sign(signed.encode()))
    return f"{signed}.{_b64(signature)}"


def read_token(token: str, credential: PublicCredential) -> Claims:
    """Check the holder's signature and decode the claims, or raise PERMIT_INVALID."""
    parts = token.split(".")
    if len(parts) != 4 or f"{parts[0]}.{parts[1]}" != PREFIX:
        raise AccessDenied("not a bfia-permit.v1 token", code_name="PERMIT_INVALID")
    signed = f"{PREFIX}.{parts[2]}"
    try:
        signature = base64.b64encode(_unb64(parts[3])).decode()
        valid = credential.verify(signature, signed.encode())
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise AccessDenied("the permit's signature is not this node's", code_name="PERMIT_INVALID")
    try:
        data: dict[str, Any] = json.loads(_unb64(parts[2]))
        return Claims(**data)
    except (ValueError, TypeError) as exc:
        raise AccessDenied(
            "the permit's claims are unreadable", code_name="PERMIT_INVALID"
        ) from exc


def new_permit_id() -> str:
    return "pm-" + secrets.token_hex(12)


def resource_name(resource_type: str, resource_id: str) -> str:
    return f"{resource_type.lower()}:{quote(resource_id, safe='')}"


@dataclass(frozen=True)
class Presented:
    resource_type: str
    resource_id: str
    level: str
    token: str


def parse_token_set(header: str) -> list[Presented]:
    """Parse ``x-mprac-token-set``; malformed items are a MALFORMED_HEADER error."""
    items: list[Presented] = []
    for raw in header.split(","):
        raw = raw.strip()
        if not raw:
            continue
        name, sep1, rest = raw.partition("/")
        level, sep2, token = rest.partition("/")
        rtype, sep3, rid = name.partition(":")
        if not (sep1 and sep2 and sep3 and rtype and rid and level and token):
            raise MalformedRequest(
                "x-mprac-token-set items must be <type>:<id>/<level>/<token>",
                code_name="MALFORMED_HEADER",
            )
        items.append(Presented(rtype.upper(), unquote(rid), level.upper(), token))
    return items


def presents(token_set: str, resource_type: str, resource_id: str) -> bool:
    if not token_set:
        return False
    return any(
        p.resource_type == resource_type and p.resource_id == resource_id
        for p in parse_token_set(token_set)
    )


def use_permit(
    session: Session,
    *,
    token_set: str,
    credential: PublicCredential,
    caller_node_id: str,
    resource_type: str,
    resource_id: str,
    now: datetime,
) -> Permit:
    """Find the caller's permit for this resource in the token set and count one use.

    The use is counted by one conditional UPDATE, so of two concurrent uses of the last
    remaining one exactly one succeeds.
    """
    wanted = [
        p
        for p in parse_token_set(token_set)
        if p.resource_type == resource_type and p.resource_id == resource_id
    ]
    if not wanted:
        raise AccessDenied(
            f"{resource_type.lower()} {resource_id!r} is not public: present a permit for "
            f"{resource_name(resource_type, resource_id)} in x-mprac-token-set",
            code_name="PERMIT_INVALID",
        )
    claims = read_token(wanted[0].token, credential)
    if claims.sub != caller_node_id:
        raise AccessDenied("the permit was issued to another node", code_name="PERMIT_INVALID")
    if claims.rt != resource_type or claims.rid != resource_id:
        raise AccessDenied("the permit is for another resource", code_name="PERMIT_INVALID")
    permit = session.get(Permit, claims.pid)
    if permit is None or permit.requester_node_id != caller_node_id:
        raise AccessDenied("unknown permit", code_name="PERMIT_INVALID")
    result = session.execute(
        update(Permit)
        .where(
            Permit.id == permit.id,
            Permit.revoked_at.is_(None),
            or_(Permit.expires_at.is_(None), Permit.expires_at > now),
            or_(Permit.uses_allowed.is_(None), Permit.uses_count < Permit.uses_allowed),
        )
        .values(uses_count=Permit.uses_count + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.refresh(permit)
        if permit.revoked_at is not None:
            why = "the permit was revoked"
        elif permit.expires_at is not None and permit.expires_at <= now:
            why = "the permit has expired"
        else:
            why = "the permit's uses are used up"
        raise AccessDenied(why, code_name="PERMIT_INVALID")
    session.refresh(permit)
    return permit


def issue(
    session: Session,
    *,
    key: SigningKey,
    authorization_id: str,
    holder_node_id: str,
    holder_inst_id: str,
    requester_node_id: str,
    requester_inst_id: str,
    resource_type: str,
    resource_id: str,
    scope: dict[str, list[str]],
    expires_at: datetime | None,
    uses: int | None,
    now: datetime,
) -> tuple[Permit, str]:
    permit = Permit(
        id=new_permit_id(),
        authorization_id=authorization_id,
        requester_node_id=requester_node_id,
        resource_type=resource_type,
        resource_id=resource_id,
        level=LEVEL_READ,
        expires_at=expires_at,
        uses_allowed=uses,
        uses_count=0,
        issued_at=now,
    )
    session.add(permit)
    claims = Claims(
        pid=permit.id,
        iss=holder_node_id,
        iss_inst=holder_inst_id,
        sub=requester_node_id,
        sub_inst=requester_inst_id,
        rt=resource_type,
        rid=resource_id,
        lvl=LEVEL_READ,
        scope=scope,
        exp=_ms(expires_at),
        uses=uses,
        iat=_ms(now) or 0,
    )
    return permit, sign_token(key, claims)


def revoke(session: Session, *, permit_id: str | None, now: datetime) -> None:
    if permit_id is None:
        return
    session.execute(
        update(Permit)
        .where(Permit.id == permit_id, Permit.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
