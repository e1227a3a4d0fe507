from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from interconn.db.base import Base, UtcDateTime


class SeenNonce(Base):
    """(source node, nonce) pairs seen inside the replay window; durable and shared by replicas."""

    __tablename__ = "seen_nonces"

    source_node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
