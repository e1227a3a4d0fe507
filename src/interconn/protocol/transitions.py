"""Applying a lifecycle move to a stored record, with its audit entry.

The one place where a record's ``status`` changes, for every kind. The caller's unit of
work commits the change, the audit entry and any outbox row together.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from interconn.auditlog import service as audit
from interconn.errors import OperatorError, StateConflict
from interconn.protocol.lifecycle import (
    Event,
    IllegalTransition,
    Kind,
    Move,
    Origin,
    Role,
    State,
    fire,
)


class Tracked(Protocol):
    id: str
    role: str
    status: str


def transition(
    session: Session,
    record: Tracked | None,
    *,
    kind: Kind,
    role: Role,
    origin: Origin,
    event: Event,
    actor: str,
    record_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Move:
    """Fire ``event`` on ``record`` (``None`` = not yet created) and record the change.

    Raises ``StateConflict`` (never a silent overwrite) when the table refuses the move.
    The caller sets ``record.status`` for new records; existing records are updated here.
    """
    current = State(record.status) if record is not None else None
    try:
        move = fire(kind, role, origin, current, event)
    except IllegalTransition as exc:
        raise StateConflict(str(exc), data={"status": current.value if current else None}) from exc
    if record is not None and move.changed:
        record.status = move.new_state.value
    if move.changed:
        audit.record(
            session,
            actor=actor,
            action=f"{kind}.{event.lower()}",
            kind=kind.value,
            record_id=record_id or (record.id if record is not None else ""),
            from_state=current.value if current else None,
            to_state=move.new_state.value,
            detail={"origin": origin.value, "role": role.value, **(detail or {})},
        )
    return move


def open_record(
    session: Session,
    record: Tracked,
    *,
    kind: Kind,
    role: Role,
    origin: Origin,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> Move:
    """Create ``record`` through the lifecycle (an APPLY on nothing) and add it to the session.

    Every kind starts its records here: local applies (this node is the initiator) and
    received applies (this node is the partner).
    """
    move = transition(
        session,
        None,
        kind=kind,
        role=role,
        origin=origin,
        event=Event.APPLY,
        actor=actor,
        record_id=record.id,
        detail=detail,
    )
    record.status = move.new_state.value
    session.add(record)
    return move


class Decidable(Tracked, Protocol):
    reason: str | None


def decide(
    session: Session,
    record: Decidable,
    *,
    kind: Kind,
    approve: bool,
    actor: str,
    reason: str | None = None,
) -> Move:
    """The partner's local decision on a pending request, for every kind."""
    if record.role != Role.PARTNER:
        raise OperatorError(f"only the partner decides; this node made that {kind} request")
    move = transition(
        session,
        record,
        kind=kind,
        role=Role.PARTNER,
        origin=Origin.LOCAL,
        event=Event.APPROVE if approve else Event.REJECT,
        actor=actor,
        detail={"reason": reason} if reason else None,
    )
    if move.changed:
        record.reason = reason
    return move


R = TypeVar("R")


def listing(session: Session, model: type[R], *, status: str | None = None) -> list[R]:
    """Records of one kind, newest first, optionally in one state (operator listings)."""
    table: Any = model
    stmt = select(model).order_by(table.created_at.desc())
    if status:
        stmt = stmt.where(table.status == status.upper())
    return list(session.scalars(stmt))
