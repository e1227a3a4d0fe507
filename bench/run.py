"""Throughput of the partner API against a bare Starlette hello-world, in one run.

    .venv/bin/python bench/run.py [--seconds N] [--concurrency C] [--rounds R] [--procs P]

1. starts bench/hello_app.py (uvicorn, same settings as the node) on a free loopback port;
2. starts two real nodes (``NodeProcess``, SQLite, temp dirs) and gets an APPROVED contract
   A->B through the admin API, as ``interconn demo`` does;
3. measures the load generator's ceiling: signed requests produced per second without
   sending them, and signed requests per second against the hello-world;
4. measures signed ``GET /v1/interconn/node/query`` and ``GET
   /v1/interconn/node/contract/query?contract_id=...`` against B (fresh timestamp, nonce and
   signature on every request; every answer must be HTTP 200 with code 0), and the
   hello-world;
5. prints medians over the rounds, the ratios to the hello-world and whether the goal
   (ratio >= 0.25) is met. Exit status 1 if any request failed (2 with --require-goal if
   the goal is missed).

See bench/README.md for what the numbers mean on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hello_app import HELLO_PATH
from loadgen import (
    ClientKind,
    Job,
    Mode,
    RequestFactory,
    Result,
    Signer,
    Target,
    WorkerPool,
    split,
)

from interconn import __version__
from interconn.cli.admin_client import AdminClient
from interconn.localnodes import NodeProcess, free_port
from interconn.protocol.endpoints import path as endpoint_path

GOAL_RATIO = 0.25
BENCH_DIR = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- processes


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@contextmanager
def hello_server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "hello_app.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("hello_app exited")
        try:
            return httpx.get(f"http://127.0.0.1:{port}{HELLO_PATH}", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(ready, "the hello-world app")
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _partner_row(admin: AdminClient, node_id: str) -> dict[str, Any]:
    rows = [r for r in admin.get("/admin/v1/partners") if r["peer_node_id"] == node_id]
    return rows[0] if rows else {}


def approved_contract(a: NodeProcess, b: NodeProcess) -> str:
    """A applies, B approves, A sees APPROVED; return the contract_id."""
    ca, cb = a.admin(), b.admin()
    try:
        ca.post("/admin/v1/contracts", {"address": b.address})
        _wait(lambda: bool(cb.get("/admin/v1/inbox")), "the apply to reach B's inbox")
        contract_id = str(cb.get("/admin/v1/inbox")[0]["ref"])
        cb.post(f"/admin/v1/contracts/{contract_id}/approve", {})
        _wait(
            lambda: _partner_row(ca, b.node_id).get("status") == "APPROVED",
            "A to see the contract APPROVED",
        )
        if _partner_row(cb, a.node_id).get("status") != "APPROVED":
            raise RuntimeError("B does not see the contract APPROVED")
        return contract_id
    finally:
        ca.close()
        cb.close()


def signer_for(a: NodeProcess, b: NodeProcess) -> Signer:
    """A's real key, read from A's data directory (as ``load_identity`` does)."""
    keys = a.data_dir / "keys"
    cert = keys / "certificate.pem"
    return Signer(
        auth_type=a.auth_type,
        private_pem=(keys / "signing-key.pem").read_bytes(),
        certificate_pem=cert.read_bytes() if cert.exists() else None,
        source_node_id=a.node_id,
        target_node_id=b.node_id,
        version=__version__,
    )


def smoke_test(target: Target) -> None:
    """One request through the same factory, before any load: fail early and clearly."""
    factory = RequestFactory(target)
    factory.check_against_profile()
    response = httpx.get(target.url, headers=factory.headers(), timeout=10)
    body = response.json()
    if response.status_code != 200 or (target.check_code and body.get("code") != 0):
        raise RuntimeError(f"{target.name}: HTTP {response.status_code} {body}")


# --------------------------------------------------------------------------- measuring


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy (not idle, not iowait) since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass(frozen=True)
class Measurement:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # whole job, warm-up included
    server_cpu: float  # cores busy in the server process during the window
    gen_cpu: float  # cores busy in all generator processes during the window
    other_cpu: float  # cores busy in anything else on the machine during the window
    error_samples: tuple[str, ...]

    @property
    def server_us_per_req(self) -> float:
        return self.server_cpu / self.rps * 1e6 if self.rps else float("nan")

    @property
    def gen_us_per_req(self) -> float:
        return self.gen_cpu / self.rps * 1e6 if self.rps else float("nan")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Bench:
    pool: WorkerPool
    client: ClientKind
    connections: int
    warmup_s: float
    duration_s: float

    def measure(
        self,
        name: str,
        target: Target,
        mode: Mode,
        server_pid: int | None,
        client: ClientKind | None = None,
    ) -> Measurement:
        start_at = time.monotonic() + 0.3
        per_worker = split(self.connections, len(self.pool.pids))
        jobs = [
            Job(
                target=target,
                mode=mode,
                client=client or self.client,
                connections=max(1, n),
                start_at=start_at,
                warmup_s=self.warmup_s,
                duration_s=self.duration_s,
            )
            for n in per_worker
        ]
        self.pool.submit(jobs)
        begin, end = jobs[0].window
        time.sleep(max(0.0, begin - time.monotonic()))
        pids = self.pool.pids + ([server_pid] if server_pid else [])
        before = {pid: cpu_seconds(pid) for pid in pids}
        machine_before = machine_busy_seconds()
        t0 = time.monotonic()
        time.sleep(max(0.0, end - time.monotonic()))
        after = {pid: cpu_seconds(pid) for pid in pids}
        machine_after = machine_busy_seconds()
        elapsed = time.monotonic() - t0
        machine = (machine_after - machine_before) / elapsed
        results: list[Result] = self.pool.collect()
        busy = {pid: (after[pid] - before[pid]) / elapsed for pid in pids}
        latencies = [x for r in results for x in r.latencies]
        return Measurement(
            name=name,
            rps=sum(r.completed for r in results) / self.duration_s,
            p50_ms=_percentile(latencies, 0.50) * 1e3,
            p99_ms=_percentile(latencies, 0.99) * 1e3,
            errors=sum(r.errors_total for r in results),
            server_cpu=busy[server_pid] if server_pid else 0.0,
            gen_cpu=sum(busy[pid] for pid in self.pool.pids),
            other_cpu=max(0.0, machine - sum(busy.values())),
            error_samples=tuple(s for r in results for s in r.error_samples),
        )


@dataclass(frozen=True)
class Case:
    name: str
    target: Target
    mode: Mode
    server_pid: int | None
    client: ClientKind | None = None


def median_of(rows: list[Measurement]) -> Measurement:
    med = statistics.median
    return Measurement(
        name=rows[0].name,
        rps=med(r.rps for r in rows),
        p50_ms=med(r.p50_ms for r in rows),
        p99_ms=med(r.p99_ms for r in rows),
        errors=sum(r.errors for r in rows),
        server_cpu=med(r.server_cpu for r in rows),
        gen_cpu=med(r.gen_cpu for r in rows),
        other_cpu=med(r.other_cpu for r in rows),
        error_samples=tuple(s for r in rows for s in r.error_samples),
    )


# --------------------------------------------------------------------------- report


def _fmt(value: float, spec: str) -> str:
    return "-" if value != value or value == 0 else format(value, spec)  # nan or 0 -> "-"


def print_table(title: str, rows: list[Measurement], per_round: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    head = (
        f"{'target':<26} {'req/s':>9} {'rounds req/s':>19} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'srv CPU':>7} {'gen CPU':>7} {'other':>6} {'srv us/req':>10} "
        f"{'gen us/req':>10}"
    )
    print(head)
    print("-" * len(head))
    for m in rows:
        rounds = "/".join(f"{x:.0f}" for x in per_round[m.name])
        print(
            f"{m.name:<26} {m.rps:>9.0f} {rounds:>19} {_fmt(m.p50_ms, '.2f'):>8} "
            f"{_fmt(m.p99_ms, '.2f'):>8} {m.errors:>6} {_fmt(m.server_cpu, '.2f'):>7} "
            f"{m.gen_cpu:>7.2f} {m.other_cpu:>6.2f} {_fmt(m.server_us_per_req, '.0f'):>10} "
            f"{m.gen_us_per_req:>10.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="measurement window per target and round (default 5)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="keep-alive connections in total, over all generator processes (default 32)",
    )
    parser.add_argument("--procs", type=int, default=2, help="generator processes (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, interleaved (default 2)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="warm-up per target and round, not measured (default 1 s)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="HTTP client of the generator (default raw asyncio streams)",
    )
    parser.add_argument(
        "--compare-httpx",
        action="store_true",
        help="also measure the httpx client against the hello-world",
    )
    parser.add_argument(
        "--require-goal",
        action="store_true",
        help=f"exit with status 2 if a ratio is below {GOAL_RATIO}",
    )
    parser.add_argument("--keep", action="store_true", help="keep the nodes' data directories")
    args = parser.parse_args(argv)

    print(
        f"interconn bench: {os.cpu_count()} CPUs, {args.procs} generator processes, "
        f"{args.concurrency} connections, {args.client} client, {args.rounds} rounds x "
        f"({args.warmup:g} s warm-up + {args.seconds:g} s) per target"
    )
    root = Path(tempfile.mkdtemp(prefix="interconn-bench-"))
    a = NodeProcess(root / "bank-a", node_id="bank-a", name="Bank A")
    b = NodeProcess(root / "data-b", node_id="data-b", name="Data Co B")
    pool: WorkerPool | None = None
    try:
        with hello_server() as (hello_port, hello_proc):
            for node in (a, b):
                node.init()
                node.start()
            contract_id = approved_contract(a, b)
            assert b.proc is not None
            print(
                f"hello-world on :{hello_port}; nodes A :{a.partner_port}, "
                f"B :{b.partner_port}; contract {contract_id} APPROVED"
            )
            signer = signer_for(a, b)
            host = "127.0.0.1"
            hello = Target("hello", host, hello_port, HELLO_PATH)
            hello_signed = Target("hello_signed", host, hello_port, HELLO_PATH, signer=signer)
            node_query = Target(
                "node_query", host, b.partner_port, endpoint_path("node.query"), signer=signer
            )
            contract_query = Target(
                "contract_query",
                host,
                b.partner_port,
                endpoint_path("contract.query"),
                raw_query=f"contract_id={contract_id}",
                signer=signer,
            )
            for target in (hello, node_query, contract_query):
                smoke_test(target)

            cases = [
                Case("gen: sign only", node_query, "sign", None),
                Case("gen: signed -> hello", hello_signed, "http", hello_proc.pid),
            ]
            if args.compare_httpx:
                cases.append(
                    Case(
                        "gen: signed -> hello httpx",
                        hello_signed,
                        "http",
                        hello_proc.pid,
                        client="httpx",
                    )
                )
            cases += [
                Case("hello", hello, "http", hello_proc.pid),
                Case("node_query", node_query, "http", b.proc.pid),
                Case("contract_query", contract_query, "http", b.proc.pid),
            ]
            pool = WorkerPool(args.procs)
            bench = Bench(pool, args.client, args.concurrency, args.warmup, args.seconds)
            collected: dict[str, list[Measurement]] = {c.name: [] for c in cases}
            for rnd in range(args.rounds):
                shift = rnd % len(cases)  # rotate the order so no target always goes first
                for case in cases[shift:] + cases[:shift]:
                    m = bench.measure(
                        case.name, case.target, case.mode, case.server_pid, case.client
                    )
                    collected[case.name].append(m)
                    print(
                        f"  round {rnd + 1}: {case.name:<26} {m.rps:>8.0f} req/s  "
                        f"errors {m.errors}",
                        flush=True,
                    )
    finally:
        if pool is not None:
            pool.close()
        for node in (a, b):
            node.stop()
        if args.keep:
            print(f"data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    return report(collected, cases, args)


def report(
    collected: dict[str, list[Measurement]], cases: list[Case], args: argparse.Namespace
) -> int:
    medians = {name: median_of(rows) for name, rows in collected.items()}
    per_round = {name: [m.rps for m in rows] for name, rows in collected.items()}
    gen_names = [c.name for c in cases if c.name.startswith("gen:")]
    print_table(
        "load generator ceiling (median of rounds)", [medians[n] for n in gen_names], per_round
    )
    print_table(
        "throughput (median of rounds)",
        [medians[n] for n in ("hello", "node_query", "contract_query")],
        per_round,
    )
    print(
        "srv/gen CPU: cores busy in the server / all generator processes during the window; "
        "other: the rest of the machine"
    )

    hello = medians["hello"]
    signed_hello = medians["gen: signed -> hello"]
    ok = True
    print()
    for name in ("node_query", "contract_query"):
        m = medians[name]
        ratio = m.rps / hello.rps if hello.rps else 0.0
        met = ratio >= GOAL_RATIO
        ok &= met
        print(
            f"ratio {name}/hello = {ratio:.3f}  goal >= {GOAL_RATIO}: "
            f"{'met' if met else 'NOT met'}   (vs signed hello "
            f"{m.rps / signed_hello.rps:.3f}; server CPU per request "
            f"{hello.server_us_per_req / m.server_us_per_req:.3f})"
        )
    sign_only = medians["gen: sign only"]
    print(
        f"\ngenerator ceiling: {sign_only.rps:.0f} signed requests/s built and not sent "
        f"({sign_only.gen_us_per_req:.0f} us CPU each); {signed_hello.rps:.0f} signed "
        f"requests/s sent to the hello-world, with the generator using "
        f"{signed_hello.gen_cpu:.2f} of {args.procs} processes' cores and the hello server "
        f"{signed_hello.server_cpu:.2f}"
    )
    for name in ("node_query", "contract_query"):
        m = medians[name]
        if m.rps > 0.5 * signed_hello.rps or m.gen_cpu > 0.5 * args.procs:
            print(
                f"warning: {name} came close to the generator's ceiling; the generator may "
                "be limiting it"
            )
        else:
            print(
                f"{name}: {m.rps:.0f} req/s = {m.rps / signed_hello.rps:.0%} of the "
                f"generator's ceiling, generator {m.gen_cpu:.2f} cores, server "
                f"{m.server_cpu:.2f} cores: the server is the bottleneck"
            )
    noisy = [m.name for m in medians.values() if m.other_cpu > 0.25]
    if noisy:
        print(
            f"note: other processes used > 0.25 cores during {', '.join(noisy)}; "
            "numbers are noisier than usual"
        )

    errors = sum(m.errors for m in medians.values())
    if errors:
        print(f"\nFAILED: {errors} requests did not answer HTTP 200 / code 0, e.g.:")
        for m in medians.values():
            for sample in m.error_samples[:3]:
                print(f"  {m.name}: {sample}")
        return 1
    print("\nall requests answered HTTP 200 with code 0")
    if not ok and args.require_goal:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
