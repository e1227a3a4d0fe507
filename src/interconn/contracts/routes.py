"""Partner-facing contract endpoints (seed endpoints 3-5, 7) and node/update (6)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from interconn.api.gateway import handle
from interconn.contracts import service
from interconn.protocol.endpoints import path
from interconn.wire.node import (
    ContractApplyRequest,
    ContractConfirmRequest,
    ContractQueryParams,
    ContractTerminateRequest,
    NodeUpdateRequest,
)

router = APIRouter()


@router.post(path("contract.apply"))
async def contract_apply(request: Request) -> JSONResponse:
    return await handle(
        request,
        ContractApplyRequest,
        service.authenticate_apply,
        service.receive_apply,
        endpoint="contract.apply",
    )


@router.post(path("contract.confirm"))
async def contract_confirm(request: Request) -> JSONResponse:
    return await handle(
        request,
        ContractConfirmRequest,
        service.authenticate_confirm,
        service.receive_confirm,
        endpoint="contract.confirm",
    )


@router.post(path("contract.terminate"))
async def contract_terminate(request: Request) -> JSONResponse:
    return await handle(
        request,
        ContractTerminateRequest,
        service.authenticate_named,
        service.receive_terminate,
        endpoint="contract.terminate",
    )


@router.get(path("contract.query"))
async def contract_query(request: Request) -> JSONResponse:
    return await handle(
        request,
        ContractQueryParams,
        service.authenticate_named,
        service.query,
        endpoint="contract.query",
    )


@router.post(path("node.update"))
async def node_update(request: Request) -> JSONResponse:
    return await handle(
        request,
        NodeUpdateRequest,
        service.authenticate_named,
        service.receive_node_update,
        endpoint="node.update",
    )
