"""Partner-facing dataset endpoints (seed endpoints 10-15)."""

from __future__ import annotations

from interconn.api.gateway import by_contract, partner_route
from interconn.datasets import authorizations as a
from interconn.datasets import catalogue as c
from interconn.wire.dataset import (
    DatasetAuditApplyRequest,
    DatasetAuditConfirmRequest,
    DatasetAuditQueryParams,
    DatasetAuditTerminateRequest,
    DatasetListParams,
    DatasetQueryParams,
)

# Every dataset call needs the caller's active contract; permits are checked by the service.
routes = [
    partner_route("dataset.list", DatasetListParams, by_contract, c.list_public),
    partner_route("dataset.query", DatasetQueryParams, by_contract, c.query_detail),
    partner_route("dataset.apply", DatasetAuditApplyRequest, by_contract, a.receive_apply),
    partner_route("dataset.confirm", DatasetAuditConfirmRequest, by_contract, a.receive_confirm),
    partner_route(
        "dataset.terminate", DatasetAuditTerminateRequest, by_contract, a.receive_terminate
    ),
    partner_route("dataset.audit_query", DatasetAuditQueryParams, by_contract, a.query),
]
