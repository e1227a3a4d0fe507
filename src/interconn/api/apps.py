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
from starlette.middleware import Middleware
from starlette.routing import Route

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


def partner_app(ctx: NodeContext) -> Starlette:
    """The partner-facing API: a plain Starlette app, since the partner endpoints use none of
    FastAPI's per-request machinery and every microsecond here is paid on every call."""
    from interconn.contracts.routes import routes as contract_routes
    from interconn.datasets.routes import routes as dataset_routes
    from interconn.node.routes import routes as node_routes

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

    app = Starlette(
        routes=[*contract_routes, *node_routes, *dataset_routes, *_probe_routes()],
        middleware=[Middleware(TraceMiddleware)],
        exception_handlers={
            StarletteHTTPException: http_error,
            InterconnError: mapped,
            Exception: mapped,
        },
    )
    app.state.ctx = ctx
    return app


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
