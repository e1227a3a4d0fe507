"""Unit of work: one transaction that commits a state change together with its outbox rows.

Services receive a ``Session`` and never commit; the caller (a route, the worker, the CLI)
opens a unit of work and commits it once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from interconn.contracts.models import Contract
from interconn.security.contract_cache import ContractCache
from interconn.security.nonces import NonceStore


def _note_contract_changes(session: Session, _context: Any) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, Contract) for obj in touched):
        session.info["contracts_changed"] = True


def _touched(session: Session) -> bool:
    return bool(session.in_transaction() or session.new or session.dirty or session.deleted)


def _invalidate_if_changed(session: Session) -> None:
    if session.info.pop("contracts_changed", False):
        session.info["contract_cache"].invalidate()


class Database:
    def __init__(self, engine: Engine, *, contract_cache_ttl_s: float = 1.0) -> None:
        self.engine = engine
        self.contract_cache = ContractCache(ttl_s=contract_cache_ttl_s)
        self.nonces = NonceStore(engine)
        self._factory = sessionmaker(
            engine, expire_on_commit=False, info={"contract_cache": self.contract_cache}
        )
        self._idle = threading.local()
        event.listen(self._factory, "after_flush", _note_contract_changes)
        event.listen(self._factory, "after_commit", _invalidate_if_changed)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        session = self._acquire()
        try:
            yield session
            # A unit of work that never touched the database has nothing to commit.
            if _touched(session):
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._release(session)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only; closing it ends the transaction without expiring the
        objects read, so they stay usable (detached) after the block."""
        session = self._acquire()
        try:
            yield session
        finally:
            self._release(session)

    # Many partner calls never touch the database (contracts come from the cache), and
    # creating and closing a Session costs more than their whole database work. An untouched
    # session is therefore kept for the next unit of work on the same thread; a touched one
    # is closed as usual. Taking it out of the slot makes nested units of work safe.

    def _acquire(self) -> Session:
        session: Session | None = getattr(self._idle, "session", None)
        if session is None:
            return self._factory()
        self._idle.session = None
        return session

    def _release(self, session: Session) -> None:
        if _touched(session) or session.identity_map:
            session.close()
        session.info.pop("contracts_changed", None)
        self._idle.session = session

    def dispose(self) -> None:
        self.nonces.close()
        self.engine.dispose()
