"""Partner-facing node endpoints: node query (8) and health (9)."""

from __future__ import annotations

from interconn.api.gateway import by_contract, partner_route
from interconn.node import service
from interconn.wire.node import NodeHealthParams, NodeQueryParams

routes = [
    partner_route(
        "node.query", NodeQueryParams, service.authenticate_node_query, service.node_info
    ),
    partner_route("node.health", NodeHealthParams, by_contract, service.health),
]
