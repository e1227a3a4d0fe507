"""Running a node: open the database, migrate, load the identity, serve both APIs and run
the delivery worker and the reconciler in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator

import uvicorn

from interconn.api.apps import admin_app, partner_app
from interconn.config import Settings
from interconn.context import NodeContext
from interconn.db import migrate
from interconn.db.base import make_engine
from interconn.db.uow import Database
from interconn.node.identity import load_identity
from interconn.observability import configure_logging
from interconn.outbox.reconciler import Reconciler
from interconn.outbox.worker import OutboxWorker
from interconn.registry import register_domains

log = logging.getLogger("interconn.server")


def open_database(settings: Settings, *, upgrade: bool = True) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    if upgrade:
        migrate.upgrade(engine)
    return Database(engine, contract_cache_ttl_s=settings.contract_cache_ttl_s)


def open_node(settings: Settings) -> NodeContext:
    register_domains()
    db = open_database(settings)
    with db.read() as session:
        node = load_identity(session, address=settings.effective_public_address)
    return NodeContext(settings=settings, db=db, node=node)


class _Server(uvicorn.Server):
    """uvicorn server whose signals are handled by ``serve`` (two servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(ctx: NodeContext) -> None:
    settings = ctx.settings
    ctx.loop = asyncio.get_running_loop()
    ctx.outbox_wakeup = asyncio.Event()
    stop = asyncio.Event()
    servers = [
        _Server(
            uvicorn.Config(
                partner_app(ctx),
                host=settings.partner_host,
                port=settings.partner_port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        ),
        _Server(
            uvicorn.Config(
                admin_app(ctx),
                host=settings.admin_host,
                port=settings.admin_port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        ),
    ]

    def _stop() -> None:
        stop.set()
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            ctx.loop.add_signal_handler(sig, _stop)

    log.info(
        "node %s: partner API on %s:%s, admin API on %s:%s, database %s",
        ctx.node.node_id,
        settings.partner_host,
        settings.partner_port,
        settings.admin_host,
        settings.admin_port,
        ctx.db.engine.url.render_as_string(),
    )
    tasks = [asyncio.create_task(s.serve()) for s in servers] + [
        asyncio.create_task(OutboxWorker(ctx).run(stop)),
        asyncio.create_task(Reconciler(ctx).run(stop)),
    ]
    done, _ = await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
    _stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    ctx.db.dispose()
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def run(settings: Settings) -> None:
    configure_logging(settings.log_level)
    asyncio.run(serve(open_node(settings)))
