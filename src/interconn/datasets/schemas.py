"""Operator-facing (admin API) shapes for datasets and authorizations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ColumnInput(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    data_type: str = "varchar"
    distribution: str = "DISCRETE"
    biz_type: str | None = None
    description: str | None = None


class DatasetInput(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    dataset_id: str | None = None
    category: str = ""
    description: str = ""
    owner: str = ""
    source: str = "CSV"
    location: str = ""
    row_count: int = Field(0, ge=0)
    size_bytes: int = Field(0, ge=0)
    columns: list[ColumnInput] = Field(default_factory=list)
    join_columns: list[str] | None = None
    label_columns: list[str] | None = None
    public: bool = False
    expired_time: datetime | None = None


class DatasetEdit(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=256)
    category: str | None = None
    description: str | None = None
    owner: str | None = None
    public: bool | None = None
    expired_time: datetime | None = None
    join_columns: list[str] | None = None
    label_columns: list[str] | None = None


class DatasetView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    dataset_id: str
    name: str
    category: str
    description: str
    owner: str
    source: str
    location: str
    row_count: int
    size_bytes: int
    columns: list[dict[str, Any]]
    join_columns: list[str]
    label_columns: list[str]
    public: bool
    expired_time: datetime | None
    created_at: datetime
    modified_at: datetime


class AuthorizationInput(BaseModel):
    node_id: str = Field(description="The dataset holder's node id")
    dataset_id: str
    auth_scope: dict[str, list[str]] | None = Field(
        None, description='e.g. {"PROJECT": ["p1"], "COMPONENT": ["psi"]}'
    )
    column_names: list[str] | None = None
    time_limit: datetime | None = Field(None, description="Authorization ends at (UTC)")
    times_limit: int | None = Field(None, ge=1, description="Number of uses allowed")


class AuthorizationView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    audit_id: str
    role: str
    status: str
    peer_node_id: str
    contract_id: str
    dataset_id: str
    dataset_name: str | None
    auth_scope: dict[str, list[str]]
    column_names: list[str]
    time_limit: datetime | None
    times_limit: int | None
    reason: str | None
    has_permit: bool = False
    permit_uses: int | None = None
    created_at: datetime
    updated_at: datetime


class ReasonInput(BaseModel):
    reason: str | None = Field(None, max_length=2000)
