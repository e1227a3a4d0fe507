"""Read-mostly cache of contracts for request authentication.

Every signed partner call needs the caller's contract and parsed credential. They change
rarely (apply, decide, terminate, node update), so they are cached per node:

* invalidated after any commit that touched a contract through this node's database
  handle (see ``db.uow.Database``), so this process never acts on a stale contract;
* bounded by a short time-to-live, so changes made by another replica of the node (another
  process on the same database) are seen within ``ttl`` seconds.

Entries are immutable snapshots, never ORM objects: a service that changes a contract loads
the row itself, inside its unit of work.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from interconn.contracts.models import Contract


@dataclass(frozen=True)
class ContractSnapshot:
    id: str
    contract_id: str | None
    role: str
    status: str
    peer_node_id: str | None
    peer_inst_id: str | None
    peer_address: str
    peer_auth_type: str | None
    peer_credential: str | None
    expired_time: datetime | None

    @classmethod
    def of(cls, row: Contract) -> ContractSnapshot:
        return cls(
            id=row.id,
            contract_id=row.contract_id,
            role=row.role,
            status=row.status,
            peer_node_id=row.peer_node_id,
            peer_inst_id=row.peer_inst_id,
            peer_address=row.peer_address,
            peer_auth_type=row.peer_auth_type,
            peer_credential=row.peer_credential,
            expired_time=row.expired_time,
        )

    def is_active(self, now: datetime) -> bool:
        return self.status == "APPROVED" and (self.expired_time is None or self.expired_time > now)


class ContractCache:
    def __init__(self, ttl_s: float = 1.0) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._by_node: dict[str, tuple[float, tuple[ContractSnapshot, ...]]] = {}
        self._by_id: dict[str, tuple[float, ContractSnapshot | None]] = {}
        # Bumped by every invalidation: a value read before it is never stored after it.
        self._generation = 0

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._by_node.clear()
            self._by_id.clear()

    def of_node(self, session: Session, node_id: str) -> tuple[ContractSnapshot, ...]:
        """Every contract with ``node_id``, newest first."""
        now = time.monotonic()
        hit = self._by_node.get(node_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        generation = self._generation
        rows = session.scalars(
            select(Contract)
            .where(Contract.peer_node_id == node_id)
            .order_by(Contract.created_at.desc())
        )
        value = tuple(ContractSnapshot.of(r) for r in rows)
        with self._lock:
            if generation == self._generation:
                self._by_node[node_id] = (now, value)
        return value

    def by_contract_id(self, session: Session, contract_id: str) -> ContractSnapshot | None:
        now = time.monotonic()
        hit = self._by_id.get(contract_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        generation = self._generation
        row = session.scalar(select(Contract).where(Contract.contract_id == contract_id))
        value = ContractSnapshot.of(row) if row is not None else None
        with self._lock:
            if generation == self._generation:
                self._by_id[contract_id] = (now, value)
        return value


def cache_of(session: Session) -> ContractCache:
    """The cache of the database this session belongs to (a fresh one if it has none)."""
    cache = session.info.get("contract_cache")
    if isinstance(cache, ContractCache):
        return cache
    return ContractCache(ttl_s=0.0)
