"""Trace ids, structured logging and Prometheus metrics."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
_TRACE_RE = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def current_trace_id() -> str | None:
    return _trace.get()


def set_trace_id(value: str | None) -> contextvars.Token[str | None]:
    """Adopt a caller's trace id when it is sane, else start a new one."""
    if not value or not _TRACE_RE.match(value):
        value = uuid.uuid4().hex
    return _trace.set(value)


def reset_trace_id(token: contextvars.Token[str | None]) -> None:
    _trace.reset(token)


class TraceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id() or "-"
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(TraceFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s] %(message)s")
    )
    root = logging.getLogger("interconn")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class Metrics:
    """One registry per node so two nodes in one process (tests) keep separate counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "interconn_partner_requests_total",
            "Partner-facing requests by endpoint and wire code.",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "interconn_partner_request_seconds",
            "Partner-facing request latency by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "interconn_auth_failures_total",
            "Rejected partner requests by reason (signature, replay, clock, contract).",
            ["reason"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "interconn_outbox_backlog", "Undelivered outbox messages.", registry=self.registry
        )
        self.outbox_oldest_age = Gauge(
            "interconn_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox message.",
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str], Any] = {}
        self.outbox_deliveries = Counter(
            "interconn_outbox_deliveries_total",
            "Outbox delivery attempts by outcome.",
            ["outcome"],
            registry=self.registry,
        )

    def count_request(self, endpoint: str, code: str, seconds: float) -> None:
        key = (endpoint, code)
        if key not in self._request_children:  # label lookups cost more than increments
            self._request_children[key] = (
                self.requests.labels(endpoint, code),
                self.latency.labels(endpoint),
            )
        counter, histogram = self._request_children[key]
        counter.inc()
        histogram.observe(seconds)


class TraceMiddleware:
    """Adopt or create the request's x-trace-id for logs, audit entries and outbound calls,
    and echo it on the response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-trace-id":
                incoming = value.decode("latin-1")
                break
        token = set_trace_id(incoming)
        trace = (current_trace_id() or "").encode()

        async def send_with_trace(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-trace-id", trace)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            reset_trace_id(token)
