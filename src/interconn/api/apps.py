"""Application factories: the partner-facing app and the operator's admin app.

They are separate ASGI apps on separate ports so the admin API is never reachable on the
partner-facing port, whatever the bind addresses.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from interconn import __version__
from interconn.api.errors import to_envelope
from interconn.context import NodeContext
from interconn.errors import CODES, InterconnError, MalformedRequest, OperatorError
from interconn.observability import TraceMiddleware
from interconn.protocol.lifecycle import IllegalTransition
from interconn.wire.common import error


def _install_error_handlers(app: FastAPI, *, operator: bool) -> None:
    async def _mapped(request: Request, exc: Exception) -> JSONResponse:
        status, body, _ = to_envelope(exc)
        return JSONResponse(body, status_code=status)

    # Expected errors are handled inside the app; only truly unexpected ones reach the
    # outermost handler (which also logs them).
    for exc_type in (InterconnError, IllegalTransition, StaleDataError, SQLAlchemyError, Exception):
        app.add_exception_handler(exc_type, _mapped)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        err = (
            OperatorError(f"invalid request: {problems}")
            if operator
            else MalformedRequest(problems)
        )
        return JSONResponse(error(err.code, err.msg), status_code=err.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODES["NOT_FOUND"] if exc.status_code == 404 else CODES["MALFORMED_QUERY"]
        return JSONResponse(
            error(code.code, f"{exc.detail}: {request.method} {request.url.path}"),
            status_code=exc.status_code,
        )


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _readyz_sync(ctx: NodeContext) -> tuple[int, dict[str, str]]:
    try:
        with ctx.db.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return 503, {"status": "unavailable", "reason": str(exc)[:200]}
    return 200, {"status": "ready", "node_id": ctx.node.node_id}


async def _readyz(request: Request) -> Response:
    status, body = await run_in_threadpool(_readyz_sync, request.app.state.ctx)
    return JSONResponse(body, status_code=status)


def _probe_routes() -> list[Route]:
    return [
        Route("/healthz", _healthz, methods=["GET"], include_in_schema=False),
        Route("/readyz", _readyz, methods=["GET"], include_in_schema=False),
    ]


class PartnerAPI:
    """The partner-facing ASGI app.

    Partner endpoints are found by one dictionary lookup on (method, path) and called
    directly; everything else (probes, 404 and 405 answers in the envelope) goes through a
    small Starlette app. Every microsecond here is paid by every partner call, and the
    endpoints need none of the framework's per-request machinery: ``gateway.handle`` maps
    every error itself.
    """

    def __init__(self, ctx: NodeContext, routes: list[Route]) -> None:
        self.fallback = _partner_fallback(routes)
        self.fallback.state.ctx = ctx
        self.state = self.fallback.state
        self._table = {
            (verb, route.path): route.endpoint
            for route in routes
            for verb in (route.methods or ())
            if verb != "HEAD"
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self._table.get((scope["method"], scope["path"]))
            if endpoint is not None:
                scope["app"] = self
                response = await endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def _partner_fallback(routes: list[Route]) -> Starlette:
    async def mapped(request: Request, exc: Exception) -> Response:
        status, body, _ = to_envelope(exc)
        return JSONResponse(body, status_code=status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = CODES["NOT_FOUND"] if exc.status_code == 404 else CODES["MALFORMED_QUERY"]
        return JSONResponse(
            error(code.code, f"{exc.detail}: {request.method} {request.url.path}"),
            status_code=exc.status_code,
        )

    return Starlette(
        routes=[*routes, *_probe_routes()],
        exception_handlers={
            StarletteHTTPException: http_error,
            InterconnError: mapped,
            Exception: mapped,
        },
    )


def partner_app(ctx: NodeContext) -> ASGIApp:
    """The partner-facing API (what partners call), with trace ids on every answer."""
    from interconn.contracts.routes import routes as contract_routes
    from interconn.datasets.routes import routes as dataset_routes
    from interconn.node.routes import routes as node_routes

    return TraceMiddleware(PartnerAPI(ctx, [*contract_routes, *node_routes, *dataset_routes]))


def admin_app(ctx: NodeContext) -> FastAPI:
    from interconn.admin.routes import router as admin_routes
    from interconn.contracts.admin import router as contract_admin
    from interconn.datasets.admin import router as dataset_admin

    app = FastAPI(
        title="interconn admin API",
        version=__version__,
        description="Operator API. Every call needs `Authorization: Bearer <admin token>`.",
    )
    app.state.ctx = ctx
    app.add_middleware(TraceMiddleware)
    _install_error_handlers(app, operator=True)
    app.router.routes.extend(_probe_routes())
    app.include_router(admin_routes)
    app.include_router(contract_admin)
    app.include_router(dataset_admin)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
