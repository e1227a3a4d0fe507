"""Node and contract endpoints (spec sections 3-9)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from interconn.wire.common import (
    Decision,
    Id,
    NonEmpty,
    OptEpochMs,
    StatusField,
    WireModel,
    decode_json_object,
)


class NodeInfo(WireModel):
    """A node's self-description (section 8 response; node part of sections 3 and 6)."""

    node_id: Id
    inst_id: str | None = None
    name: str | None = None
    institution: str | None = None
    address: str | None = None
    system: str | None = None
    system_version: str | None = None
    auth_type: str | None = None
    auth_credential: str | None = None
    description: str | None = None
    expired_time: OptEpochMs = None


class ContractApplyRequest(NodeInfo):
    """Section 3 request: the applicant's own node info, flat (v1.0 and v1.1+ alike).

    ``address`` (where the partner sends its confirm callback) and the credential (to check
    the applicant's signature) are required here even though v1.0 marks every field optional.
    """

    address: NonEmpty
    auth_type: NonEmpty
    auth_credential: NonEmpty


class ContractApplyResponse(WireModel):
    """Section 3 response. The node fields (partner's own info) are our extension."""

    contract_id: Id
    status: StatusField | None = None
    auth_type: str | None = None
    auth_credential: str | None = None
    expired_time: OptEpochMs = None
    node_id: str | None = None
    inst_id: str | None = None
    name: str | None = None
    institution: str | None = None
    system: str | None = None
    system_version: str | None = None


class ContractConfirmRequest(WireModel):
    """Section 4: the partner approves (with its credential and the expiry) or rejects."""

    contract_id: Id
    status: Decision
    auth_type: str | None = None
    auth_credential: str | None = None
    expired_time: OptEpochMs = None

    @model_validator(mode="after")
    def _approval_complete(self) -> ContractConfirmRequest:
        if self.status == "APPROVED":
            missing = [
                name
                for name in ("auth_type", "auth_credential", "expired_time")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"APPROVED requires {', '.join(missing)}")
        return self


class ContractTerminateRequest(WireModel):
    """Section 5: only ``contract_id`` matters; the other v1.0 fields are ignored."""

    contract_id: Id


_UPDATE_KEYS = frozenset({"contract_id", "node_info"})


class NodeUpdateRequest(WireModel):
    """Section 6: v1.0 nests the node in ``node_info``; v1.1+ sends it flat. Both read as
    ``contract_id`` + ``node_info``; :meth:`to_v12` gives the flat form to send."""

    contract_id: Id
    node_info: NodeInfo

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        nested = data.get("node_info")
        if nested is None or nested == "":
            flat = {k: v for k, v in data.items() if k not in _UPDATE_KEYS}
            return {"contract_id": data.get("contract_id"), "node_info": flat}
        if isinstance(nested, str):
            return {**data, "node_info": decode_json_object(nested)}
        return data

    def to_v12(self) -> dict[str, Any]:
        """The flat v1.1+/v1.2 body."""
        return {"contract_id": self.contract_id, **self.node_info.wire_dict()}


class ContractQueryParams(WireModel):
    """Section 7 query (``contract_id``, ``contractId`` or ``contract_Id``)."""

    contract_id: Id


class ContractQueryResponse(WireModel):
    """Section 7 response."""

    contract_id: Id
    status: StatusField
    auth_type: str | None = None
    auth_credential: str | None = None
    expired_time: OptEpochMs = None


class NodeQueryParams(WireModel):
    """Section 8 query; the response is :class:`NodeInfo`."""

    node_id: str | None = None


class NodeHealthParams(WireModel):
    """Section 9 query."""

    flag: str | None = None


class NodeHealthResponse(WireModel):
    """Section 9 response; ``status`` is free text (e.g. ``UP``)."""

    status: str = Field(min_length=1)


__all__ = [
    "ContractApplyRequest",
    "ContractApplyResponse",
    "ContractConfirmRequest",
    "ContractQueryParams",
    "ContractQueryResponse",
    "ContractTerminateRequest",
    "NodeHealthParams",
    "NodeHealthResponse",
    "NodeInfo",
    "NodeQueryParams",
    "NodeUpdateRequest",
]
