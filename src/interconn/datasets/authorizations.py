"""Dataset authorizations on both sides: request -> decide (+permit) -> confirm -> query ->
terminate, on the shared lifecycle engine."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interconn.context import NodeContext
from interconn.contracts.models import Contract
from interconn.datasets import catalogue, permits
from interconn.datasets.models import Dataset, DatasetAuthorization
from interconn.errors import InterconnError, NotFound, OperatorError, StateConflict
from interconn.outbox import service as outbox
from interconn.protocol import transitions
from interconn.protocol.lifecycle import (
    FINAL_STATES,
    Event,
    Kind,
    Message,
    Origin,
    Role,
    State,
    event_for_status,
)
from interconn.protocol.transitions import open_record, transition
from interconn.security import auth
from interconn.security.contract_cache import ContractSnapshot
from interconn.wire.common import ResourcePermit, to_epoch_ms
from interconn.wire.dataset import (
    DatasetAuditApplyRequest,
    DatasetAuditConfirmRequest,
    DatasetAuditQueryParams,
    DatasetAuditTerminateRequest,
)

KIND = Kind.DATASET
_TERMS = (
    "authority_list",
    "differential_budget",
    "max_task_usage",
    "prevent_differential_privacy_attack",
    "scope_id",
)


def _from_ms(value: int | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def get(session: Session, ref: str) -> DatasetAuthorization:
    """By internal id, or by audit_id when that is unambiguous on this node."""
    row = session.get(DatasetAuthorization, ref)
    if row is None:
        rows = list(
            session.scalars(
                select(DatasetAuthorization).where(DatasetAuthorization.audit_id == ref)
            )
        )
        if len(rows) > 1:
            raise OperatorError(f"audit id {ref!r} is ambiguous; use the internal id")
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no dataset authorization {ref!r}")
    return row


def listing(session: Session, *, status: str | None = None) -> list[DatasetAuthorization]:
    return transitions.listing(session, DatasetAuthorization, status=status)


def _of_caller(
    session: Session, caller: auth.Caller, audit_id: str, role: Role
) -> DatasetAuthorization:
    row = session.scalar(
        select(DatasetAuthorization).where(
            DatasetAuthorization.peer_node_id == caller.node_id,
            DatasetAuthorization.role == role.value,
            DatasetAuthorization.audit_id == audit_id,
        )
    )
    if row is None:
        raise NotFound(f"no dataset authorization {audit_id!r} with node {caller.node_id!r}")
    return row


def _active_contract(session: Session, node_id: str, now: datetime) -> ContractSnapshot:
    try:
        return auth.active_contract(session, node_id, now)
    except InterconnError as exc:
        raise OperatorError(f"no active contract with {node_id!r}: {exc.msg}") from exc


def _notify(
    session: Session,
    ctx: NodeContext,
    row: DatasetAuthorization,
    endpoint: str,
    message: Message,
    body: dict[str, Any],
) -> None:
    outbox.notify(
        session,
        row,
        kind=KIND.value,
        endpoint=endpoint,
        message=message.value,
        body=body,
        now=ctx.clock(),
    )


def _limits(row: DatasetAuthorization) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row.time_limit is not None:
        out["time_limit"] = to_epoch_ms(row.time_limit)
    if row.times_limit is not None:
        out["times_limit"] = row.times_limit
    return out


def _terms(row: DatasetAuthorization) -> dict[str, Any]:
    out: dict[str, Any] = {
        "auth_scope": row.auth_scope,
        "column_names": row.column_names,
        **row.terms,
    }
    return out | _limits(row)


# --------------------------------------------------------------------------- requester side


def request(
    session: Session,
    ctx: NodeContext,
    *,
    peer_node_id: str,
    dataset_id: str,
    actor: str,
    auth_scope: dict[str, list[str]] | None = None,
    column_names: list[str] | None = None,
    time_limit: datetime | None = None,
    times_limit: int | None = None,
) -> DatasetAuthorization:
    now = ctx.clock()
    contract = _active_contract(session, peer_node_id, now)
    if time_limit is not None and time_limit <= now:
        raise OperatorError("time_limit must be in the future")
    if times_limit is not None and times_limit < 1:
        raise OperatorError("times_limit must be at least 1")
    row = DatasetAuthorization(
        id=secrets.token_hex(16),
        audit_id="da-" + secrets.token_hex(12),
        role=Role.INITIATOR.value,
        peer_node_id=peer_node_id,
        peer_address=contract.peer_address,
        contract_id=contract.contract_id or "",
        dataset_id=dataset_id,
        auth_scope=auth_scope or {},
        column_names=column_names or [],
        time_limit=time_limit,
        times_limit=times_limit,
        terms={},
        created_at=now,
        updated_at=now,
    )
    open_record(
        session,
        row,
        kind=KIND,
        role=Role.INITIATOR,
        origin=Origin.LOCAL,
        actor=actor,
        detail={"dataset_id": dataset_id, "peer": peer_node_id},
    )
    body = {
        "audit_id": row.audit_id,
        "contract_id": row.contract_id,
        "dataset_id": dataset_id,
        **_terms(row),
    }
    _notify(session, ctx, row, "dataset.apply", Message.APPLY, body)
    return row


def learn_status(
    session: Session,
    ctx: NodeContext,
    row: DatasetAuthorization,
    *,
    status: State,
    permit: ResourcePermit | None,
    actor: str,
) -> None:
    if status is State.APPLIED:
        return  # nothing announced yet
    event = event_for_status(status)
    move = transition(
        session, row, kind=KIND, role=Role(row.role), origin=Origin.REMOTE, event=event, actor=actor
    )
    if move.changed and status is State.APPROVED:
        if permit is None:
            raise StateConflict("an APPROVED dataset confirm must carry a resource_permit")
        row.permit_token = permit.token
        if permit.time_limit is not None:
            row.time_limit = _from_ms(permit.time_limit)
        if permit.times_limit is not None:
            row.times_limit = permit.times_limit
    if move.changed and status is State.TERMINATED and row.role == Role.PARTNER:
        permits.revoke(session, permit_id=row.permit_id, now=ctx.clock())


def receive_confirm(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: DatasetAuditConfirmRequest
) -> dict[str, Any]:
    row = _of_caller(session, caller, req.audit_id, Role.INITIATOR)
    learn_status(
        session,
        ctx,
        row,
        status=State(req.status),
        permit=req.resource_permit,
        actor=f"node:{caller.node_id}",
    )
    return {"audit_id": row.audit_id, "status": row.status}


# --------------------------------------------------------------------------- holder side


def receive_apply(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: DatasetAuditApplyRequest
) -> dict[str, Any]:
    catalogue.check_contract_param(caller, req.contract_id)
    now = ctx.clock()
    dataset = session.scalar(select(Dataset).where(Dataset.dataset_id == req.dataset_id))
    # Non-public datasets may be requested too: their ids are shared out of band (and are
    # random by default); the holder's operator decides, and the request is audited.
    if dataset is None:
        raise NotFound(f"no dataset {req.dataset_id!r}")
    known = {c["name"] for c in dataset.columns}
    unknown = set(req.column_names or []) - known
    if unknown:
        raise StateConflict(f"dataset {req.dataset_id!r} has no column(s) {sorted(unknown)}")
    deadline = _from_ms(req.time_limit) if req.time_limit is not None else req.expired_time
    if deadline is not None and deadline <= now:
        raise StateConflict("time_limit is in the past")
    uses = req.times_limit if req.times_limit is not None else req.max_task_usage
    if uses is not None and uses < 1:
        raise StateConflict("times_limit must be at least 1")
    scope = {k.value: v for k, v in (req.auth_scope or {}).items()}
    extras = {k: getattr(req, k) for k in _TERMS if getattr(req, k) is not None}
    existing = session.scalar(
        select(DatasetAuthorization).where(
            DatasetAuthorization.peer_node_id == caller.node_id,
            DatasetAuthorization.role == Role.PARTNER.value,
            DatasetAuthorization.audit_id == req.audit_id,
        )
    )
    if existing is not None:
        same = (
            existing.dataset_id,
            existing.auth_scope,
            existing.column_names,
            existing.time_limit,
            existing.times_limit,
        ) == (req.dataset_id, scope, req.column_names or [], deadline, uses)
        if not same:
            raise InterconnError(
                f"audit_id {req.audit_id!r} was used for another request", code_name="DUPLICATE"
            )
        return {"audit_id": existing.audit_id, "status": existing.status}
    assert caller.contract is not None
    row = DatasetAuthorization(
        id=secrets.token_hex(16),
        audit_id=req.audit_id,
        role=Role.PARTNER.value,
        peer_node_id=caller.node_id,
        peer_address=caller.contract.peer_address,
        contract_id=caller.contract.contract_id or "",
        dataset_id=dataset.dataset_id,
        dataset_name=dataset.name,
        auth_scope=scope,
        column_names=req.column_names or [],
        time_limit=deadline,
        times_limit=uses,
        terms=extras,
        created_at=now,
        updated_at=now,
    )
    open_record(
        session,
        row,
        kind=KIND,
        role=Role.PARTNER,
        origin=Origin.REMOTE,
        actor=f"node:{caller.node_id}",
        detail={"dataset_id": dataset.dataset_id, "audit_id": req.audit_id},
    )
    return {"audit_id": row.audit_id, "status": row.status}


def _permit_object(ctx: NodeContext, row: DatasetAuthorization, token: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "token": token,
        "resource_level": permits.LEVEL_READ,
        "resource_type": permits.RESOURCE_DATASET,
        "resource_id": row.dataset_id,
        "resource_node_id": ctx.node.node_id,
        "resource_inst_id": ctx.node.inst_id,
        "request_node_id": row.peer_node_id,
    }
    return out | _limits(row)


def decide(
    session: Session,
    ctx: NodeContext,
    *,
    ref: str,
    approve: bool,
    actor: str,
    reason: str | None = None,
) -> DatasetAuthorization:
    row = get(session, ref)
    move = transitions.decide(session, row, kind=KIND, approve=approve, actor=actor, reason=reason)
    if not move.changed:
        return row
    body: dict[str, Any] = {
        "audit_id": row.audit_id,
        "status": row.status,
        "dataset_id": row.dataset_id,
        "contract_id": row.contract_id,
    }
    if approve:
        contract = session.scalar(select(Contract).where(Contract.contract_id == row.contract_id))
        permit, token = permits.issue(
            session,
            key=ctx.node.key,
            authorization_id=row.id,
            holder_node_id=ctx.node.node_id,
            holder_inst_id=ctx.node.inst_id,
            requester_node_id=row.peer_node_id,
            requester_inst_id=(contract.peer_inst_id if contract else None) or "",
            resource_type=permits.RESOURCE_DATASET,
            resource_id=row.dataset_id,
            scope=row.auth_scope,
            expires_at=row.time_limit,
            uses=row.times_limit,
            now=ctx.clock(),
        )
        row.permit_id, row.permit_token = permit.id, token
        body["resource_permit"] = _permit_object(ctx, row, token)
        body.update(_terms(row))
    _notify(session, ctx, row, "dataset.confirm", Message.CONFIRM, body)
    return row


# --------------------------------------------------------------------------- both sides


def terminate(
    session: Session, ctx: NodeContext, *, ref: str, actor: str, reason: str | None = None
) -> DatasetAuthorization:
    return _terminate_row(session, ctx, get(session, ref), actor=actor, reason=reason)


def _terminate_row(
    session: Session, ctx: NodeContext, row: DatasetAuthorization, *, actor: str, reason: str | None
) -> DatasetAuthorization:
    role = Role(row.role)
    # A holder declines a pending request by rejecting it; everything else terminates.
    event = (
        Event.REJECT if (role is Role.PARTNER and row.status == State.APPLIED) else Event.TERMINATE
    )
    move = transition(
        session,
        row,
        kind=KIND,
        role=role,
        origin=Origin.LOCAL,
        event=event,
        actor=actor,
        detail={"reason": reason} if reason else None,
    )
    if move.changed:
        row.reason = reason
        permits.revoke(session, permit_id=row.permit_id, now=ctx.clock())
        if event is Event.REJECT:
            _notify(
                session,
                ctx,
                row,
                "dataset.confirm",
                Message.CONFIRM,
                {"audit_id": row.audit_id, "status": row.status},
            )
        else:
            _notify(
                session,
                ctx,
                row,
                "dataset.terminate",
                Message.TERMINATE,
                {"audit_id": row.audit_id},
            )
    return row


def receive_terminate(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: DatasetAuditTerminateRequest
) -> dict[str, Any]:
    rows = list(
        session.scalars(
            select(DatasetAuthorization).where(
                DatasetAuthorization.peer_node_id == caller.node_id,
                DatasetAuthorization.audit_id == req.audit_id,
            )
        )
    )
    if not rows:
        raise NotFound(f"no dataset authorization {req.audit_id!r} with node {caller.node_id!r}")
    for row in rows:
        learn_status(
            session, ctx, row, status=State.TERMINATED, permit=None, actor=f"node:{caller.node_id}"
        )
    return {"audit_id": req.audit_id, "status": rows[0].status}


def query(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: DatasetAuditQueryParams
) -> dict[str, Any]:
    row = _of_caller(session, caller, req.audit_id, Role.PARTNER)
    out: dict[str, Any] = {"status": row.status, **_terms(row)}
    if row.status == State.APPROVED and row.permit_token:
        out["resource_permit"] = _permit_object(ctx, row, row.permit_token)
    return out


def end_with_contract(
    session: Session, ctx: NodeContext, contract: Contract, actor: str, origin: Origin
) -> None:
    """A contract ended: end every live authorization with that node, on this side.

    When this node ended the contract, the peer is told about each authorization (these
    messages go out before the contract's own terminate: see the outbox ordering rule);
    when the peer ended it, the peer has already ended its side, so nothing is sent.
    """
    if not contract.peer_node_id:
        return
    rows = session.scalars(
        select(DatasetAuthorization).where(
            DatasetAuthorization.peer_node_id == contract.peer_node_id,
            DatasetAuthorization.status.not_in([s.value for s in FINAL_STATES]),
        )
    )
    for row in rows:
        if origin is Origin.LOCAL:
            _terminate_row(session, ctx, row, actor=actor, reason="node contract terminated")
        else:
            learn_status(session, ctx, row, status=State.TERMINATED, permit=None, actor=actor)
