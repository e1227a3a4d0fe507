"""The 33 endpoints of the seed specification, by name. Paths are data, used by routes,
the client, the outbox and the docs."""

from __future__ import annotations

from typing import Final

PREFIX: Final = "/v1/interconn"

ENDPOINTS: Final[dict[str, tuple[str, str]]] = {
    "contract.apply": ("POST", "/node/contract/apply"),
    "contract.confirm": ("POST", "/node/contract/confirm"),
    "contract.terminate": ("POST", "/node/contract/terminate"),
    "node.update": ("POST", "/node/update"),
    "contract.query": ("GET", "/node/contract/query"),
    "node.query": ("GET", "/node/query"),
    "node.health": ("GET", "/node/health"),
    "dataset.list": ("GET", "/dataset/pub/list"),
    "dataset.query": ("GET", "/dataset/pub/query"),
    "dataset.apply": ("POST", "/dataset/audit/apply"),
    "dataset.confirm": ("POST", "/dataset/audit/confirm"),
    "dataset.terminate": ("POST", "/dataset/audit/terminate"),
    "dataset.audit_query": ("GET", "/dataset/audit/query"),
    "project.apply": ("POST", "/project/audit/apply"),
    "project.confirm": ("POST", "/project/audit/confirm"),
    "project.terminate": ("POST", "/project/audit/terminate"),
    "project.audit_query": ("GET", "/project/audit/query"),
    "project.list": ("GET", "/project/list"),
    "project.query": ("GET", "/project/query"),
    "component.list": ("GET", "/component/list"),
    "component.query": ("GET", "/component/query"),
    "flow.apply": ("POST", "/flow/audit/apply"),
    "flow.confirm": ("POST", "/flow/audit/confirm"),
    "flow.terminate": ("POST", "/flow/audit/terminate"),
    "flow.audit_query": ("GET", "/flow/audit/query"),
    "job.apply": ("POST", "/job/audit/apply"),
    "job.confirm": ("POST", "/job/audit/confirm"),
    "job.terminate": ("POST", "/job/audit/terminate"),
    "job.audit_query": ("GET", "/job/audit/query"),
    "model.apply": ("POST", "/model/audit/apply"),
    "model.confirm": ("POST", "/model/audit/confirm"),
    "model.terminate": ("POST", "/model/audit/terminate"),
    "model.audit_query": ("GET", "/model/audit/query"),
}


def path(name: str) -> str:
    return PREFIX + ENDPOINTS[name][1]


def method(name: str) -> str:
    return ENDPOINTS[name][0]
