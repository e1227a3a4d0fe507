"""Helpers for tests that run real `interconn serve` processes on loopback."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from interconn.errors import OperatorError
from interconn.localnodes import NodeProcess
from interconn.testing import database_url

T = TypeVar("T")

# Wide rich tables, so ids are not folded across lines in CLI output.
CLI_ENV = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll ``check`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except OperatorError as exc:  # e.g. the admin API of a restarting node
            last, value = exc, None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last})")


def start_nodes(*nodes: NodeProcess) -> None:
    """Initialise and start several nodes in parallel (each start waits for /readyz)."""

    def up(node: NodeProcess) -> None:
        node.init()
        node.start()

    with ThreadPoolExecutor(len(nodes)) as pool:
        for future in [pool.submit(up, n) for n in nodes]:
            future.result()


def make_pair(root: Path, env: dict[str, str] | None = None) -> tuple[NodeProcess, NodeProcess]:
    a = NodeProcess(
        root / "node-a",
        node_id="node-a",
        name="Node A",
        env=env,
        database_url=database_url(root, "node-a"),
    )
    b = NodeProcess(
        root / "node-b",
        node_id="node-b",
        name="Node B",
        env=env,
        database_url=database_url(root, "node-b"),
    )
    return a, b


def stop_all(*nodes: NodeProcess) -> None:
    for node in nodes:
        node.stop()
