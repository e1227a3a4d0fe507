"""Node contracts: both sides of apply -> decide -> confirm -> query -> terminate.

Services take keyword-only arguments and a ``Session``; they never commit. Every state
change goes through ``protocol.transitions.transition`` and every message to the peer
through the outbox, in the same unit of work.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interconn.context import NodeContext
from interconn.contracts.models import Contract
from interconn.errors import AuthError, NotFound, OperatorError, StateConflict
from interconn.outbox import service as outbox
from interconn.outbox.models import OutboxMessage, OutboxStatus
from interconn.protocol import transitions
from interconn.protocol.lifecycle import Event, Kind, Message, Origin, Role, State, event_for_status
from interconn.protocol.transitions import open_record, transition
from interconn.security.auth import AuthHeaders, Caller, credential_of
from interconn.security.contract_cache import ContractSnapshot, cache_of
from interconn.security.signing import PublicCredential, load_credential
from interconn.wire.common import to_epoch_ms
from interconn.wire.node import (
    ContractApplyRequest,
    ContractConfirmRequest,
    ContractQueryParams,
    ContractTerminateRequest,
    NodeInfo,
    NodeUpdateRequest,
)

KIND = Kind.CONTRACT
# Hooks other domains register to react when a contract ends (e.g. dataset authorizations
# between the two nodes are terminated too). Called inside the same unit of work.
on_terminated: list[Callable[[Session, NodeContext, Contract, str, Origin], None]] = []


def new_contract_id() -> str:
    return "ct-" + secrets.token_hex(12)


# --------------------------------------------------------------------------- lookups


def get(session: Session, ref: str) -> Contract:
    """By internal id or contract_id (operators use either)."""
    row = session.get(Contract, ref) or session.scalar(
        select(Contract).where(Contract.contract_id == ref)
    )
    if row is None:
        raise NotFound(f"no contract {ref!r}")
    return row


def listing(session: Session, *, status: str | None = None) -> list[Contract]:
    return transitions.listing(session, Contract, status=status)


def _by_contract_id_for(session: Session, contract_id: str, node_id: str) -> ContractSnapshot:
    row = cache_of(session).by_contract_id(session, contract_id)
    # The same answer whether it does not exist or belongs to someone else: no probing.
    if row is None or row.peer_node_id != node_id:
        raise NotFound(f"no contract {contract_id!r} with node {node_id!r}")
    return row


def _row_of(session: Session, caller: Caller) -> Contract:
    """The caller's named contract, loaded for change inside this unit of work."""
    assert caller.contract is not None
    row = session.get(Contract, caller.contract.id)
    if row is None:
        raise NotFound(f"no contract {caller.contract.contract_id!r}")
    return row


# --------------------------------------------------------------------------- authentication


def authenticate_apply(
    session: Session, ctx: NodeContext, headers: AuthHeaders, parsed: object, now: datetime
) -> Caller:
    """Proof of possession: the apply is signed with the key its body carries."""
    assert isinstance(parsed, ContractApplyRequest)
    if parsed.node_id != headers.source_node_id:
        raise AuthError(
            f"body node_id {parsed.node_id!r} differs from x-source-node-id "
            f"{headers.source_node_id!r}",
            code_name="SIGNATURE_INVALID",
        )
    credential = load_credential(parsed.auth_type, parsed.auth_credential)
    return Caller(headers.source_node_id, credential, exempt=True)


def authenticate_confirm(
    session: Session, ctx: NodeContext, headers: AuthHeaders, parsed: object, now: datetime
) -> Caller:
    """Confirm is signed by the partner we applied to, with the key it presents (or gave us)."""
    assert isinstance(parsed, ContractConfirmRequest)
    contract = _by_contract_id_for(session, parsed.contract_id, headers.source_node_id)
    credential: PublicCredential | None = None
    if parsed.auth_type and parsed.auth_credential:
        credential = load_credential(parsed.auth_type, parsed.auth_credential)
        known = credential_of(contract)
        if known is not None and known.fingerprint != credential.fingerprint:
            raise AuthError(
                "confirm carries a credential other than the one the partner gave at apply",
                code_name="SIGNATURE_INVALID",
            )
    else:
        credential = credential_of(contract)
    return Caller(headers.source_node_id, credential, contract, exempt=True)


def authenticate_named(
    session: Session, ctx: NodeContext, headers: AuthHeaders, parsed: object, now: datetime
) -> Caller:
    """Query, terminate and update name their contract; the caller must be its peer."""
    contract_id = getattr(parsed, "contract_id", None)
    if not isinstance(contract_id, str):
        raise NotFound("contract_id is required")
    contract = _by_contract_id_for(session, contract_id, headers.source_node_id)
    return Caller(headers.source_node_id, credential_of(contract), contract)


# --------------------------------------------------------------------------- initiator side


def apply(
    session: Session,
    ctx: NodeContext,
    *,
    address: str,
    actor: str,
    target_node_id: str | None = None,
    expired_time: datetime | None = None,
) -> Contract:
    """Apply for a contract with the node at ``address``; the apply goes out via the outbox."""
    address = address.strip().rstrip("/")
    if not address.startswith(("http://", "https://")):
        raise OperatorError("address must be an http(s) URL, e.g. http://10.0.0.2:8600")
    now = ctx.clock()
    if expired_time is not None and expired_time <= now:
        raise OperatorError("expired_time must be in the future")
    pending = session.scalar(
        select(Contract).where(
            Contract.role == Role.INITIATOR.value,
            Contract.status == State.APPLIED.value,
            Contract.peer_address == address,
        )
    )
    if pending is not None:
        return pending  # already applied and waiting: applying again changes nothing
    contract = Contract(
        id=secrets.token_hex(16),
        role=Role.INITIATOR.value,
        peer_address=address,
        peer_node_id=target_node_id or None,
        expired_time=expired_time,
        created_at=now,
        updated_at=now,
    )
    open_record(
        session,
        contract,
        kind=KIND,
        role=Role.INITIATOR,
        origin=Origin.LOCAL,
        actor=actor,
        detail={"address": address},
    )
    body = ctx.node.info(system_version=ctx.version)
    if expired_time is not None:
        body["expired_time"] = to_epoch_ms(expired_time)  # type: ignore[assignment]
    outbox.enqueue(
        session,
        endpoint="contract.apply",
        kind=KIND.value,
        message=Message.APPLY.value,
        record_id=contract.id,
        peer_node_id=contract.peer_node_id,
        address=address,
        body=body,
        now=now,
    )
    return contract


def apply_delivered(
    session: Session, ctx: NodeContext, record_id: str, data: dict[str, Any]
) -> None:
    """The partner accepted our apply: learn the contract id and the partner's identity."""
    contract = session.get(Contract, record_id)
    if contract is None:
        return
    contract_id = data.get("contract_id")
    if not isinstance(contract_id, str) or not contract_id:
        raise StateConflict("partner's apply answer has no contract_id")
    node_id = data.get("node_id")
    if contract.peer_node_id and node_id and node_id != contract.peer_node_id:
        raise StateConflict(
            f"the node at {contract.peer_address} answered as {node_id!r}, "
            f"not {contract.peer_node_id!r}"
        )
    duplicate = session.scalar(
        select(Contract.id).where(Contract.contract_id == contract_id, Contract.id != contract.id)
    )
    if duplicate is not None:
        raise StateConflict(
            f"contract {contract_id!r} is already known here as {duplicate} "
            f"(the node at {contract.peer_address} was applied to twice under two addresses)"
        )
    contract.contract_id = contract_id
    contract.peer_node_id = contract.peer_node_id or (node_id if isinstance(node_id, str) else None)
    for field in ("inst_id", "name", "institution", "system", "system_version"):
        if isinstance(data.get(field), str):
            setattr(contract, f"peer_{field}", data[field])
    if data.get("auth_type") and data.get("auth_credential"):
        credential = load_credential(str(data["auth_type"]), str(data["auth_credential"]))
        contract.peer_auth_type, contract.peer_credential = (
            credential.auth_type.value,
            credential.pem,
        )
    status = data.get("status")
    if status in (State.APPROVED, State.REJECTED) and contract.status == State.APPLIED:
        learn_status(
            session, ctx, contract, status=State(status), data=data, actor=f"node:{node_id}"
        )


def apply_refused(session: Session, ctx: NodeContext, record_id: str, reason: str) -> None:
    contract = session.get(Contract, record_id)
    if contract is None or contract.status != State.APPLIED:
        return
    contract.reason = reason
    transition(
        session,
        contract,
        kind=KIND,
        role=Role.INITIATOR,
        origin=Origin.REMOTE,
        event=Event.REJECT,
        actor="outbox",
        detail={"reason": reason},
    )


def learn_status(
    session: Session,
    ctx: NodeContext,
    contract: Contract,
    *,
    status: State,
    data: dict[str, Any],
    actor: str,
) -> None:
    """Apply a status the partner announced (confirm callback, query answer, terminate)."""
    if status is State.APPLIED:
        return  # nothing announced yet
    event = event_for_status(status)
    move = transition(
        session,
        contract,
        kind=KIND,
        role=Role(contract.role),
        origin=Origin.REMOTE,
        event=event,
        actor=actor,
    )
    if move.changed and status is State.APPROVED:
        auth_type, credential = data.get("auth_type"), data.get("auth_credential")
        if auth_type and credential:
            loaded = load_credential(str(auth_type), str(credential))
            contract.peer_auth_type, contract.peer_credential = loaded.auth_type.value, loaded.pem
        expired = data.get("expired_time")
        if isinstance(expired, datetime):
            contract.expired_time = expired
    if move.changed and status is State.TERMINATED:
        _cascade(session, ctx, contract, actor, Origin.REMOTE)


def receive_confirm(
    session: Session, ctx: NodeContext, caller: Caller, req: ContractConfirmRequest
) -> dict[str, Any]:
    contract = _row_of(session, caller)
    if contract.role != Role.INITIATOR:
        raise NotFound(f"contract {req.contract_id!r} was not applied for by this node")
    learn_status(
        session,
        ctx,
        contract,
        status=State(req.status),
        data=req.model_dump(),
        actor=f"node:{caller.node_id}",
    )
    return {"contract_id": contract.contract_id, "status": contract.status}


# --------------------------------------------------------------------------- partner side


def receive_apply(
    session: Session, ctx: NodeContext, caller: Caller, req: ContractApplyRequest
) -> dict[str, Any]:
    now = ctx.clock()
    if req.expired_time is not None and req.expired_time <= now:
        raise StateConflict("the requested expired_time is in the past")
    assert caller.credential is not None
    earlier = _unsettled_application(session, req.node_id, caller.credential.pem)
    if earlier is not None:
        return _apply_answer(ctx, earlier)  # the same apply twice gets the same answer
    contract = Contract(
        id=secrets.token_hex(16),
        contract_id=new_contract_id(),
        role=Role.PARTNER.value,
        expired_time=req.expired_time,
        created_at=now,
        updated_at=now,
    )
    _store_peer_info(contract, req, caller.credential)
    try:
        # One pending application per node (a partial unique index): of two concurrent
        # applies, the second finds the first's record and gets the same answer.
        with session.begin_nested():
            open_record(
                session,
                contract,
                kind=KIND,
                role=Role.PARTNER,
                origin=Origin.REMOTE,
                actor=f"node:{req.node_id}",
                detail={"address": req.address, "key": caller.credential.fingerprint[:16]},
            )
            session.flush()
    except IntegrityError:
        earlier = _unsettled_application(session, req.node_id, caller.credential.pem)
        if earlier is None:
            raise
        return _apply_answer(ctx, earlier)
    return _apply_answer(ctx, contract)


def _unsettled_application(session: Session, node_id: str, credential: str) -> Contract | None:
    """An earlier application by the same node with the same key that the applicant may not
    have heard about: still pending, or decided but the decision not yet delivered (the
    applicant then lost our answer, retried, and must learn the same contract, not a new one).
    """
    rows = session.scalars(
        select(Contract)
        .where(
            Contract.peer_node_id == node_id,
            Contract.role == Role.PARTNER.value,
            Contract.status != State.TERMINATED.value,
        )
        .order_by(Contract.created_at.desc())
    )
    for row in rows:
        if row.status == State.APPLIED:
            if row.peer_credential != credential:
                raise StateConflict(
                    f"node {node_id!r} already has a pending application with another key; "
                    "withdraw it first"
                )
            return row
        if row.peer_credential == credential and not _decision_delivered(session, row.id):
            return row
    return None


def _decision_delivered(session: Session, record_id: str) -> bool:
    found = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.record_id == record_id,
            OutboxMessage.message == Message.CONFIRM.value,
            OutboxMessage.status == OutboxStatus.DELIVERED,
        )
    )
    return found is not None


def _store_peer_info(
    contract: Contract, info: NodeInfo, credential: PublicCredential | None
) -> None:
    contract.peer_node_id = info.node_id
    for field in (
        "inst_id",
        "name",
        "institution",
        "address",
        "system",
        "system_version",
        "description",
    ):
        value = getattr(info, field)
        if value is not None:
            setattr(contract, f"peer_{field}", value)
    if credential is not None:
        contract.peer_auth_type, contract.peer_credential = (
            credential.auth_type.value,
            credential.pem,
        )


def _apply_answer(ctx: NodeContext, contract: Contract) -> dict[str, Any]:
    info = ctx.node.info(system_version=ctx.version)
    answer: dict[str, Any] = {
        "contract_id": contract.contract_id,
        "status": contract.status,
        **{
            k: info[k]
            for k in (
                "node_id",
                "inst_id",
                "name",
                "institution",
                "system",
                "system_version",
                "auth_type",
                "auth_credential",
            )
        },
    }
    if contract.expired_time is not None:
        answer["expired_time"] = to_epoch_ms(contract.expired_time)
    return answer


def decide(
    session: Session,
    ctx: NodeContext,
    *,
    ref: str,
    approve: bool,
    actor: str,
    expired_time: datetime | None = None,
    reason: str | None = None,
) -> Contract:
    """The operator approves or rejects a pending application; the confirm goes out via outbox."""
    contract = get(session, ref)
    now = ctx.clock()
    if approve:
        chosen = (
            expired_time
            or contract.expired_time
            or now + timedelta(days=ctx.settings.contract_days)
        )
        if chosen <= now:
            raise OperatorError("expired_time must be in the future")
    move = transitions.decide(
        session, contract, kind=KIND, approve=approve, actor=actor, reason=reason
    )
    if not move.changed:
        return contract
    if approve:
        # Wire times have millisecond precision; store what the initiator will store.
        contract.expired_time = chosen.replace(microsecond=chosen.microsecond // 1000 * 1000)
    body: dict[str, Any] = {
        "contract_id": contract.contract_id,
        "status": contract.status,
        "auth_type": ctx.node.auth_type,
        "auth_credential": ctx.node.credential,
    }
    if contract.expired_time is not None and approve:
        body["expired_time"] = to_epoch_ms(contract.expired_time)
    _notify(session, ctx, contract, "contract.confirm", Message.CONFIRM, body)
    return contract


# --------------------------------------------------------------------------- both sides


def terminate(
    session: Session, ctx: NodeContext, *, ref: str, actor: str, reason: str | None = None
) -> Contract:
    contract = get(session, ref)
    move = transition(
        session,
        contract,
        kind=KIND,
        role=Role(contract.role),
        origin=Origin.LOCAL,
        event=Event.TERMINATE,
        actor=actor,
        detail={"reason": reason} if reason else None,
    )
    if move.changed:
        contract.reason = reason
        # The body is completed at send time: an initiator may terminate before its apply
        # was delivered, when the contract_id is not known yet.
        # Dependent authorizations are ended (and announced) first; the contract's own
        # terminate waits behind them in the outbox (see outbox.worker ordering).
        _cascade(session, ctx, contract, actor, Origin.LOCAL)
        _notify(session, ctx, contract, "contract.terminate", Message.TERMINATE, {})
    return contract


def receive_terminate(
    session: Session, ctx: NodeContext, caller: Caller, req: ContractTerminateRequest
) -> dict[str, Any]:
    contract = _row_of(session, caller)
    learn_status(
        session, ctx, contract, status=State.TERMINATED, data={}, actor=f"node:{caller.node_id}"
    )
    return {"contract_id": contract.contract_id, "status": contract.status}


def query(
    session: Session, ctx: NodeContext, caller: Caller, req: ContractQueryParams
) -> dict[str, Any]:
    contract = caller.contract
    assert contract is not None
    answer: dict[str, Any] = {
        "contract_id": contract.contract_id,
        "status": contract.status,
        "auth_type": ctx.node.auth_type,
        "auth_credential": ctx.node.credential,
    }
    if contract.expired_time is not None:
        answer["expired_time"] = to_epoch_ms(contract.expired_time)
    return answer


def receive_node_update(
    session: Session, ctx: NodeContext, caller: Caller, req: NodeUpdateRequest
) -> dict[str, Any]:
    contract = _row_of(session, caller)
    info = req.node_info
    if info.node_id != caller.node_id:
        raise StateConflict("node_id cannot change; apply for a new contract instead")
    if contract.status != State.APPROVED:
        raise StateConflict(f"contract {contract.contract_id} is {contract.status}, not APPROVED")
    credential = None
    if info.auth_type and info.auth_credential:
        credential = load_credential(info.auth_type, info.auth_credential)
    _store_peer_info(contract, info, credential)
    from interconn.auditlog import service as audit

    audit.record(
        session,
        actor=f"node:{caller.node_id}",
        action="node.update",
        kind=KIND.value,
        record_id=contract.id,
        detail={"fields": sorted(info.model_fields_set)},
    )
    return {"contract_id": contract.contract_id}


def push_node_update(session: Session, ctx: NodeContext, *, actor: str) -> int:
    """Tell every partner with an active contract our current node info."""
    now = ctx.clock()
    count = 0
    for contract in listing(session, status=State.APPROVED.value):
        if not contract.is_active(now) or not contract.contract_id:
            continue
        body = {"contract_id": contract.contract_id, **ctx.node.info(system_version=ctx.version)}
        outbox.enqueue(
            session,
            endpoint="node.update",
            kind=KIND.value,
            message="update",
            record_id=contract.id,
            peer_node_id=contract.peer_node_id,
            address=contract.peer_address,
            body=body,
            now=now,
        )
        count += 1
    from interconn.auditlog import service as audit

    audit.record(
        session,
        actor=actor,
        action="node.update.push",
        kind="node",
        record_id=ctx.node.node_id,
        detail={"partners": count},
    )
    return count


def _notify(
    session: Session,
    ctx: NodeContext,
    contract: Contract,
    endpoint: str,
    message: Message,
    body: dict[str, Any],
) -> None:
    outbox.notify(
        session,
        contract,
        kind=KIND.value,
        endpoint=endpoint,
        message=message.value,
        body=body,
        now=ctx.clock(),
    )


def _cascade(
    session: Session, ctx: NodeContext, contract: Contract, actor: str, origin: Origin
) -> None:
    for hook in on_terminated:
        hook(session, ctx, contract, actor, origin)


def finalize_body(session: Session, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Fill in the contract_id, which may not have been known when the message was written."""
    contract = session.get(Contract, record_id)
    if contract is not None and contract.contract_id and "contract_id" not in body:
        return {"contract_id": contract.contract_id, **body}
    return body
