"""Wires datasets into the outbox, the reconciler and contract termination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from interconn.context import NodeContext
from interconn.contracts import service as contracts
from interconn.datasets import authorizations
from interconn.datasets.models import DatasetAuthorization
from interconn.errors import StateConflict
from interconn.outbox import handlers, reconciler
from interconn.protocol import endpoints
from interconn.protocol.lifecycle import Role, State
from interconn.wire.dataset import DatasetAuditQueryResponse

KIND = authorizations.KIND.value


def _refused(session: Session, ctx: NodeContext, record_id: str, reason: str) -> None:
    """The holder refused our request outright (4xx): it will never be approved."""
    row = session.get(DatasetAuthorization, record_id)
    if row is None or row.role != Role.INITIATOR or row.status != State.APPLIED:
        return
    row.reason = reason
    authorizations.learn_status(
        session, ctx, row, status=State.REJECTED, permit=None, actor="outbox"
    )


def _overdue(session: Session, cutoff: datetime) -> list[reconciler.Target]:
    rows = session.scalars(reconciler.awaiting_answer(DatasetAuthorization, cutoff))
    return [
        reconciler.Target(r.id, r.peer_address, r.peer_node_id, {"audit_id": r.audit_id})
        for r in rows
    ]


def _apply_query(session: Session, ctx: NodeContext, record_id: str, data: dict[str, Any]) -> None:
    try:
        answer = DatasetAuditQueryResponse.model_validate(data)
    except ValidationError as exc:
        raise StateConflict(f"partner's dataset audit query answer is invalid: {exc}") from exc
    row = session.get(DatasetAuthorization, record_id)
    if row is None or row.status != State.APPLIED:
        return
    if answer.status == State.APPLIED:
        row.updated_at = ctx.clock()
        return
    authorizations.learn_status(
        session,
        ctx,
        row,
        status=State(answer.status),
        permit=answer.resource_permit,
        actor="reconciler",
    )


def register() -> None:
    handlers.register(KIND, "apply", handlers.Handlers(refused=_refused))
    reconciler.register(
        reconciler.Reconcilable(
            kind=KIND,
            endpoint_path=endpoints.path("dataset.audit_query"),
            overdue=_overdue,
            apply=_apply_query,
        )
    )
    contracts.on_terminated.append(authorizations.end_with_contract)
