"""Partner-facing dataset endpoints (seed endpoints 10-15)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from interconn.api.gateway import by_contract, handle
from interconn.datasets import authorizations, catalogue
from interconn.protocol.endpoints import path
from interconn.wire.dataset import (
    DatasetAuditApplyRequest,
    DatasetAuditConfirmRequest,
    DatasetAuditQueryParams,
    DatasetAuditTerminateRequest,
    DatasetListParams,
    DatasetQueryParams,
)

router = APIRouter()


@router.get(path("dataset.list"))
async def dataset_list(request: Request) -> JSONResponse:
    return await handle(
        request, DatasetListParams, by_contract, catalogue.list_public, endpoint="dataset.list"
    )


@router.get(path("dataset.query"))
async def dataset_query(request: Request) -> JSONResponse:
    return await handle(
        request, DatasetQueryParams, by_contract, catalogue.query_detail, endpoint="dataset.query"
    )


@router.post(path("dataset.apply"))
async def dataset_apply(request: Request) -> JSONResponse:
    return await handle(
        request,
        DatasetAuditApplyRequest,
        by_contract,
        authorizations.receive_apply,
        endpoint="dataset.apply",
    )


@router.post(path("dataset.confirm"))
async def dataset_confirm(request: Request) -> JSONResponse:
    return await handle(
        request,
        DatasetAuditConfirmRequest,
        by_contract,
        authorizations.receive_confirm,
        endpoint="dataset.confirm",
    )


@router.post(path("dataset.terminate"))
async def dataset_terminate(request: Request) -> JSONResponse:
    return await handle(
        request,
        DatasetAuditTerminateRequest,
        by_contract,
        authorizations.receive_terminate,
        endpoint="dataset.terminate",
    )


@router.get(path("dataset.audit_query"))
async def dataset_audit_query(request: Request) -> JSONResponse:
    return await handle(
        request,
        DatasetAuditQueryParams,
        by_contract,
        authorizations.query,
        endpoint="dataset.audit_query",
    )
