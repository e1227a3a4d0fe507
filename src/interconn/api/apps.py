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
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def _install_probes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        ctx: NodeContext = request.app.state.ctx
        try:
            with ctx.db.read() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "reason": str(exc)[:200]}, status_code=503
            )
        return JSONResponse({"status": "ready", "node_id": ctx.node.node_id})


def partner_app(ctx: NodeContext) -> FastAPI:
    from interconn.contracts.routes import routes as contract_routes
    from interconn.datasets.routes import routes as dataset_routes
    from interconn.node.routes import routes as node_routes

    app = FastAPI(
        title="interconn partner API",
        version=__version__,
        description="BFIA interconnection management-plane endpoints (what partners call).",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.add_middleware(TraceMiddleware)
    _install_error_handlers(app, operator=False)
    _install_probes(app)
    app.router.routes.extend([*contract_routes, *node_routes, *dataset_routes])
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
    _install_probes(app)
    app.include_router(admin_routes)
    app.include_router(contract_admin)
    app.include_router(dataset_admin)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
