"""Project endpoints (spec sections 16-21)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from interconn.wire.common import (
    AuditConfirmBase,
    AuditIdParams,
    AuditStatusResponse,
    AuditTerminateBase,
    Id,
    OptEpochMs,
    OptPermit,
    Page,
    WireModel,
)
from interconn.wire.dataset import DatasetRecord


class ProjectType(StrEnum):
    HETERO_FL = "HETERO_FL"
    MPC = "MPC"
    HOMO_FL = "HOMO_FL"
    PSI = "PSI"
    ANONYM_FL = "ANONYM_FL"


ProjectTypeField = Annotated[ProjectType | str, Field(union_mode="left_to_right")]
"""A :class:`ProjectType`, or the unknown string another vendor sent."""


class ProjectAuditApplyRequest(WireModel):
    """Section 16. ``description`` and ``nodes`` (participant node ids) are extensions that
    let the partner answer section 21 from what it was sent."""

    audit_id: Id
    project_id: Id
    contract_id: str | None = None
    name: str | None = None
    type: ProjectTypeField | None = None
    description: str | None = None
    datasets: list[DatasetRecord] | None = None
    nodes: list[str] | None = None


class ProjectAuditConfirmRequest(AuditConfirmBase):
    """Section 17."""


class ProjectAuditTerminateRequest(AuditTerminateBase):
    """Section 18; the v1.0 ``resource_permit`` (the permit to revoke) and ``status`` are read."""

    resource_permit: OptPermit = None
    status: str | None = None


class ProjectAuditQueryParams(AuditIdParams):
    """Section 19 query (``auditId`` or ``audit_id``)."""


class ProjectAuditQueryResponse(AuditStatusResponse):
    """Section 19 response."""


class ProjectListParams(Page):
    """Section 20 query."""

    contract_id: str | None = None


class ProjectSummary(WireModel):
    """Section 20 record."""

    project_id: Id
    name: str | None = None
    type: ProjectTypeField | None = None
    description: str | None = None
    contract_ids: list[str] | None = None
    join_time: OptEpochMs = None


class ProjectQueryParams(WireModel):
    """Section 21 query."""

    contract_id: str | None = None
    project_id: Id


class ProjectDetail(ProjectSummary):
    """Section 21 response plus v1.1 ``nodes`` and ``datasets`` ``{node_id: [dataset_id]}``."""

    nodes: list[str] | None = None
    datasets: dict[str, list[str]] | None = None


__all__ = [
    "ProjectAuditApplyRequest",
    "ProjectAuditConfirmRequest",
    "ProjectAuditQueryParams",
    "ProjectAuditQueryResponse",
    "ProjectAuditTerminateRequest",
    "ProjectDetail",
    "ProjectListParams",
    "ProjectQueryParams",
    "ProjectSummary",
    "ProjectType",
    "ProjectTypeField",
]
