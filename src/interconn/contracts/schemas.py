"""Operator-facing (admin API) shapes for contracts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from interconn.contracts.models import Contract
from interconn.security.signing import load_credential


class ContractView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contract_id: str | None
    role: str
    status: str
    peer_node_id: str | None
    peer_name: str | None
    peer_institution: str | None
    peer_address: str
    peer_auth_type: str | None
    peer_key_fingerprint: str | None = None
    expired_time: datetime | None
    reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Contract) -> ContractView:
        view = cls.model_validate(row)
        if row.peer_auth_type and row.peer_credential:
            view.peer_key_fingerprint = load_credential(
                row.peer_auth_type, row.peer_credential
            ).fingerprint
        return view


class ApplyInput(BaseModel):
    address: str = Field(description="The partner's partner-facing URL, e.g. http://10.0.0.2:8600")
    node_id: str | None = Field(None, description="The partner's node id, if known")
    expired_time: datetime | None = Field(None, description="Requested contract expiry (UTC)")


class DecisionInput(BaseModel):
    expired_time: datetime | None = None
    reason: str | None = Field(None, max_length=2000)


class ReasonInput(BaseModel):
    reason: str | None = Field(None, max_length=2000)
