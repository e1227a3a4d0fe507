"""Shared admin API dependencies: the node context and the operator's bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from interconn.context import NodeContext
from interconn.errors import InterconnError
from interconn.node.identity import admin_token_valid


def get_ctx(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.ctx
    return ctx


def require_operator(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> str:
    """Return the actor name for the audit log, or refuse."""
    ctx = get_ctx(request)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InterconnError("send Authorization: Bearer <admin token>", code_name="UNAUTHORIZED")
    with ctx.db.read() as session:
        if not admin_token_valid(session, token.strip()):
            raise InterconnError("the admin token is not valid", code_name="UNAUTHORIZED")
    return "operator"


Ctx = Annotated[NodeContext, Depends(get_ctx)]
Operator = Annotated[str, Depends(require_operator)]
