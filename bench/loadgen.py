"""Closed-loop HTTP/1.1 load generator: several OS processes, one asyncio loop each.

Every connection is kept alive and carries one request at a time (no pipelining). A request
to a signed target is built and signed when it is sent: fresh ``x-timestamp``, fresh
``x-nonce``, fresh ``x-auth-sign`` (BFIA-SIGN-V1, ``docs/signature-profile.md``), inside the
generator process, with the caller's real key.

Two HTTP clients are available:

``raw``
    ``asyncio`` streams writing a pre-formatted request head and parsing the response head by
    hand (status line + ``content-length``). This is what the bench uses by default: on this
    machine it needs a fraction of the CPU per request that httpx needs (see bench/README.md).
``httpx``
    ``httpx.AsyncClient`` with the same number of keep-alive connections, for comparison.

Besides ``http``, a job may be ``sign``: produce complete signed request heads as fast as
possible without sending them (the generator's ceiling for signing).

Workers are long-lived (:class:`WorkerPool`): they are started once and receive jobs over a
pipe, so process start-up and imports never fall into a measurement window. All processes use
``time.monotonic()`` (system-wide ``CLOCK_MONOTONIC`` on Linux) to agree on the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import multiprocessing as mp
import secrets
import signal
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

Mode = Literal["http", "sign"]
ClientKind = Literal["raw", "httpx"]

#: Errors kept verbatim per worker and job (the rest are only counted).
MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Signer:
    """What a generator process needs to sign as node ``source_node_id``."""

    auth_type: str
    private_pem: bytes
    source_node_id: str
    target_node_id: str
    certificate_pem: bytes | None = None
    version: str = "0.1.0"


@dataclass(frozen=True)
class Target:
    """One endpoint to load. ``signer=None`` sends a plain GET."""

    name: str
    host: str
    port: int
    path: str
    raw_query: str = ""
    signer: Signer | None = None
    #: Require ``{"code": 0, ...}`` in the JSON body (besides HTTP 200).
    check_code: bool = True

    @property
    def url(self) -> str:
        query = f"?{self.raw_query}" if self.raw_query else ""
        return f"http://{self.host}:{self.port}{self.path}{query}"


@dataclass(frozen=True)
class Job:
    target: Target
    mode: Mode
    client: ClientKind
    connections: int
    start_at: float  # time.monotonic() at which warm-up starts
    warmup_s: float
    duration_s: float

    @property
    def window(self) -> tuple[float, float]:
        begin = self.start_at + self.warmup_s
        return begin, begin + self.duration_s


@dataclass
class Result:
    """What one worker did for one job. Counts are for the measurement window, except
    ``errors_total`` and ``requests_total`` (warm-up included)."""

    completed: int = 0
    errors: int = 0
    requests_total: int = 0
    errors_total: int = 0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def error(self, message: str, in_window: bool) -> None:
        self.errors_total += 1
        if in_window:
            self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message)


# --------------------------------------------------------------------------- signing


class RequestFactory:
    """Builds the request head for a target, signing it freshly on every call."""

    def __init__(self, target: Target) -> None:
        self.target = target
        sent_path = target.path + (f"?{target.raw_query}" if target.raw_query else "")
        self._static_head = (
            f"GET {sent_path} HTTP/1.1\r\nhost: {target.host}:{target.port}\r\n"
        ).encode("ascii")
        self._sign_prefix = b""
        self._sign_suffix = b""
        self._signed_static = b""
        signer = target.signer
        if signer is None:
            self._key = None
            return
        from interconn.security.signing import AuthType, SigningKey, canonical_query

        self._key = SigningKey.from_pem(
            AuthType(signer.auth_type), signer.private_pem, signer.certificate_pem
        )
        # Lines 1-6 and 9-10 of the string to sign do not change between requests; lines 7
        # (timestamp) and 8 (nonce) do. check_against_profile() proves the split is right.
        self._sign_prefix = "\n".join(
            [
                "BFIA-SIGN-V1",
                "GET",
                target.path,
                canonical_query(target.raw_query),
                signer.source_node_id,
                signer.target_node_id,
                "",
            ]
        ).encode("utf-8")
        self._sign_suffix = ("\n\n" + hashlib.sha256(b"").hexdigest()).encode("ascii")
        self._signed_static = (
            f"x-source-node-id: {signer.source_node_id}\r\n"
            f"x-target-node-id: {signer.target_node_id}\r\n"
            f"x-system: interconn\r\nx-version: {signer.version}\r\n"
        ).encode("ascii")

    def signed_fields(self) -> tuple[str, str, str]:
        """Fresh (timestamp, nonce, signature)."""
        assert self._key is not None
        ts = str(int(time.time() * 1000))
        nonce = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-], like new_nonce()
        message = self._sign_prefix + ts.encode() + b"\n" + nonce.encode() + self._sign_suffix
        return ts, nonce, self._key.sign(message)

    def head(self) -> bytes:
        """The complete request head, ready to write."""
        if self._key is None:
            return self._static_head + b"\r\n"
        ts, nonce, signature = self.signed_fields()
        return b"".join(
            [
                self._static_head,
                self._signed_static,
                f"x-timestamp: {ts}\r\nx-nonce: {nonce}\r\nx-trace-id: {nonce}\r\n"
                f"x-auth-sign: {signature}\r\n\r\n".encode("ascii"),
            ]
        )

    def headers(self) -> dict[str, str]:
        """The same headers as a dict (for httpx)."""
        signer = self.target.signer
        if signer is None:
            return {}
        ts, nonce, signature = self.signed_fields()
        return {
            "x-source-node-id": signer.source_node_id,
            "x-target-node-id": signer.target_node_id,
            "x-system": "interconn",
            "x-version": signer.version,
            "x-timestamp": ts,
            "x-nonce": nonce,
            "x-trace-id": nonce,
            "x-auth-sign": signature,
        }

    def check_against_profile(self) -> None:
        """Verify the fast path signs exactly the profile's string (and that it verifies)."""
        signer = self.target.signer
        if signer is None or self._key is None:
            return
        from interconn.security.signing import string_to_sign

        ts, nonce, signature = self.signed_fields()
        message = string_to_sign(
            method="GET",
            path=self.target.path,
            raw_query=self.target.raw_query,
            source_node_id=signer.source_node_id,
            target_node_id=signer.target_node_id,
            timestamp=ts,
            nonce=nonce,
            token_set="",
            body=b"",
        ).encode("utf-8")
        ours = self._sign_prefix + ts.encode() + b"\n" + nonce.encode() + self._sign_suffix
        if ours != message:
            raise AssertionError(f"string to sign differs from the profile:\n{ours!r}\n{message!r}")
        if not self._key.public_credential().verify(signature, message):
            raise AssertionError("the signature does not verify against the signer's own key")


# --------------------------------------------------------------------------- checking answers


def _check_body(body: bytes) -> str | None:
    try:
        envelope = json.loads(body)
    except ValueError:
        return f"body is not JSON: {body[:120]!r}"
    if not isinstance(envelope, dict) or envelope.get("code") != 0:
        return f"code is not 0: {body[:300]!r}"
    return None


# --------------------------------------------------------------------------- raw client


async def _raw_connection(job: Job, factory: RequestFactory, result: Result) -> None:
    target = job.target
    begin, end = job.window
    clock = time.monotonic
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        while True:
            if clock() >= end:
                return
            data = factory.head()  # signed now, not before: a fresh nonce per request
            sent = clock()
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at < 0:
                raise RuntimeError(f"no content-length in response head: {head[:200]!r}")
            length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
            body = await reader.readexactly(length)
            done = clock()
            in_window = begin <= done < end
            result.requests_total += 1
            problem = None
            if status != b"200":
                problem = f"HTTP {status.decode()}: {body[:300]!r}"
            elif target.check_code:
                problem = _check_body(body)
            if problem is not None:
                result.error(problem, in_window)
            elif in_window:
                result.completed += 1
                result.latencies.append(done - sent)
            if b"connection: close" in lower:
                raise RuntimeError("server closed the keep-alive connection")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


# --------------------------------------------------------------------------- httpx client


async def _httpx_connection(
    job: Job, factory: RequestFactory, result: Result, client: object
) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    target = job.target
    url = target.url
    begin, end = job.window
    clock = time.monotonic
    while True:
        if clock() >= end:
            return
        headers = factory.headers()
        sent = clock()
        response = await client.get(url, headers=headers)
        done = clock()
        in_window = begin <= done < end
        result.requests_total += 1
        problem = None
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}: {response.content[:300]!r}"
        elif target.check_code:
            problem = _check_body(response.content)
        if problem is not None:
            result.error(problem, in_window)
        elif in_window:
            result.completed += 1
            result.latencies.append(done - sent)


# --------------------------------------------------------------------------- jobs


async def _run_http(job: Job, factory: RequestFactory) -> Result:
    result = Result()
    delay = job.start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)

    async def guarded(coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception as exc:
            result.error(f"{type(exc).__name__}: {exc}", in_window=True)

    if job.client == "raw":
        await asyncio.gather(
            *(guarded(_raw_connection(job, factory, result)) for _ in range(job.connections))
        )
        return result
    import httpx

    limits = httpx.Limits(
        max_connections=job.connections, max_keepalive_connections=job.connections
    )
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        await asyncio.gather(
            *(
                guarded(_httpx_connection(job, factory, result, client))
                for _ in range(job.connections)
            )
        )
    return result


def _run_sign(job: Job, factory: RequestFactory) -> Result:
    """Produce signed request heads back to back, sending nothing."""
    result = Result()
    begin, end = job.window
    clock = time.monotonic
    while clock() < job.start_at:
        time.sleep(0.001)
    head = factory.head
    while True:
        for _ in range(64):
            head()
        now = clock()
        result.requests_total += 64
        if begin <= now < end:
            result.completed += 64
        if now >= end:
            return result


def run_job(job: Job) -> Result:
    factory = RequestFactory(job.target)
    if job.mode == "sign":
        return _run_sign(job, factory)
    return asyncio.run(_run_http(job, factory))


# --------------------------------------------------------------------------- worker pool


def _worker_main(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            conn.send(run_job(job))
        except BaseException as exc:  # report, keep serving
            failed = Result()
            failed.error(f"worker failed: {type(exc).__name__}: {exc}", in_window=True)
            conn.send(failed)


class WorkerPool:
    """``size`` long-lived generator processes; :meth:`run` gives each the same job."""

    def __init__(self, size: int) -> None:
        ctx = mp.get_context("spawn")
        self._conns: list[Connection] = []
        self.processes: list[mp.process.BaseProcess] = []
        for _ in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self.processes.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def submit(self, jobs: list[Job]) -> None:
        if len(jobs) != len(self._conns):
            raise ValueError("one job per worker")
        for conn, job in zip(self._conns, jobs, strict=True):
            conn.send(job)

    def collect(self) -> list[Result]:
        return [conn.recv() for conn in self._conns]

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self.processes:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()


def split(total: int, parts: int) -> list[int]:
    """``total`` connections over ``parts`` workers, as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
