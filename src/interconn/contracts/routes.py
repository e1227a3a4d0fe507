"""Partner-facing contract endpoints (seed endpoints 3-5, 7) and node/update (6)."""

from __future__ import annotations

from interconn.api.gateway import partner_route
from interconn.contracts import service as s
from interconn.wire.node import (
    ContractApplyRequest,
    ContractConfirmRequest,
    ContractQueryParams,
    ContractTerminateRequest,
    NodeUpdateRequest,
)

# endpoint, wire model, who may call (and with which key), what it does
routes = [
    partner_route("contract.apply", ContractApplyRequest, s.authenticate_apply, s.receive_apply),
    partner_route(
        "contract.confirm", ContractConfirmRequest, s.authenticate_confirm, s.receive_confirm
    ),
    partner_route(
        "contract.terminate", ContractTerminateRequest, s.authenticate_named, s.receive_terminate
    ),
    partner_route("contract.query", ContractQueryParams, s.authenticate_named, s.query),
    partner_route("node.update", NodeUpdateRequest, s.authenticate_named, s.receive_node_update),
]
