"""The delivery worker: sends due outbox messages, retries with backoff, never drops one.

* 2xx with code 0: delivered; the domain's ``delivered`` handler runs in the same unit of
  work that marks the row DELIVERED.
* 4xx (the partner says the message itself is wrong): FAILED, reason recorded, the domain's
  ``refused`` handler runs, the operator sees it and may retry after fixing the cause.
* 5xx, 429 or network error: retried with exponential backoff and full jitter, without an
  attempt limit; past ``outbox_max_age_s`` the message is flagged to the operator once.

Messages about one record are delivered in the order they were written (an apply before
its terminate): only the oldest pending message of each record is ever due. Contract
messages also wait for every earlier message to the same peer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from interconn.auditlog import service as audit
from interconn.client.partner import PartnerClient
from interconn.context import NodeContext
from interconn.errors import InterconnError, PartnerError
from interconn.observability import reset_trace_id, set_trace_id
from interconn.outbox import handlers
from interconn.outbox.models import OutboxMessage, OutboxStatus
from interconn.outbox.service import backlog

log = logging.getLogger("interconn.outbox")
CONTRACT_KIND = "contract"


@dataclass(frozen=True)
class Due:
    id: int
    kind: str
    message: str
    record_id: str
    peer_node_id: str | None
    address: str
    method: str
    path: str
    body: dict[str, Any]
    trace_id: str | None


def backoff(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [base/2, min(cap, base * 2**attempts)]."""
    ceiling = min(cap, base * (2 ** min(attempts, 30)))
    return rng.uniform(min(base / 2, ceiling), ceiling)


class OutboxWorker:
    def __init__(self, ctx: NodeContext, *, batch: int = 32, concurrency: int = 8) -> None:
        self.ctx = ctx
        self.batch = batch
        self._sem = asyncio.Semaphore(concurrency)
        self._rng = random.Random()

    # -- the loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        wake = self.ctx.outbox_wakeup
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the loop must survive a bad row or a database hiccup
                log.exception("outbox pass failed")
            if wake is not None:
                wake.clear()
            waiters = [asyncio.ensure_future(stop.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.wait()))
            _, pending = await asyncio.wait(
                waiters,
                timeout=self.ctx.settings.outbox_poll_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()

    async def run_once(self) -> int:
        """Deliver every message that is due now; return how many were attempted."""
        attempted = 0
        while True:
            due = await asyncio.to_thread(self._claim)
            if not due:
                break
            async with PartnerClient(
                self.ctx.node,
                version=self.ctx.version,
                transport=self.ctx.transport,
                timeout=self.ctx.settings.request_timeout_s,
            ) as client:
                await asyncio.gather(*(self._deliver(client, d) for d in due))
            attempted += len(due)
            if len(due) < self.batch:
                break
        await asyncio.to_thread(self._update_gauges)
        return attempted

    # -- steps -------------------------------------------------------------------------

    def _claim(self) -> list[Due]:
        now = self.ctx.clock()
        earlier = aliased(OutboxMessage)
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
                ~exists().where(
                    and_(
                        earlier.status == OutboxStatus.PENDING,
                        earlier.id < OutboxMessage.id,
                        or_(
                            earlier.record_id == OutboxMessage.record_id,
                            # A contract message is a barrier for its peer: everything
                            # written before it (e.g. the authorizations a contract
                            # termination ends) reaches the peer first.
                            and_(
                                OutboxMessage.kind == CONTRACT_KIND,
                                earlier.peer_node_id == OutboxMessage.peer_node_id,
                            ),
                        ),
                    )
                ),
            )
            .order_by(OutboxMessage.id)
            .limit(self.batch)
        )
        out = []
        with self.ctx.db.unit_of_work() as session:
            for row in session.scalars(stmt):
                address, body = row.address, dict(row.body)
                finalize = handlers.lookup(row.kind, row.message).finalize
                if finalize is not None:
                    address, body = finalize(session, row.record_id, address, body)
                out.append(
                    Due(
                        row.id,
                        row.kind,
                        row.message,
                        row.record_id,
                        row.peer_node_id,
                        address,
                        row.method,
                        row.path,
                        body,
                        row.trace_id,
                    )
                )
        return out

    async def _deliver(self, client: PartnerClient, due: Due) -> None:
        async with self._sem:
            token = set_trace_id(due.trace_id)
            try:
                try:
                    data = await client.call(
                        due.method,
                        due.address,
                        due.path,
                        body=due.body if due.method == "POST" else None,
                        query={k: str(v) for k, v in due.body.items()}
                        if due.method == "GET"
                        else None,
                        target_node_id=due.peer_node_id,
                    )
                except PartnerError as exc:
                    await asyncio.to_thread(self._failed, due, exc)
                    return
                try:
                    await asyncio.to_thread(self._delivered, due, data)
                except Exception as exc:
                    # Using the answer failed (a bug, a constraint, the database): retry with
                    # backoff and keep the cause visible, instead of resending on every pass.
                    log.exception("outbox %s: handling the partner's answer failed", due.id)
                    cause = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:500]}"
                    await asyncio.to_thread(
                        self._failed,
                        due,
                        PartnerError(
                            f"delivered, but handling the answer failed: {cause}",
                            code_name="INTERNAL",
                            retryable=True,
                        ),
                    )
            finally:
                reset_trace_id(token)

    def _delivered(self, due: Due, data: dict[str, Any]) -> None:
        now = self.ctx.clock()
        with self.ctx.db.unit_of_work() as session:
            row = session.get(OutboxMessage, due.id)
            if row is None or row.status != OutboxStatus.PENDING:
                return
            note = None
            hook = handlers.lookup(due.kind, due.message).delivered
            if hook is not None:
                try:
                    with session.begin_nested():
                        hook(session, self.ctx, due.record_id, data)
                except InterconnError as exc:
                    # Delivered, but the answer could not be used: keep it visible, do not resend.
                    note = f"delivered, but the answer was refused: {exc.msg}"
                    log.warning("outbox %s: %s", due.id, note)
            row.status = OutboxStatus.DELIVERED
            row.attempts += 1
            row.finished_at = now
            row.last_error = note
            row.last_http_status = 200
        self.ctx.metrics.outbox_deliveries.labels("delivered").inc()

    def _failed(self, due: Due, exc: PartnerError) -> None:
        now = self.ctx.clock()
        settings = self.ctx.settings
        with self.ctx.db.unit_of_work() as session:
            row = session.get(OutboxMessage, due.id)
            if row is None or row.status != OutboxStatus.PENDING:
                return
            row.attempts += 1
            row.last_error = exc.msg
            row.last_http_status = exc.status
            if not exc.retryable:
                row.status = OutboxStatus.FAILED
                row.finished_at = now
                audit.record(
                    session,
                    actor="outbox",
                    action="outbox.failed",
                    kind=row.kind,
                    record_id=row.record_id,
                    detail={"message_id": row.id, "error": exc.msg},
                )
                hook = handlers.lookup(row.kind, row.message).refused
                if hook is not None:
                    hook(session, self.ctx, row.record_id, exc.msg)
                self.ctx.metrics.outbox_deliveries.labels("failed").inc()
                log.warning("outbox %s to %s refused for good: %s", row.id, due.address, exc.msg)
                return
            delay = backoff(
                row.attempts, settings.outbox_base_delay_s, settings.outbox_max_delay_s, self._rng
            )
            row.next_attempt_at = now + timedelta(seconds=delay)
            age = (now - row.created_at).total_seconds()
            if age > settings.outbox_max_age_s and not row.overdue_flagged:
                row.overdue_flagged = True
                audit.record(
                    session,
                    actor="outbox",
                    action="outbox.overdue",
                    kind=row.kind,
                    record_id=row.record_id,
                    detail={"message_id": row.id, "age_s": int(age), "error": exc.msg},
                )
                log.error(
                    "outbox %s to %s undelivered for %d s (still retrying): %s",
                    row.id,
                    due.address,
                    age,
                    exc.msg,
                )
            self.ctx.metrics.outbox_deliveries.labels("retry").inc()

    def _update_gauges(self) -> None:
        with self.ctx.db.read() as session:
            count, oldest = backlog(session)
        self.ctx.metrics.outbox_backlog.set(count)
        age = (self.ctx.clock() - oldest).total_seconds() if oldest else 0.0
        self.ctx.metrics.outbox_oldest_age.set(age)
