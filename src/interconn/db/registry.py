"""Imports every model so ``Base.metadata`` is complete (for Alembic and tests)."""

from interconn.auditlog.models import AuditEntry
from interconn.contracts.models import Contract
from interconn.datasets.models import CatalogueStats, Dataset, DatasetAuthorization, Permit
from interconn.db.base import Base
from interconn.node.models import AdminToken, NodeIdentity
from interconn.outbox.models import OutboxMessage
from interconn.security.models import SeenNonce

__all__ = [
    "AdminToken",
    "AuditEntry",
    "Base",
    "CatalogueStats",
    "Contract",
    "Dataset",
    "DatasetAuthorization",
    "NodeIdentity",
    "OutboxMessage",
    "Permit",
    "SeenNonce",
]
