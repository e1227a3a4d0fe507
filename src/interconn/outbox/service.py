"""Writing outbox rows (inside the caller's unit of work) and operator actions on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interconn.errors import NotFound, OperatorError
from interconn.observability import current_trace_id
from interconn.outbox.models import OutboxMessage, OutboxStatus
from interconn.protocol import endpoints


def enqueue(
    session: Session,
    *,
    endpoint: str,
    kind: str,
    message: str,
    record_id: str,
    peer_node_id: str | None,
    address: str,
    body: dict[str, Any],
    now: datetime,
) -> OutboxMessage:
    row = OutboxMessage(
        kind=kind,
        message=message,
        record_id=record_id,
        peer_node_id=peer_node_id,
        address=address,
        method=endpoints.method(endpoint),
        path=endpoints.path(endpoint),
        body=body,
        trace_id=current_trace_id(),
        status=OutboxStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


class PeerRecord(Protocol):
    """A lifecycle record that names its peer: contracts, authorizations, ..."""

    @property
    def id(self) -> str: ...
    @property
    def peer_node_id(self) -> str | None: ...
    @property
    def peer_address(self) -> str: ...


def notify(
    session: Session,
    record: PeerRecord,
    *,
    kind: str,
    endpoint: str,
    message: str,
    body: dict[str, Any],
    now: datetime,
) -> OutboxMessage:
    """Queue a message about ``record`` for its peer (ordered after earlier ones)."""
    return enqueue(
        session,
        endpoint=endpoint,
        kind=kind,
        message=message,
        record_id=record.id,
        peer_node_id=record.peer_node_id,
        address=record.peer_address,
        body=body,
        now=now,
    )


def pending_for(session: Session, record_id: str) -> int:
    return int(
        session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.record_id == record_id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        )
        or 0
    )


def listing(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboxMessage.status == status.upper())
    return list(session.scalars(stmt))


def _get(session: Session, message_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"no outbox message {message_id}")
    return row


def cancel(session: Session, *, message_id: int, now: datetime) -> OutboxMessage:
    row = _get(session, message_id)
    if row.status != OutboxStatus.PENDING:
        raise OperatorError(f"message {message_id} is {row.status}, only PENDING can be cancelled")
    row.status = OutboxStatus.CANCELLED
    row.finished_at = now
    return row


def retry(session: Session, *, message_id: int, now: datetime) -> OutboxMessage:
    """Put a FAILED or CANCELLED message back in line (the operator fixed the cause)."""
    row = _get(session, message_id)
    if row.status == OutboxStatus.DELIVERED:
        raise OperatorError(f"message {message_id} was already delivered")
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = now
    row.finished_at = None
    row.overdue_flagged = False  # if it still cannot be delivered, tell the operator again
    return row


def backlog(session: Session) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return int(count or 0), oldest
