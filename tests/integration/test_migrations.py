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

    def outside_models(obj: object, name: str | None, type_: str, *_: object) -> bool:
        # Search indexes the models do not describe (migration 0005): FTS5 tables on SQLite,
        # a pg_trgm index on PostgreSQL.
        return not (name or "").startswith(("datasets_name_idx", "ix_datasets_name_trgm"))

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": outside_models}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_audit_log_refuses_update_and_delete(tmp_path: Path) -> None:
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DBAPIError

    from interconn.auditlog import service as audit
    from interconn.auditlog.models import AuditEntry
    from interconn.db.uow import Database

    engine = make_engine(database_url(tmp_path, "auditlog"))
    migrate.upgrade(engine)
    db = Database(engine)
    with db.unit_of_work() as session:
        audit.record(session, actor="t", action="x", kind="k", record_id="r")
    for stmt in (update(AuditEntry).values(actor="forged"), delete(AuditEntry)):
        try:
            with db.unit_of_work() as session:
                session.execute(stmt)
        except DBAPIError as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{stmt} was allowed")
    with db.read() as session:
        assert [e.actor for e in audit.entries(session)] == ["t"]
    engine.dispose()
