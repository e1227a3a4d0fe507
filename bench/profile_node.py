"""Profile node B under the bench's load with py-spy, and summarize where the time goes.

    .venv/bin/pip install py-spy          # profiling only; not a project dependency
    .venv/bin/python bench/profile_node.py [--target contract_query] [--seconds 15]

Starts the same two nodes and APPROVED contract as bench/run.py, loads B with signed
requests from the generator processes, and meanwhile runs ``py-spy record --gil`` on B
(samples only the thread holding the GIL: the node is GIL-bound, so that is where its
throughput goes). Prints the functions with the largest inclusive and self share of the
samples and writes the collapsed stacks (``--out``, flamegraph input) for a closer look.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import Job, Target, WorkerPool, split
from run import approved_contract, signer_for, smoke_test

from interconn.localnodes import NodeProcess
from interconn.protocol.endpoints import path as endpoint_path

#: Layers a sample is charged to: the innermost frame that matches decides.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ECDSA verify (cryptography)", ("EcdsaP256Scheme.verify",)),
    ("locks / thread hand-off", ("threading.py", "queue.py")),
    ("SQLAlchemy + sqlite3", ("sqlalchemy/", "sqlite3/")),
    ("interconn (own code)", ("interconn/",)),
    ("prometheus_client", ("prometheus_client/",)),
    ("pydantic", ("pydantic",)),
    ("FastAPI / Starlette", ("fastapi/", "starlette/")),
    ("uvicorn / h11", ("uvicorn/", "h11/")),
    ("anyio worker threads", ("anyio/",)),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
]


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in LAYERS:
            if any(m in frame for m in markers):
                return name
    return "other"


def summarize(collapsed: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_s)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        self_[frames[-1]] += count
        layers[_layer(frames)] += count
    print(f"\n{total} samples")
    print("\nby layer (innermost matching frame)")
    for name, count in layers.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print(f"\ntop {top} interconn functions by inclusive share")
    own = [
        (f, c)
        for f, c in inclusive.most_common()
        if "interconn/" in f
        and "__main__" not in f
        and "cli/main" not in f
        and "server.py" not in f
    ]
    for frame, count in own[:top]:
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print(f"\ntop {top} functions by self share")
    for frame, count in self_.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame}")


def _short(frame: str) -> str:
    # py-spy frames look like "function (path/to/file.py:123)"; drop the line number and
    # shorten site-packages paths so the same function aggregates across call sites.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--target", choices=["node_query", "contract_query"], default="contract_query"
    )
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--all-threads",
        action="store_true",
        help="sample every thread with --native (C frames, e.g. SQLite), not only the GIL holder",
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/interconn-node-profile.txt"))
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    root = Path(tempfile.mkdtemp(prefix="interconn-profile-"))
    a = NodeProcess(root / "bank-a", node_id="bank-a", name="Bank A")
    b = NodeProcess(root / "data-b", node_id="data-b", name="Data Co B")
    pool: WorkerPool | None = None
    try:
        for node in (a, b):
            node.init()
            node.start()
        contract_id = approved_contract(a, b)
        assert b.proc is not None
        signer = signer_for(a, b)
        if args.target == "node_query":
            target = Target(
                "node_query",
                "127.0.0.1",
                b.partner_port,
                endpoint_path("node.query"),
                signer=signer,
            )
        else:
            target = Target(
                "contract_query",
                "127.0.0.1",
                b.partner_port,
                endpoint_path("contract.query"),
                raw_query=f"contract_id={contract_id}",
                signer=signer,
            )
        smoke_test(target)
        pool = WorkerPool(args.procs)
        warmup = 1.0
        start_at = time.monotonic() + 0.5
        pool.submit(
            [
                Job(
                    target=target,
                    mode="http",
                    client="raw",
                    connections=max(1, n),
                    start_at=start_at,
                    warmup_s=warmup,
                    duration_s=args.seconds + 1,
                )
                for n in split(args.concurrency, args.procs)
            ]
        )
        time.sleep(start_at + warmup - time.monotonic())
        subprocess.run(
            [
                py_spy,
                "record",
                "--pid",
                str(b.proc.pid),
                *(["--native"] if args.all_threads else ["--gil"]),
                "--rate",
                str(args.rate),
                "--duration",
                str(int(args.seconds)),
                "--format",
                "raw",
                "--output",
                str(args.out),
                *([] if args.all_threads else ["--nonblocking"]),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = pool.collect()
        done = sum(r.completed for r in results)
        errors = sum(r.errors_total for r in results)
        print(
            f"{args.target}: {done / (args.seconds + 1):.0f} req/s under the profiler "
            f"(py-spy adds overhead), {errors} errors; collapsed stacks in {args.out}"
        )
        summarize(args.out, args.top)
        return 1 if errors else 0
    finally:
        if pool is not None:
            pool.close()
        for node in (a, b):
            node.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
