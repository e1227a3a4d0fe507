"""Public component endpoints (spec sections 22-23). ``code`` + ``version`` identify a
component."""

from __future__ import annotations

from typing import Any

from interconn.wire.common import Id, OptJsonObject, Page, WireModel


class ComponentListParams(Page):
    """Section 22 query (``contractId`` is read as ``contract_id``); ``page_size`` <= 1000."""

    category: str | None = None
    developer: str | None = None
    engine: str | None = None
    code: str | None = None
    version: str | None = None
    contract_id: str | None = None


class ComponentSummary(WireModel):
    """Section 22 record. ``status``: ENABLED, DISABLED or UNKNOWN."""

    code: Id
    version: Id
    name: str | None = None
    category: str | None = None
    engine: str | None = None
    status: str | None = None


class ComponentQueryParams(WireModel):
    """Section 23 query; without ``version`` the partner picks (e.g. the latest)."""

    code: Id
    version: str | None = None
    contract_id: str | None = None


class ComponentDetail(ComponentSummary):
    """Section 23 response."""

    description: str | None = None
    developer: str | None = None
    inputs: list[dict[str, Any]] | None = None
    outputs: list[dict[str, Any]] | None = None
    extension: OptJsonObject = None


__all__ = [
    "ComponentDetail",
    "ComponentListParams",
    "ComponentQueryParams",
    "ComponentSummary",
]
