"""Starting real node processes on loopback (used by the demo, the tests and the bench)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from interconn.cli.admin_client import AdminClient, token_path
from interconn.config import load_settings

_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now and was not handed out before by this process.

    Chosen below the kernel's ephemeral range (32768+ on Linux, 49152+ elsewhere): a port
    from bind(0) is an ephemeral one, and any outgoing connection (database, HTTP client)
    may take it before the node gets to bind it, making `serve` fail at startup.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(20000, 32000)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeProcess:
    """One `interconn serve` process with its own data directory and ports."""

    def __init__(
        self,
        data_dir: Path,
        *,
        node_id: str,
        name: str,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
        auth_type: str = "SHA256_ECDSA",
    ) -> None:
        self.data_dir = data_dir
        self.node_id = node_id
        self.name = name
        self.partner_port = free_port()
        self.admin_port = free_port()
        self.address = f"http://127.0.0.1:{self.partner_port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.env = {**os.environ, "INTERCONN_DATA_DIR": str(data_dir), **(env or {})}
        self.database_url = database_url
        self.auth_type = auth_type
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "node.log"

    def _cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "interconn", *args],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        args = [
            "init",
            "--node-id",
            self.node_id,
            "--name",
            self.name,
            "--institution",
            f"{self.name} institution",
            "--auth-type",
            self.auth_type,
            "--partner-port",
            str(self.partner_port),
            "--admin-port",
            str(self.admin_port),
            "--public-address",
            self.address,
        ]
        if self.database_url:
            args += ["--database-url", self.database_url]
        self._cli(*args)

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "interconn", "serve"],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"node {self.node_id} exited: {self.log_path.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.admin_url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node {self.node_id} did not become ready")

    def stop(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def admin(self) -> AdminClient:
        token = token_path(load_settings(self.data_dir, environ={})).read_text().strip()
        return AdminClient(self.admin_url, token)
