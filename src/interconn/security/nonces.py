"""Durable record of seen nonces, written before a request is acted on.

One short autocommit statement on its own connection: ``INSERT ... ON CONFLICT DO
NOTHING``; a pair already present is a replay. Recording the nonce before the service runs
(rather than inside its unit of work) means a request refused for a business reason still
spends its nonce, and keeps the per-request cost to one tiny write, which matters because
every signed call pays it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from interconn.security.models import SeenNonce

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":1"}


class NonceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self._keep = dialect.name == "sqlite"
        self._local = threading.local()
        mark = _PLACEHOLDER.get(dialect.paramstyle)
        if mark is None or dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"no nonce store for {dialect.name} ({dialect.paramstyle})")
        marks = ", ".join([mark] * 3) if mark != ":1" else ":1, :2, :3"
        self._sql = (
            f"INSERT INTO {SeenNonce.__tablename__} (source_node_id, nonce, seen_at) "
            f"VALUES ({marks}) ON CONFLICT DO NOTHING"
        )
        # The column type's own bind processing, so the stored value is exactly what the
        # ORM would store (and prune_nonces compares like with like).
        column_type = SeenNonce.__table__.c.seen_at.type
        processor: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(
            dialect
        )
        outer = column_type.process_bind_param  # type: ignore[attr-defined]
        self._seen_at: Callable[[datetime], Any] = (
            (lambda v: processor(outer(v, dialect))) if processor else (lambda v: outer(v, dialect))
        )

    def remember(self, source_node_id: str, nonce: str, now: datetime) -> bool:
        """Record the pair; False when it was already recorded (a replay)."""
        params = (source_node_id, nonce, self._seen_at(now))
        if self._keep:
            return self._on_kept_connection(params)
        conn = self.engine.raw_connection()
        try:
            return self._insert(conn, params)
        finally:
            conn.close()

    def _insert(self, conn: Any, params: tuple[Any, ...]) -> bool:
        try:
            cursor = conn.cursor()
            cursor.execute(self._sql, params)
            stored = bool(cursor.rowcount == 1)
            cursor.close()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return stored

    def _on_kept_connection(self, params: tuple[Any, ...]) -> bool:
        # SQLite: a file, not a server, so each thread keeps its own connection instead of
        # paying a pool checkout per request; a failed one is dropped and replaced.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.engine.raw_connection()
        try:
            return self._insert(conn, params)
        except BaseException:
            self._local.conn = None
            conn.invalidate()
            raise

    def close(self) -> None:
        """Close this thread's kept connection (the others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()


def prune(session: Session, cutoff: datetime) -> int:
    result = session.execute(delete(SeenNonce).where(SeenNonce.seen_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
