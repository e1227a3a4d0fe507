"""Node info and health as partners see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from interconn.context import NodeContext
from interconn.errors import AccessDenied, AuthError, NotFound
from interconn.security import auth
from interconn.wire.node import NodeHealthParams, NodeQueryParams


def authenticate_node_query(
    session: Session,
    ctx: NodeContext,
    headers: auth.AuthHeaders,
    parsed: object,
    now: datetime,
) -> auth.Caller:
    """A contracted caller signs as usual; others are served only if the operator allows it."""
    try:
        return auth.contract_caller(session, headers, now)
    except (AuthError, AccessDenied):
        if ctx.settings.public_node_info:
            return auth.Caller(headers.source_node_id, None, anonymous=True)
        raise


def node_info(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: NodeQueryParams
) -> dict[str, Any]:
    if req.node_id and req.node_id != ctx.node.node_id:
        raise NotFound(f"this node is {ctx.node.node_id!r}, not {req.node_id!r}")
    return ctx.node.info(system_version=ctx.version)


def health(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: NodeHealthParams
) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    return {"status": "OK"}
