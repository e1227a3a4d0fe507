"""Dataset endpoints (spec sections 10-15)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from interconn.wire.common import (
    AuditConfirmBase,
    AuditIdParams,
    AuditStatusResponse,
    AuditTerminateBase,
    Id,
    Int32,
    Int64,
    OptEpochMs,
    Page,
    WireModel,
    decode_json_object,
)


class Distribution(StrEnum):
    DISCRETE = "DISCRETE"
    CONTINUOUS = "CONTINUOUS"


class ScopeType(StrEnum):
    NODE = "NODE"
    PROJECT = "PROJECT"
    COMPONENT = "COMPONENT"


def _upper_keys(value: Any) -> Any:
    value = decode_json_object(value)
    if isinstance(value, dict):
        return {k.strip().upper() if isinstance(k, str) else k: v for k, v in value.items()}
    return value


AuthScope = Annotated[dict[ScopeType, list[str]], BeforeValidator(_upper_keys)]
"""``{"PROJECT": ["p1"], "COMPONENT": ["psi"]}``; also read from a JSON string."""


class ColumnMeta(WireModel):
    name: Id
    data_type: str | None = None
    distribution: Annotated[Distribution | str | None, Field(union_mode="left_to_right")] = None
    biz_type: str | None = None
    description: str | None = None


# --------------------------------------------------------------------------- 10, 11


class DatasetListParams(Page):
    """Section 10 query."""

    contract_id: str | None = None
    dataset_id: str | None = None
    name: str | None = None


class DatasetSummary(WireModel):
    """Section 10 record (plus the optional v1.2 ``column_metas`` and ``join_columns``)."""

    dataset_id: Id
    name: str | None = None
    category: str | None = None
    count: int | None = None
    description: str | None = None
    owner: str | None = None
    column_metas: list[ColumnMeta] | None = None
    join_columns: list[str] | None = None


class DatasetQueryParams(WireModel):
    """Section 11 query."""

    contract_id: str | None = None
    dataset_id: Id


IntOrStr = Annotated[int | str, Field(union_mode="left_to_right")]


class DatasetRecord(WireModel):
    """The dataset object of section 16 (``datasets`` of a project apply)."""

    dataset_id: Id
    name: str | None = None
    description: str | None = None
    avatar_type: str | None = None
    source: str | None = None
    id: IntOrStr | None = None
    creator: IntOrStr | None = None
    row_cnt: int | None = None
    size: int | None = None
    size_str: str | None = None
    create_time: OptEpochMs = None
    modified_time: OptEpochMs = None
    expired_time: OptEpochMs = None


class DatasetDetail(DatasetRecord, DatasetSummary):
    """Section 11 response plus v1.2 ``join_columns``/``label_columns``;
    ``column_metas`` is required here."""

    column_metas: list[ColumnMeta]
    label_columns: list[str] | None = None


# --------------------------------------------------------------------------- 12-15


class DatasetAuthTerms(WireModel):
    """Terms of a dataset authorization: v1.1+ ``auth_scope``/``time_limit``/``times_limit``
    and the v1.0 fields, all optional."""

    auth_scope: AuthScope | None = None
    time_limit: Int64 | None = None
    times_limit: Int32 | None = None
    authority_list: list[int] | None = None
    column_names: list[str] | None = None
    differential_budget: float | None = None
    max_task_usage: int | None = None
    prevent_differential_privacy_attack: bool | None = None
    scope_id: str | None = None
    expired_time: OptEpochMs = None


class DatasetAuditApplyRequest(DatasetAuthTerms):
    """Section 12."""

    audit_id: Id
    contract_id: Id
    dataset_id: Id


class DatasetAuditConfirmRequest(AuditConfirmBase, DatasetAuthTerms):
    """Section 13: decision and permit; the apply fields are read but optional."""

    contract_id: str | None = None
    dataset_id: str | None = None


class DatasetAuditTerminateRequest(AuditTerminateBase):
    """Section 14."""


class DatasetAuditQueryParams(AuditIdParams):
    """Section 15 query (``audit_id`` or ``auditId``)."""


class DatasetAuditQueryResponse(AuditStatusResponse, DatasetAuthTerms):
    """Section 15 response: status, the granted terms and (when approved) the permit."""


__all__ = [
    "AuthScope",
    "ColumnMeta",
    "DatasetAuditApplyRequest",
    "DatasetAuditConfirmRequest",
    "DatasetAuditQueryParams",
    "DatasetAuditQueryResponse",
    "DatasetAuditTerminateRequest",
    "DatasetAuthTerms",
    "DatasetDetail",
    "DatasetListParams",
    "DatasetQueryParams",
    "DatasetRecord",
    "DatasetSummary",
    "Distribution",
    "ScopeType",
]
