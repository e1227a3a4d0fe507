"""Wires contracts into the kind-agnostic outbox worker and reconciler."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from interconn.context import NodeContext
from interconn.contracts import service
from interconn.contracts.models import Contract
from interconn.errors import StateConflict
from interconn.outbox import handlers, reconciler
from interconn.protocol import endpoints
from interconn.protocol.lifecycle import State
from interconn.wire.node import ContractQueryResponse

KIND = service.KIND.value


def _finalize(
    session: Session, record_id: str, address: str, body: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    contract = session.get(Contract, record_id)
    if contract is None:
        return address, body
    if contract.contract_id and "contract_id" not in body:
        body = {"contract_id": contract.contract_id, **body}
    # The partner may have moved (node/update): always send to its current address.
    return contract.peer_address or address, body


def _overdue(session: Session, cutoff: Any) -> list[reconciler.Target]:
    # Until the apply is delivered there is no contract id to ask about.
    rows = session.scalars(
        reconciler.awaiting_answer(Contract, cutoff).where(Contract.contract_id.is_not(None))
    )
    return [
        reconciler.Target(
            c.id, c.peer_address, c.peer_node_id, {"contract_id": c.contract_id or ""}
        )
        for c in rows
    ]


def _apply_query(session: Session, ctx: NodeContext, record_id: str, data: dict[str, Any]) -> None:
    try:
        answer = ContractQueryResponse.model_validate(data)
    except ValidationError as exc:
        raise StateConflict(f"partner's contract query answer is invalid: {exc}") from exc
    contract = session.get(Contract, record_id)
    if contract is None or contract.status != State.APPLIED:
        return
    status = State(answer.status)
    if status is State.APPLIED:
        contract.updated_at = ctx.clock()  # still pending there: ask again after the timeout
        return
    service.learn_status(
        session, ctx, contract, status=status, data=answer.model_dump(), actor="reconciler"
    )


def register() -> None:
    handlers.register(KIND, "*", handlers.Handlers(finalize=_finalize))
    handlers.register(
        KIND,
        "apply",
        handlers.Handlers(
            finalize=_finalize, delivered=service.apply_delivered, refused=service.apply_refused
        ),
    )
    reconciler.register(
        reconciler.Reconcilable(
            kind=KIND,
            endpoint_path=endpoints.path("contract.query"),
            overdue=_overdue,
            apply=_apply_query,
        )
    )
