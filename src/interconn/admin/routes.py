"""Operator endpoints that are not owned by one domain: node, partners, inbox, audit,
outbox, status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from interconn.admin.deps import Ctx, Operator
from interconn.auditlog import service as audit
from interconn.contracts import service as contracts
from interconn.contracts.models import Contract
from interconn.contracts.schemas import ContractView
from interconn.datasets.models import DatasetAuthorization
from interconn.errors import NotFound, OperatorError
from interconn.node import identity
from interconn.outbox import service as outbox
from interconn.outbox.reconciler import Reconciler
from interconn.protocol.endpoints import path
from interconn.protocol.lifecycle import Role, State

router = APIRouter(prefix="/admin/v1")


class NodeEdit(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=256)
    institution: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = Field(None, max_length=4000)


class InboxItem(BaseModel):
    kind: str
    id: str
    ref: str | None
    from_node_id: str | None
    from_name: str | None
    summary: str
    created_at: datetime


class AuditView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    kind: str
    record_id: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]
    trace_id: str | None


class OutboxView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    message: str
    record_id: str
    peer_node_id: str | None
    address: str
    path: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    last_http_status: int | None
    overdue_flagged: bool


@router.get("/node")
def show_node(ctx: Ctx, actor: Operator) -> dict[str, Any]:
    info: dict[str, Any] = ctx.node.info(system_version=ctx.version)
    info["key_fingerprint"] = ctx.node.key.public_credential().fingerprint
    info["admin_address"] = f"http://{ctx.settings.admin_host}:{ctx.settings.admin_port}"
    return info


@router.patch("/node")
def edit_node(body: NodeEdit, ctx: Ctx, actor: Operator) -> dict[str, Any]:
    """Change our node info and tell every partner (node/update, through the outbox)."""
    with ctx.db.unit_of_work() as session:
        identity.update_identity(
            session, name=body.name, institution=body.institution, description=body.description
        )
    ctx.reload_identity()
    with ctx.db.unit_of_work() as session:
        pushed = contracts.push_node_update(session, ctx, actor=actor)
    ctx.wake_outbox()
    return {"node": ctx.node.info(system_version=ctx.version), "partners_notified": pushed}


@router.get("/inbox")
def inbox(ctx: Ctx, actor: Operator) -> list[InboxItem]:
    """Requests from partners waiting for this node's decision, oldest first."""
    items: list[InboxItem] = []
    with ctx.db.read() as session:
        for c in session.scalars(
            select(Contract).where(
                Contract.role == Role.PARTNER.value, Contract.status == State.APPLIED.value
            )
        ):
            items.append(
                InboxItem(
                    kind="contract",
                    id=c.id,
                    ref=c.contract_id,
                    from_node_id=c.peer_node_id,
                    from_name=c.peer_name,
                    summary=f"contract with {c.peer_name or c.peer_node_id} "
                    f"({c.peer_institution or '-'}) at {c.peer_address}",
                    created_at=c.created_at,
                )
            )
        for a in session.scalars(
            select(DatasetAuthorization).where(
                DatasetAuthorization.role == Role.PARTNER.value,
                DatasetAuthorization.status == State.APPLIED.value,
            )
        ):
            limits = []
            if a.column_names:
                limits.append(f"columns {','.join(a.column_names)}")
            if a.auth_scope:
                limits.append(
                    "scope " + "; ".join(f"{k}={','.join(v)}" for k, v in a.auth_scope.items())
                )
            if a.time_limit:
                limits.append(f"until {a.time_limit.isoformat()}")
            if a.times_limit:
                limits.append(f"{a.times_limit} use(s)")
            items.append(
                InboxItem(
                    kind="dataset",
                    id=a.id,
                    ref=a.audit_id,
                    from_node_id=a.peer_node_id,
                    from_name=None,
                    summary=f"use of dataset {a.dataset_id} ({a.dataset_name or '-'})"
                    + (f": {'; '.join(limits)}" if limits else ""),
                    created_at=a.created_at,
                )
            )
    return sorted(items, key=lambda i: i.created_at)


def _partner(ctx: Ctx, node_id: str) -> Contract:
    with ctx.db.read() as session:
        row = session.scalar(
            select(Contract)
            .where(Contract.peer_node_id == node_id)
            .order_by(Contract.created_at.desc())
        )
    if row is None:
        raise NotFound(f"no contract with node {node_id!r}")
    return row


@router.get("/partners")
def partners(ctx: Ctx, actor: Operator) -> list[ContractView]:
    with ctx.db.read() as session:
        return [ContractView.of(c) for c in contracts.listing(session)]


async def _ask(
    ctx: Ctx, node_id: str, endpoint: str, query: dict[str, str] | None = None
) -> dict[str, Any]:
    row = _partner(ctx, node_id)
    async with ctx.partner_client() as client:
        return await client.call(
            "GET", row.peer_address, path(endpoint), query=query, target_node_id=node_id
        )


@router.get("/partners/{node_id}/info")
async def partner_info(node_id: str, ctx: Ctx, actor: Operator) -> dict[str, Any]:
    """Ask the partner for its node info (signed node/query)."""
    return await _ask(ctx, node_id, "node.query", {"node_id": node_id})


@router.get("/partners/{node_id}/health")
async def partner_health(node_id: str, ctx: Ctx, actor: Operator) -> dict[str, Any]:
    """Probe the partner (signed node/health)."""
    return await _ask(ctx, node_id, "node.health")


@router.get("/audit")
def audit_log(
    ctx: Ctx, actor: Operator, record_id: str | None = None, limit: int = 100
) -> list[AuditView]:
    if not 1 <= limit <= 10000:
        raise OperatorError("limit must be between 1 and 10000")
    with ctx.db.read() as session:
        return [
            AuditView.model_validate(e)
            for e in audit.entries(session, record_id=record_id, limit=limit)
        ]


@router.get("/outbox")
def outbox_list(
    ctx: Ctx, actor: Operator, status: str | None = None, limit: int = 100
) -> list[OutboxView]:
    with ctx.db.read() as session:
        return [
            OutboxView.model_validate(m)
            for m in outbox.listing(session, status=status, limit=limit)
        ]


def _outbox_action(ctx: Ctx, actor: str, message_id: int, action: str) -> OutboxView:
    change = outbox.retry if action == "retry" else outbox.cancel
    with ctx.db.unit_of_work() as session:
        row = change(session, message_id=message_id, now=ctx.clock())
        audit.record(
            session,
            actor=actor,
            action=f"outbox.{action}",
            kind=row.kind,
            record_id=row.record_id,
            detail={"message_id": message_id},
        )
        view = OutboxView.model_validate(row)
    ctx.wake_outbox()
    return view


@router.post("/outbox/{message_id}/retry")
def outbox_retry(message_id: int, ctx: Ctx, actor: Operator) -> OutboxView:
    """Send a FAILED or CANCELLED message again (after fixing the cause)."""
    return _outbox_action(ctx, actor, message_id, "retry")


@router.post("/outbox/{message_id}/cancel")
def outbox_cancel(message_id: int, ctx: Ctx, actor: Operator) -> OutboxView:
    """Give up on a pending message."""
    return _outbox_action(ctx, actor, message_id, "cancel")


@router.post("/reconcile")
async def reconcile_now(ctx: Ctx, actor: Operator) -> dict[str, int]:
    return {"applied": await Reconciler(ctx).run_once()}


@router.get("/status")
def status(ctx: Ctx, actor: Operator) -> dict[str, Any]:
    with ctx.db.read() as session:
        by_status = dict(
            session.execute(select(Contract.status, func.count()).group_by(Contract.status)).all()
        )
        count, oldest = outbox.backlog(session)
        flagged = len(
            [m for m in outbox.listing(session, status="PENDING", limit=10000) if m.overdue_flagged]
        )
        failed = len(outbox.listing(session, status="FAILED", limit=10000))
    return {
        "node_id": ctx.node.node_id,
        "contracts": {k: int(v) for k, v in by_status.items()},
        "outbox": {
            "pending": count,
            "oldest_pending_age_s": (ctx.clock() - oldest).total_seconds() if oldest else 0.0,
            "overdue": flagged,
            "failed": failed,
        },
    }
