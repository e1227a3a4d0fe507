"""Writing and reading the audit log. Writers add rows to the caller's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interconn.auditlog.models import AuditEntry
from interconn.observability import current_trace_id


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    kind: str,
    record_id: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            kind=kind,
            record_id=record_id,
            from_state=from_state,
            to_state=to_state,
            detail=detail or {},
            trace_id=current_trace_id(),
        )
    )


def entries(
    session: Session, *, record_id: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if record_id:
        stmt = stmt.where(AuditEntry.record_id == record_id)
    return list(session.scalars(stmt))
