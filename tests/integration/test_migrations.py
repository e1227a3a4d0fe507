"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from interconn.db import migrate
from interconn.db.base import make_engine
from interconn.db.registry import Base
from interconn.testing import database_url


def test_upgrade_matches_models_and_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path, "migrations"))
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # a second run is a no-op
    assert migrate.current(engine) is not None
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == []
