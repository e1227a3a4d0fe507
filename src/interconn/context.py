"""Everything a running node shares between its APIs, worker and reconciler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx

from interconn import __version__
from interconn.client.partner import PartnerClient
from interconn.config import Settings
from interconn.db.base import utcnow
from interconn.db.uow import Database
from interconn.node.identity import LocalNode, load_identity
from interconn.observability import Metrics


@dataclass
class NodeContext:
    settings: Settings
    db: Database
    node: LocalNode
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow
    # Injected so tests can wire nodes in one process (httpx.ASGITransport) or add faults.
    transport: httpx.AsyncBaseTransport | None = None
    outbox_wakeup: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def version(self) -> str:
        return __version__

    def wake_outbox(self) -> None:
        """Nudge the delivery worker; safe from any thread."""
        if self.outbox_wakeup is None or self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.outbox_wakeup.set)

    def reload_identity(self) -> None:
        with self.db.read() as session:
            self.node = load_identity(session, address=self.settings.effective_public_address)

    def partner_client(self) -> PartnerClient:
        """A signed client for calls to partners (use as ``async with``)."""
        return PartnerClient(
            self.node,
            version=self.version,
            transport=self.transport,
            timeout=self.settings.request_timeout_s,
        )

    def with_transport(self, transport: httpx.AsyncBaseTransport | None) -> NodeContext:
        return replace(self, transport=transport)
