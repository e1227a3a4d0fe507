"""The query fallback: ask partners about records whose confirm callback is overdue.

Each kind registers a ``Reconcilable``: how to find its overdue records, which query
endpoint to call, and how to apply the answer. The reconciler itself is kind-agnostic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session

from interconn.client.partner import PartnerClient
from interconn.context import NodeContext
from interconn.errors import InterconnError, PartnerError
from interconn.outbox.models import OutboxMessage, OutboxStatus
from interconn.protocol.lifecycle import Role, State
from interconn.security.auth import prune_nonces

log = logging.getLogger("interconn.reconciler")


@dataclass(frozen=True)
class Target:
    record_id: str
    address: str
    peer_node_id: str | None
    query: dict[str, str]


@dataclass(frozen=True)
class Reconcilable:
    kind: str
    endpoint_path: str
    overdue: Callable[[Session, datetime], list[Target]]
    apply: Callable[[Session, NodeContext, str, dict[str, Any]], None]


_REGISTRY: list[Reconcilable] = []


def awaiting_answer(model: Any, cutoff: datetime) -> Select[Any]:
    """Records this node applied for that are still APPLIED since before ``cutoff`` and have
    nothing left to deliver: the partner owes an answer, so it is time to ask."""
    pending = exists().where(
        and_(OutboxMessage.record_id == model.id, OutboxMessage.status == OutboxStatus.PENDING)
    )
    return select(model).where(
        model.role == Role.INITIATOR.value,
        model.status == State.APPLIED.value,
        model.updated_at < cutoff,
        ~pending,
    )


def register(spec: Reconcilable) -> None:
    if all(s.kind != spec.kind for s in _REGISTRY):
        _REGISTRY.append(spec)


class Reconciler:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("reconciler pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.ctx.settings.reconcile_interval_s)

    async def run_once(self) -> int:
        """Query the partner for every overdue record; return how many answers were applied."""
        now = self.ctx.clock()
        cutoff = now - timedelta(seconds=self.ctx.settings.callback_timeout_s)
        applied = 0
        async with PartnerClient(
            self.ctx.node,
            version=self.ctx.version,
            transport=self.ctx.transport,
            timeout=self.ctx.settings.request_timeout_s,
        ) as client:
            for spec in _REGISTRY:
                try:
                    targets = await asyncio.to_thread(self._overdue, spec, cutoff)
                except Exception:  # one broken kind must not stop the others' fallback
                    log.exception("query fallback: listing overdue %s records failed", spec.kind)
                    continue
                for target in targets:
                    try:
                        data = await client.call(
                            "GET",
                            target.address,
                            spec.endpoint_path,
                            query=target.query,
                            target_node_id=target.peer_node_id,
                        )
                    except PartnerError as exc:
                        log.warning(
                            "query fallback for %s %s failed: %s",
                            spec.kind,
                            target.record_id,
                            exc.msg,
                        )
                        continue
                    if await asyncio.to_thread(self._apply, spec, target, data):
                        applied += 1
        await asyncio.to_thread(self._prune, now)
        return applied

    def _overdue(self, spec: Reconcilable, cutoff: datetime) -> list[Target]:
        with self.ctx.db.read() as session:
            return spec.overdue(session, cutoff)

    def _apply(self, spec: Reconcilable, target: Target, data: dict[str, Any]) -> bool:
        try:
            with self.ctx.db.unit_of_work() as session:
                spec.apply(session, self.ctx, target.record_id, data)
            return True
        except InterconnError as exc:
            log.warning(
                "query answer for %s %s not applied: %s", spec.kind, target.record_id, exc.msg
            )
            return False
        except Exception:  # e.g. a database error: log it and go on with the other records
            log.exception("query answer for %s %s not applied", spec.kind, target.record_id)
            return False

    def _prune(self, now: datetime) -> None:
        with self.ctx.db.unit_of_work() as session:
            prune_nonces(session, now, self.ctx.settings.timestamp_window_s)
