"""Operator endpoints for contracts: apply, decide, terminate, list."""

from __future__ import annotations

from fastapi import APIRouter

from interconn.admin.deps import Ctx, Operator
from interconn.contracts import service
from interconn.contracts.schemas import ApplyInput, ContractView, DecisionInput, ReasonInput

router = APIRouter(prefix="/admin/v1/contracts", tags=["contracts"])


@router.get("")
def list_contracts(ctx: Ctx, actor: Operator, status: str | None = None) -> list[ContractView]:
    with ctx.db.read() as session:
        return [ContractView.of(c) for c in service.listing(session, status=status)]


@router.get("/{ref}")
def show_contract(ref: str, ctx: Ctx, actor: Operator) -> ContractView:
    with ctx.db.read() as session:
        return ContractView.of(service.get(session, ref))


@router.post("", status_code=201)
def apply(body: ApplyInput, ctx: Ctx, actor: Operator) -> ContractView:
    with ctx.db.unit_of_work() as session:
        row = service.apply(
            session,
            ctx,
            address=body.address,
            actor=actor,
            target_node_id=body.node_id,
            expired_time=body.expired_time,
        )
        view = ContractView.of(row)
    ctx.wake_outbox()
    return view


@router.post("/{ref}/approve")
def approve(ref: str, body: DecisionInput, ctx: Ctx, actor: Operator) -> ContractView:
    with ctx.db.unit_of_work() as session:
        view = ContractView.of(
            service.decide(
                session,
                ctx,
                ref=ref,
                approve=True,
                actor=actor,
                expired_time=body.expired_time,
                reason=body.reason,
            )
        )
    ctx.wake_outbox()
    return view


@router.post("/{ref}/reject")
def reject(ref: str, body: ReasonInput, ctx: Ctx, actor: Operator) -> ContractView:
    with ctx.db.unit_of_work() as session:
        view = ContractView.of(
            service.decide(
                session,
                ctx,
                ref=ref,
                approve=False,
                actor=actor,
                reason=body.reason,
            )
        )
    ctx.wake_outbox()
    return view


@router.post("/{ref}/terminate")
def terminate(ref: str, body: ReasonInput, ctx: Ctx, actor: Operator) -> ContractView:
    with ctx.db.unit_of_work() as session:
        view = ContractView.of(
            service.terminate(session, ctx, ref=ref, actor=actor, reason=body.reason)
        )
    ctx.wake_outbox()
    return view
