"""substring index on dataset names (the partner catalogue's `name` filter)

SQLite: an external-content FTS5 table with the trigram tokenizer, kept in step by triggers.
PostgreSQL: a pg_trgm GIN index, if the extension can be created here (it is a trusted
extension, so a database owner may create it); without it the filter scans, as before.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FTS = "datasets_name_idx"

_SQLITE_UP = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(name, content='datasets', content_rowid='id', "
    "tokenize='trigram')",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
    f"CREATE TRIGGER datasets_name_ai AFTER INSERT ON datasets BEGIN "
    f"INSERT INTO {FTS}(rowid, name) VALUES (new.id, new.name); END",
    f"CREATE TRIGGER datasets_name_ad AFTER DELETE ON datasets BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, name) VALUES ('delete', old.id, old.name); END",
    f"CREATE TRIGGER datasets_name_au AFTER UPDATE OF name ON datasets BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, name) VALUES ('delete', old.id, old.name); "
    f"INSERT INTO {FTS}(rowid, name) VALUES (new.id, new.name); END",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # not allowed here: the name filter keeps scanning
            return
        op.execute("CREATE INDEX ix_datasets_name_trgm ON datasets USING gin (name gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("datasets_name_ai", "datasets_name_ad", "datasets_name_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_datasets_name_trgm")
