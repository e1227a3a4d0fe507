"""Building nodes inside one process for tests: temporary identity, injected clock and
transport, and a router that sends each node's partner calls to the right ASGI app."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from starlette.types import ASGIApp

from interconn.api.apps import admin_app, partner_app
from interconn.config import Settings, load_settings
from interconn.context import NodeContext
from interconn.db import migrate
from interconn.db.base import make_engine
from interconn.db.uow import Database
from interconn.node.identity import create_identity, load_identity
from interconn.registry import register_domains
from interconn.security.signing import AuthType


class Clock:
    """A settable clock; starts at real time so timestamps made by httpx clients agree."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


class Router(httpx.AsyncBaseTransport):
    """Routes requests by host to in-process apps; a host can be taken down to fake outages."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.AsyncBaseTransport] = {}
        self.down: set[str] = set()
        self.drop_responses: set[str] = set()
        self.log: list[tuple[str, str, int | None]] = []

    def add(self, host: str, app: ASGIApp) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.apps:
            self.log.append((host, request.url.path, None))
            raise httpx.ConnectError(f"{host} is down", request=request)
        response = await self.apps[host].handle_async_request(request)
        self.log.append((host, request.url.path, response.status_code))
        if host in self.drop_responses:
            # The request was processed but the answer is lost on the way back.
            raise httpx.ReadError(f"{host}: connection reset", request=request)
        return response


def database_url(tmp: Path, name: str) -> str:
    """SQLite by default; a fresh PostgreSQL database when INTERCONN_TEST_DB=postgres."""
    if os.environ.get("INTERCONN_TEST_DB", "sqlite") != "postgres":
        return f"sqlite:///{tmp / (name + '.db')}"
    admin_url = os.environ["INTERCONN_TEST_PG_URL"]
    db_name = f"t_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + db_name


@dataclass
class TestNode:
    __test__ = False  # not a pytest test class

    ctx: NodeContext
    partner: ASGIApp
    admin: FastAPI
    host: str
    token: str
    clock: Clock
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return self.ctx.node.node_id

    @property
    def address(self) -> str:
        return f"http://{self.host}"

    def admin_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.admin),
            base_url="http://admin",
            headers={"authorization": f"Bearer {self.token}"},
        )


def make_node(
    tmp: Path,
    name: str,
    router: Router,
    *,
    auth_type: AuthType = AuthType.SHA256_ECDSA,
    settings_overrides: dict[str, Any] | None = None,
    clock: Clock | None = None,
    url: str | None = None,
) -> TestNode:
    register_domains()
    data_dir = tmp / name
    data_dir.mkdir(parents=True, exist_ok=True)
    host = f"{name}.test"
    url = url or database_url(tmp, name)
    settings: Settings = load_settings(
        data_dir,
        environ={},
        database_url=url,
        public_address=f"http://{host}",
        **(settings_overrides or {}),
    )
    engine = make_engine(url)
    migrate.upgrade(engine)
    db = Database(engine, contract_cache_ttl_s=settings.contract_cache_ttl_s)
    token = ""
    with db.unit_of_work() as session:
        from interconn.node.models import NodeIdentity

        if session.get(NodeIdentity, 1) is None:
            token = create_identity(
                session,
                data_dir=data_dir,
                node_id=name,
                inst_id=f"inst-{name}",
                name=f"{name} node",
                institution=f"{name} institution",
                auth_type=auth_type,
            )
    with db.read() as session:
        node = load_identity(session, address=settings.effective_public_address)
    clock = clock or Clock()
    ctx = NodeContext(settings=settings, db=db, node=node, clock=clock, transport=router)
    partner, admin = partner_app(ctx), admin_app(ctx)
    router.add(host, partner)
    return TestNode(ctx, partner, admin, host, token or secrets.token_hex(4), clock)


Step = Callable[[], Any]
