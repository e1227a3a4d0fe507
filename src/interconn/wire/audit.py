"""Flow, job and model approval endpoints (spec sections 24-35).

``dag`` and ``config`` are JSON objects that v1.0 peers send as strings (NOTES section 5);
job and model confirm type ``resource_permit`` as a string, read as a permit token.
"""

from __future__ import annotations

from interconn.wire.common import (
    AuditConfirmBase,
    AuditIdParams,
    AuditStatusResponse,
    AuditTerminateBase,
    Id,
    JsonObject,
    OptJsonObject,
    OptPermit,
    WireModel,
)


class RunTerminateBase(AuditTerminateBase):
    """Terminate body of flows and jobs: v1.0 ``job_id``, ``remote_node``, ``state`` are read."""

    job_id: str | None = None
    remote_node: str | None = None
    state: str | None = None


# --------------------------------------------------------------------------- flow 24-27


class FlowAuditApplyRequest(WireModel):
    """Section 24."""

    audit_id: Id
    flow_id: str | None = None
    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    dag: JsonObject
    config: OptJsonObject = None
    init_state: str | None = None
    initiator: str | None = None


class FlowAuditConfirmRequest(AuditConfirmBase):
    """Section 25."""

    approver: str | None = None
    audit_state: str | None = None
    flow_id: str | None = None


class FlowAuditTerminateRequest(RunTerminateBase):
    """Section 26."""


class FlowAuditQueryParams(AuditIdParams):
    """Section 27 query (``auditId`` or ``audit_id``)."""


class FlowAuditQueryResponse(AuditStatusResponse):
    """Section 27 response."""


# --------------------------------------------------------------------------- job 28-31


class JobAuditApplyRequest(WireModel):
    """Section 28. ``config`` says which party feeds which dataset, so it is required."""

    audit_id: Id
    job_id: Id
    flow_id: str | None = None
    project_id: str | None = None
    dag: OptJsonObject = None
    config: JsonObject
    resource_info: OptJsonObject = None
    init_state: str | None = None
    initiator: str | None = None


class JobAuditConfirmRequest(AuditConfirmBase):
    """Section 29."""

    approver: str | None = None
    audit_state: str | None = None
    job_id: str | None = None


class JobAuditTerminateRequest(RunTerminateBase):
    """Section 30."""


class JobAuditQueryParams(AuditIdParams):
    """Section 31 query (v1.0 only; still served)."""


class JobAuditQueryResponse(AuditStatusResponse):
    """Section 31 response (v1.0 lists no fields; we answer like the other queries)."""


# --------------------------------------------------------------------------- model 32-35


class ModelAuditApplyRequest(WireModel):
    """Section 32."""

    audit_id: Id
    model_id: Id
    apply_project_id: str | None = None
    digest: str | None = None
    task_id: str | None = None


class ModelAuditConfirmRequest(AuditConfirmBase):
    """Section 33."""


class ModelAuditTerminateRequest(AuditTerminateBase):
    """Section 34; the v1.0 ``resource_permit`` and ``status`` are read."""

    resource_permit: OptPermit = None
    status: str | None = None


class ModelAuditQueryParams(AuditIdParams):
    """Section 35 query."""


class ModelAuditQueryResponse(AuditStatusResponse):
    """Section 35 response."""


__all__ = [
    "FlowAuditApplyRequest",
    "FlowAuditConfirmRequest",
    "FlowAuditQueryParams",
    "FlowAuditQueryResponse",
    "FlowAuditTerminateRequest",
    "JobAuditApplyRequest",
    "JobAuditConfirmRequest",
    "JobAuditQueryParams",
    "JobAuditQueryResponse",
    "JobAuditTerminateRequest",
    "ModelAuditApplyRequest",
    "ModelAuditConfirmRequest",
    "ModelAuditQueryParams",
    "ModelAuditQueryResponse",
    "ModelAuditTerminateRequest",
    "RunTerminateBase",
]
