"""Partner-facing node endpoints: node query and health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from interconn.api.gateway import by_contract, ctx_of, handle
from interconn.node import service
from interconn.protocol.endpoints import path
from interconn.security import auth
from interconn.wire.node import NodeHealthParams, NodeQueryParams

router = APIRouter()


@router.get(path("node.query"))
async def node_query(request: Request) -> JSONResponse:
    public = ctx_of(request).settings.public_node_info

    def authenticate(
        session: Session, headers: auth.AuthHeaders, parsed: Any, now: Any
    ) -> auth.Caller:
        return service.authenticate_node_query(session, headers, parsed, now, public=public)

    return await handle(
        request, NodeQueryParams, authenticate, service.node_info, endpoint="node.query"
    )


@router.get(path("node.health"))
async def node_health(request: Request) -> JSONResponse:
    return await handle(
        request, NodeHealthParams, by_contract, service.health, endpoint="node.health"
    )
