"""at most one pending application per applicant node

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_WHERE = sa.text("role = 'PARTNER' AND status = 'APPLIED'")


def upgrade() -> None:
    op.create_index(
        "uq_contracts_one_pending_per_peer",
        "contracts",
        ["peer_node_id"],
        unique=True,
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_contracts_one_pending_per_peer", table_name="contracts")
