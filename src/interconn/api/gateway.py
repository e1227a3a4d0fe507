"""The one path every partner call takes: parse, authenticate, run one service, answer.

Route handlers stay one line: they name the parser, the authenticator and the service.
Database work runs in one worker thread per request, in one unit of work, so the nonce,
the state change, the audit entry and any outbox row commit together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.routing import Route

from interconn.api.errors import to_envelope
from interconn.context import NodeContext
from interconn.errors import AuthError, InterconnError, MalformedRequest
from interconn.protocol.endpoints import method, path
from interconn.security import auth
from interconn.wire.common import ok, parse_body, parse_query

M = TypeVar("M", bound=BaseModel)
Service = Callable[[Session, NodeContext, auth.Caller, Any], Any]
Authenticator = Callable[[Session, NodeContext, auth.AuthHeaders, Any, datetime], auth.Caller]


# Access refusals counted with the authentication failures in the metrics.
_ACCESS_CODES = frozenset({"UNKNOWN_NODE", "CONTRACT_EXPIRED", "CONTRACT_NOT_APPROVED"})


def by_contract(
    session: Session, ctx: NodeContext, headers: auth.AuthHeaders, parsed: Any, now: datetime
) -> auth.Caller:
    """The caller must hold an APPROVED, unexpired contract; its agreed key verifies."""
    return auth.contract_caller(session, headers, now)


def partner_route(
    endpoint: str, model: type[BaseModel], authenticate: Authenticator, service: Service
) -> Route:
    """One partner endpoint as data: its wire model, authenticator and service.

    A plain Starlette route: the partner API needs none of FastAPI's per-request machinery,
    and it sits on the hot path of every call.
    """

    async def run(request: Request) -> Response:
        return await handle(request, model, authenticate, service, endpoint=endpoint)

    return Route(path(endpoint), run, methods=[method(endpoint)], name=endpoint)


def _db_limiter(request: Request, ctx: NodeContext) -> anyio.CapacityLimiter:
    limiter = getattr(request.app.state, "db_limiter", None)
    if limiter is None:  # created lazily: it belongs to the running event loop
        limiter = anyio.CapacityLimiter(ctx.settings.effective_db_workers)
        request.app.state.db_limiter = limiter
    return limiter


def ctx_of(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.ctx
    return ctx


async def handle(
    request: Request,
    model: type[M],
    authenticate: Authenticator,
    service: Service,
    *,
    endpoint: str,
) -> JSONResponse:
    ctx = ctx_of(request)
    started = time.perf_counter()
    try:
        body = await request.body() if request.method == "POST" else b""
        raw = auth.RawRequest(
            method=request.method,
            path=request.scope.get("raw_path", b"").decode("latin-1").partition("?")[0]
            or request.url.path,
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            body=body,
        )
        # Straight from the ASGI scope: building Starlette's Headers costs more here.
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in request.scope["headers"]
        }
        pairs = request.query_params.multi_items()
        query = dict(pairs)
        if len(set(pairs)) != len(query):
            # The canonical query sorts repeated names, so their order is not signed:
            # taking "the last value" would let anyone swap which value counts.
            raise MalformedRequest(
                "a query parameter is given twice with different values",
                code_name="MALFORMED_QUERY",
            )
        args = (ctx, raw, headers, query, model, authenticate, service)
        if ctx.settings.inline_db_work:
            # SQLite: a unit of work takes a fraction of a millisecond and writers take
            # turns anyway, so a thread hop would cost more than the work itself.
            data = _process(*args)
        else:
            data = await anyio.to_thread.run_sync(
                _process, *args, limiter=_db_limiter(request, ctx)
            )
        status, payload, code_name = 200, ok(data), "OK"
    except Exception as exc:
        status, payload, code_name = to_envelope(exc)
        if isinstance(exc, AuthError) or (
            isinstance(exc, InterconnError) and exc.code_name in _ACCESS_CODES
        ):
            ctx.metrics.auth_failures.labels(exc.code_name).inc()
    ctx.metrics.count_request(endpoint, code_name, time.perf_counter() - started)
    if request.method == "POST" and status == 200:
        ctx.wake_outbox()
    return JSONResponse(payload, status_code=status)


def _process(
    ctx: NodeContext,
    raw: auth.RawRequest,
    raw_headers: Mapping[str, str],
    query: Mapping[str, str],
    model: type[M],
    authenticate: Authenticator,
    service: Service,
) -> Any:
    settings = ctx.settings
    now = ctx.clock()
    headers = auth.read_headers(raw_headers)
    auth.check_target(headers, ctx.node.node_id)
    auth.check_clock(headers, now, settings.timestamp_window_s)
    auth.check_nonce_format(headers)
    parsed = parse_body(model, raw.body) if raw.method == "POST" else parse_query(model, query)
    # Authenticate from the contract cache (or a short read), then spend the nonce durably,
    # then act: a request refused by the service has still spent its nonce, so it cannot be
    # replayed later when the state might allow it.
    with ctx.db.unit_of_work() as session:
        caller = authenticate(session, ctx, headers, parsed, now)
        # End the read (if the contract cache missed) before the nonce is written on its
        # own connection: SQLite would make that write wait for this transaction.
        if session.in_transaction():
            session.commit()
        if caller.exempt and not settings.allow_unsigned_exempt:
            caller = replace(caller, exempt=False)
        auth.verify_signature(caller, headers, raw)
        auth.remember_nonce(ctx.db.nonces, headers, now)
        if headers.token_set:
            caller = replace(caller, token_set=headers.token_set)
        return service(session, ctx, caller, parsed)
