"""Operator endpoints: the local catalogue, partners' catalogues, and authorizations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from interconn.admin.deps import Ctx, Operator
from interconn.auditlog import service as audit
from interconn.datasets import authorizations, catalogue, permits
from interconn.datasets.models import DatasetAuthorization, Permit
from interconn.datasets.schemas import (
    AuthorizationInput,
    AuthorizationView,
    DatasetEdit,
    DatasetInput,
    DatasetView,
    ReasonInput,
)
from interconn.errors import OperatorError
from interconn.protocol.endpoints import path
from interconn.protocol.lifecycle import Role, State
from interconn.security import auth

router = APIRouter(prefix="/admin/v1", tags=["datasets"])


@router.get("/datasets")
def list_datasets(ctx: Ctx, actor: Operator) -> list[DatasetView]:
    from sqlalchemy import select

    from interconn.datasets.models import Dataset

    with ctx.db.read() as session:
        rows = session.scalars(select(Dataset).order_by(Dataset.id).limit(10000))
        return [DatasetView.model_validate(r) for r in rows]


@router.post("/datasets", status_code=201)
def add_dataset(body: DatasetInput, ctx: Ctx, actor: Operator) -> DatasetView:
    with ctx.db.unit_of_work() as session:
        row = catalogue.register(
            session,
            now=ctx.clock(),
            **body.model_dump(exclude={"columns"}),
            columns=[c.model_dump(exclude_none=True) for c in body.columns],
        )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="dataset.register",
            kind="dataset",
            record_id=row.dataset_id,
            detail={"public": row.public},
        )
        return DatasetView.model_validate(row)


@router.get("/datasets/{dataset_id}")
def show_dataset(dataset_id: str, ctx: Ctx, actor: Operator) -> DatasetView:
    with ctx.db.read() as session:
        return DatasetView.model_validate(catalogue.get(session, dataset_id))


@router.patch("/datasets/{dataset_id}")
def edit_dataset(dataset_id: str, body: DatasetEdit, ctx: Ctx, actor: Operator) -> DatasetView:
    changes = body.model_dump(exclude_unset=True)
    with ctx.db.unit_of_work() as session:
        row = catalogue.edit(session, dataset_id=dataset_id, changes=changes)
        audit.record(
            session,
            actor=actor,
            action="dataset.edit",
            kind="dataset",
            record_id=dataset_id,
            detail={"fields": sorted(changes)},
        )
        return DatasetView.model_validate(row)


@router.delete("/datasets/{dataset_id}")
def delete_dataset(
    dataset_id: str, ctx: Ctx, actor: Operator, force: bool = False
) -> dict[str, Any]:
    """Refused while authorizations on it are live, unless forced: then they are ended and
    the partners told."""
    with ctx.db.unit_of_work() as session:
        live = catalogue.approved_authorizations(session, dataset_id)
        if live and not force:
            raise OperatorError(
                f"dataset {dataset_id!r} has {len(live)} live authorization(s); "
                "terminate them or delete with force=true"
            )
        for row in live:
            authorizations.terminate(
                session, ctx, ref=row.id, actor=actor, reason="dataset deleted"
            )
        catalogue.delete(session, dataset_id=dataset_id)
        audit.record(
            session,
            actor=actor,
            action="dataset.delete",
            kind="dataset",
            record_id=dataset_id,
            detail={"ended": len(live)},
        )
    ctx.wake_outbox()
    return {"deleted": dataset_id, "authorizations_ended": len(live)}


# --------------------------------------------------------------------------- partners' catalogues


@router.get("/remote/{node_id}/datasets")
async def remote_list(
    node_id: str,
    ctx: Ctx,
    actor: Operator,
    name: str | None = None,
    dataset_id: str | None = None,
    page_num: int = 1,
    page_size: int = 20,
) -> dict[str, Any]:
    with ctx.db.read() as session:
        contract = auth.active_contract(session, node_id, ctx.clock())
    query = {
        "contract_id": contract.contract_id or "",
        "page_num": str(page_num),
        "page_size": str(page_size),
    }
    query.update({k: v for k, v in {"name": name, "dataset_id": dataset_id}.items() if v})
    async with ctx.partner_client() as client:
        return await client.call(
            "GET", contract.peer_address, path("dataset.list"), query=query, target_node_id=node_id
        )


@router.get("/remote/{node_id}/datasets/{dataset_id}")
async def remote_detail(node_id: str, dataset_id: str, ctx: Ctx, actor: Operator) -> dict[str, Any]:
    """The detail of a partner's dataset; presents our permit for it when we hold one."""
    from sqlalchemy import select

    with ctx.db.read() as session:
        contract = auth.active_contract(session, node_id, ctx.clock())
        held = session.scalar(
            select(DatasetAuthorization)
            .where(
                DatasetAuthorization.peer_node_id == node_id,
                DatasetAuthorization.role == Role.INITIATOR.value,
                DatasetAuthorization.dataset_id == dataset_id,
                DatasetAuthorization.status == State.APPROVED.value,
            )
            .order_by(DatasetAuthorization.updated_at.desc())
        )
    token_set = ""
    if held is not None and held.permit_token:
        token_set = (
            f"{permits.resource_name(permits.RESOURCE_DATASET, dataset_id)}/"
            f"{permits.LEVEL_READ}/{held.permit_token}"
        )
    async with ctx.partner_client() as client:
        return await client.call(
            "GET",
            contract.peer_address,
            path("dataset.query"),
            query={"contract_id": contract.contract_id or "", "dataset_id": dataset_id},
            target_node_id=node_id,
            token_set=token_set,
        )


# --------------------------------------------------------------------------- authorizations


def _view(session: Any, row: DatasetAuthorization) -> AuthorizationView:
    view = AuthorizationView.model_validate(row)
    view.has_permit = bool(row.permit_token)
    if row.permit_id:
        permit = session.get(Permit, row.permit_id)
        view.permit_uses = permit.uses_count if permit else None
    return view


@router.get("/authorizations")
def list_authorizations(
    ctx: Ctx, actor: Operator, status: str | None = None
) -> list[AuthorizationView]:
    with ctx.db.read() as session:
        return [_view(session, r) for r in authorizations.listing(session, status=status)]


@router.get("/authorizations/{ref}")
def show_authorization(ref: str, ctx: Ctx, actor: Operator) -> AuthorizationView:
    with ctx.db.read() as session:
        return _view(session, authorizations.get(session, ref))


@router.post("/authorizations", status_code=201)
def request_authorization(body: AuthorizationInput, ctx: Ctx, actor: Operator) -> AuthorizationView:
    with ctx.db.unit_of_work() as session:
        row = authorizations.request(
            session,
            ctx,
            peer_node_id=body.node_id,
            dataset_id=body.dataset_id,
            actor=actor,
            auth_scope=body.auth_scope,
            column_names=body.column_names,
            time_limit=body.time_limit,
            times_limit=body.times_limit,
        )
        view = _view(session, row)
    ctx.wake_outbox()
    return view


def _decide(
    ref: str, ctx: Ctx, actor: str, *, approve: bool, reason: str | None
) -> AuthorizationView:
    with ctx.db.unit_of_work() as session:
        row = authorizations.decide(
            session, ctx, ref=ref, approve=approve, actor=actor, reason=reason
        )
        view = _view(session, row)
    ctx.wake_outbox()
    return view


@router.post("/authorizations/{ref}/approve")
def approve(ref: str, body: ReasonInput, ctx: Ctx, actor: Operator) -> AuthorizationView:
    return _decide(ref, ctx, actor, approve=True, reason=body.reason)


@router.post("/authorizations/{ref}/reject")
def reject(ref: str, body: ReasonInput, ctx: Ctx, actor: Operator) -> AuthorizationView:
    return _decide(ref, ctx, actor, approve=False, reason=body.reason)


@router.post("/authorizations/{ref}/terminate")
def terminate(ref: str, body: ReasonInput, ctx: Ctx, actor: Operator) -> AuthorizationView:
    with ctx.db.unit_of_work() as session:
        row = authorizations.terminate(session, ctx, ref=ref, actor=actor, reason=body.reason)
        view = _view(session, row)
    ctx.wake_outbox()
    return view
