from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from interconn.db.base import Base, UtcDateTime, utcnow


class Dataset(Base):
    """Metadata of one dataset held by this node. The data itself never enters the node."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(256), default="")
    source: Mapped[str] = mapped_column(String(32), default="CSV")
    location: Mapped[str] = mapped_column(Text, default="")  # never shown to partners
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    join_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    label_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    expired_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    # Public listing pages walk this index in id order; it never touches private rows.
    __table_args__ = (Index("ix_datasets_public_id", "public", "id"),)


class CatalogueStats(Base):
    """Counts kept in step with the catalogue, so `total` never needs a full COUNT(*)."""

    __tablename__ = "catalogue_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_count: Mapped[int] = mapped_column(BigInteger, default=0)


class DatasetAuthorization(Base):
    """One dataset authorization (an approval of kind DATASET), on either side.

    On the holder's side (role PARTNER) ``permit_id`` names the permit issued on approval;
    on the requester's side (role INITIATOR) ``permit_token`` is the token received.
    """

    __tablename__ = "dataset_authorizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    audit_id: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    peer_node_id: Mapped[str] = mapped_column(String(64), index=True)
    peer_address: Mapped[str] = mapped_column(String(512))
    contract_id: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[str] = mapped_column(String(128), index=True)
    dataset_name: Mapped[str | None] = mapped_column(String(256))
    auth_scope: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    column_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    time_limit: Mapped[datetime | None] = mapped_column(UtcDateTime)
    times_limit: Mapped[int | None] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # v1.0 extras, as sent
    reason: Mapped[str | None] = mapped_column(Text)
    permit_id: Mapped[str | None] = mapped_column(String(64))
    permit_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    # audit_id is chosen by the initiator, so it is unique per initiating node only.
    __table_args__ = (UniqueConstraint("peer_node_id", "role", "audit_id"),)


class Permit(Base):
    """A permit this node issued as a resource holder; the token's signature binds it."""

    __tablename__ = "permits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    authorization_id: Mapped[str] = mapped_column(String(32), index=True)
    requester_node_id: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    uses_allowed: Mapped[int | None] = mapped_column(Integer)
    uses_count: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
