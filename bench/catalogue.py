"""Public catalogue listing: 1,000,000 registered datasets vs 1,000, measured in one run.

Builds two SQLite node databases (every 10th dataset private), then times the partner-facing
``dataset/pub/list`` service (the same function the route calls, inside a unit of work, so
HTTP noise does not hide the database cost) for: the first page, a later page, an exact
``dataset_id`` filter and a ``name`` substring filter. Prints medians and the ratio
large/small per case; the goal for unfiltered pages is a ratio <= 1.5.

    .venv/bin/python bench/catalogue.py [--large 1000000] [--small 1000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from interconn.datasets import catalogue
from interconn.datasets.models import CatalogueStats, Dataset
from interconn.db import migrate
from interconn.db.base import make_engine, utcnow
from interconn.db.uow import Database
from interconn.security.auth import Caller
from interconn.wire.dataset import DatasetListParams

COLUMNS = [
    {"name": "id", "data_type": "bigint", "distribution": "CONTINUOUS"},
    {"name": "score", "data_type": "double", "distribution": "CONTINUOUS"},
]


def build(path: Path, n: int) -> Database:
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    db = Database(engine)
    now = utcnow()
    batch = 20_000
    with db.unit_of_work() as session:
        for start in range(0, n, batch):
            rows = [
                {
                    "dataset_id": f"ds-{i:08d}",
                    "name": f"dataset {i} {'retail' if i % 7 else 'loans'}",
                    "category": "bench",
                    "description": "",
                    "owner": "bench",
                    "source": "CSV",
                    "location": "",
                    "row_count": i,
                    "size_bytes": i * 10,
                    "columns": COLUMNS,
                    "join_columns": ["id"],
                    "label_columns": [],
                    "public": i % 10 != 0,
                    "created_at": now,
                    "modified_at": now,
                }
                for i in range(start, min(n, start + batch))
            ]
            session.execute(insert(Dataset), rows)
        public = session.scalar(select(func.count()).select_from(Dataset).where(Dataset.public))
        session.execute(
            update(CatalogueStats).where(CatalogueStats.id == 1).values(public_count=public)
        )
    return db


def timed(db: Database, params: dict[str, Any], repeat: int) -> tuple[float, dict[str, Any]]:
    req = DatasetListParams.model_validate(params)
    caller = Caller("bench-node", None, None)
    samples = []
    result: dict[str, Any] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        with db.unit_of_work() as session:
            result = catalogue.list_public(session, None, caller, req)  # type: ignore[arg-type]
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        small = build(Path(tmp) / "small.db", args.small)
        large = build(Path(tmp) / "large.db", args.large)
        print(
            f"built {args.small:,} and {args.large:,} datasets in {time.perf_counter() - t0:.1f} s"
        )
        cases: list[tuple[str, dict[str, Any], bool]] = [
            ("first page (20)", {}, True),
            ("page 30 (20)", {"page_num": 30}, True),
            ("page of 500", {"page_size": 500}, True),
            ("dataset_id filter", {"dataset_id": "ds-00000501"}, True),
            ("name contains 'loans'", {"name": "loans"}, False),
            ("name contains 'dataset 123456'", {"name": "dataset 123456"}, False),
        ]
        print(f"{'case':<32}{'1k (ms)':>10}{'1M (ms)':>10}{'ratio':>8}  total(1M) ok")
        worst = 0.0
        for label, params, gated in cases:
            ts, _ = timed(small, params, args.repeat)
            tl, result = timed(large, params, max(5, args.repeat // (1 if gated else 40)))
            ratio = tl / ts
            if gated:
                worst = max(worst, ratio)
            with large.read() as session:
                stmt = select(func.count()).select_from(Dataset).where(Dataset.public)
                if "dataset_id" in params:
                    stmt = stmt.where(Dataset.dataset_id == params["dataset_id"])
                if "name" in params:
                    stmt = stmt.where(Dataset.name.contains(params["name"]))
                expected = session.scalar(stmt)
            ok = result["total"] == expected
            print(
                f"{label:<32}{ts * 1000:>10.3f}{tl * 1000:>10.3f}{ratio:>8.2f}  "
                f"{result['total']:>9,} {'yes' if ok else 'NO'}"
                + ("" if gated else "  (substring: trigram index, not gated)")
            )
            if not ok:
                raise SystemExit(f"wrong total for {label}")
        print(
            f"worst unfiltered/indexed ratio: {worst:.2f} (goal <= 1.5): "
            f"{'met' if worst <= 1.5 else 'NOT met'}"
        )
        small.dispose()
        large.dispose()


if __name__ == "__main__":
    main()
