"""The dataset catalogue: what the operator registers and what partners may browse."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, column, func, select, text, update
from sqlalchemy.orm import Session

from interconn.context import NodeContext
from interconn.datasets.inference import DATA_TYPES, human_size
from interconn.datasets.models import CatalogueStats, Dataset, DatasetAuthorization, Permit
from interconn.errors import AccessDenied, NotFound, OperatorError
from interconn.protocol.lifecycle import State
from interconn.security import auth
from interconn.wire.common import to_epoch_ms
from interconn.wire.dataset import (
    DatasetListParams,
    DatasetQueryParams,
)

SOURCES = {"CSV", "DB", "HTTP", "HIVE_JDBC", "SPARK_ON_HIVE", "HBASE"}
_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


# --------------------------------------------------------------------------- operator side


def _stats(session: Session) -> None:
    if session.get(CatalogueStats, 1) is None:
        session.add(CatalogueStats(id=1, public_count=0))
        session.flush()


def _bump_public(session: Session, delta: int) -> None:
    _stats(session)
    session.execute(
        update(CatalogueStats)
        .where(CatalogueStats.id == 1)
        .values(public_count=CatalogueStats.public_count + delta)
    )


def _check_columns(columns: list[dict[str, Any]]) -> None:
    names = [c.get("name") for c in columns]
    if any(not isinstance(n, str) or not n for n in names):
        raise OperatorError("every column needs a name")
    if len({str(n).lower() for n in names}) != len(names):
        raise OperatorError("column names must be unique")
    for c in columns:
        if c.get("data_type") and str(c["data_type"]).lower() not in DATA_TYPES:
            raise OperatorError(f"column {c['name']}: unknown data_type {c['data_type']!r}")
        if c.get("distribution") and c["distribution"] not in ("DISCRETE", "CONTINUOUS"):
            raise OperatorError(f"column {c['name']}: distribution is DISCRETE or CONTINUOUS")


def register(
    session: Session,
    *,
    name: str,
    columns: list[dict[str, Any]],
    row_count: int,
    size_bytes: int,
    now: datetime,
    dataset_id: str | None = None,
    category: str = "",
    description: str = "",
    owner: str = "",
    source: str = "CSV",
    location: str = "",
    public: bool = False,
    join_columns: list[str] | None = None,
    label_columns: list[str] | None = None,
    expired_time: datetime | None = None,
) -> Dataset:
    dataset_id = dataset_id or "ds-" + secrets.token_hex(8)
    if not _ID_RE.match(dataset_id):
        raise OperatorError("dataset_id: 1-128 characters of letters, digits and . _ : -")
    if not name.strip():
        raise OperatorError("name must not be empty")
    if source.upper() not in SOURCES:
        raise OperatorError(f"source must be one of {', '.join(sorted(SOURCES))}")
    if row_count < 0 or size_bytes < 0:
        raise OperatorError("row_count and size_bytes must not be negative")
    _check_columns(columns)
    known = {c["name"] for c in columns}
    for label, cols in (("join_columns", join_columns), ("label_columns", label_columns)):
        missing = set(cols or []) - known
        if missing:
            raise OperatorError(f"{label} names unknown columns: {', '.join(sorted(missing))}")
    if session.scalar(select(Dataset.id).where(Dataset.dataset_id == dataset_id)) is not None:
        raise OperatorError(f"dataset {dataset_id!r} already exists")
    row = Dataset(
        dataset_id=dataset_id,
        name=name.strip(),
        category=category,
        description=description,
        owner=owner,
        source=source.upper(),
        location=location,
        row_count=row_count,
        size_bytes=size_bytes,
        columns=columns,
        join_columns=join_columns or [],
        label_columns=label_columns or [],
        public=public,
        expired_time=expired_time,
        created_at=now,
        modified_at=now,
    )
    session.add(row)
    if public:
        _bump_public(session, 1)
    return row


def get(session: Session, dataset_id: str) -> Dataset:
    row = session.scalar(select(Dataset).where(Dataset.dataset_id == dataset_id))
    if row is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    return row


def edit(session: Session, *, dataset_id: str, changes: dict[str, Any]) -> Dataset:
    row = get(session, dataset_id)
    allowed = {
        "name",
        "category",
        "description",
        "owner",
        "expired_time",
        "join_columns",
        "label_columns",
    }
    unknown = set(changes) - allowed - {"public"}
    if unknown:
        raise OperatorError(f"cannot edit {', '.join(sorted(unknown))}")
    if "public" in changes and changes["public"] is not None:
        set_public(session, dataset_id=dataset_id, public=bool(changes["public"]))
    for field in allowed & set(changes):
        if changes[field] is not None:
            setattr(row, field, changes[field])
    return row


def set_public(session: Session, *, dataset_id: str, public: bool) -> Dataset:
    row = get(session, dataset_id)
    if row.public != public:
        row.public = public
        _bump_public(session, 1 if public else -1)
    return row


def approved_authorizations(session: Session, dataset_id: str) -> list[DatasetAuthorization]:
    return list(
        session.scalars(
            select(DatasetAuthorization).where(
                DatasetAuthorization.dataset_id == dataset_id,
                DatasetAuthorization.role == "PARTNER",
                DatasetAuthorization.status.in_([State.APPROVED.value, State.APPLIED.value]),
            )
        )
    )


def delete(session: Session, *, dataset_id: str) -> None:
    """Remove a dataset; the caller has ended its live authorizations first."""
    row = get(session, dataset_id)
    if row.public:
        _bump_public(session, -1)
    session.delete(row)


# --------------------------------------------------------------------------- partner side


# Names of at least this many characters use the substring index (trigrams need three).
_INDEXED_MIN = 3
_FTS = "datasets_name_idx"  # see migration 0005


def _name_contains(session: Session, fragment: str) -> ColumnElement[bool]:
    """Case-insensitive substring match on the name, through the trigram index if there is
    one (SQLite FTS5; on PostgreSQL the pg_trgm index serves ILIKE directly)."""
    if session.get_bind().dialect.name == "sqlite" and len(fragment) >= _INDEXED_MIN:
        phrase = '"' + fragment.replace('"', '""') + '"'
        matching = text(f"SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH :phrase").bindparams(
            phrase=phrase
        )
        return Dataset.id.in_(matching.columns(column("rowid", Integer)))
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Dataset.name.ilike(f"%{escaped}%", escape="\\")


def _summary(row: Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset_id": row.dataset_id,
        "name": row.name,
        "category": row.category,
        "count": row.row_count,
        "description": row.description,
        "owner": row.owner,
    }
    if row.join_columns:
        out["join_columns"] = row.join_columns
    return out


def detail(row: Dataset) -> dict[str, Any]:
    out = _summary(row)
    out.update(
        id=row.id,
        row_cnt=row.row_count,
        size=row.size_bytes,
        size_str=human_size(row.size_bytes),
        source=row.source,
        avatar_type=row.source,
        column_metas=row.columns,
        label_columns=row.label_columns,
        create_time=to_epoch_ms(row.created_at),
        modified_time=to_epoch_ms(row.modified_at),
    )
    if row.expired_time is not None:
        out["expired_time"] = to_epoch_ms(row.expired_time)
    return out


def check_contract_param(caller: auth.Caller, contract_id: str | None) -> None:
    """A contract_id the caller passes must be its own active contract with us."""
    if contract_id and (caller.contract is None or caller.contract.contract_id != contract_id):
        raise AccessDenied(
            f"contract {contract_id!r} is not your active contract with this node",
            code_name="CONTRACT_MISMATCH",
        )


def list_public(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: DatasetListParams
) -> dict[str, Any]:
    check_contract_param(caller, req.contract_id)
    stmt = select(Dataset).where(Dataset.public.is_(True))
    filtered = bool(req.dataset_id or req.name)
    if req.dataset_id:
        stmt = stmt.where(Dataset.dataset_id == req.dataset_id)
    if req.name:
        stmt = stmt.where(_name_contains(session, req.name))
    if filtered:
        total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    else:
        stats = session.get(CatalogueStats, 1)
        total = stats.public_count if stats else 0
    stmt = stmt.order_by(Dataset.id).offset(req.offset)
    if req.limit is not None:
        stmt = stmt.limit(req.limit)
    return {"total": total, "records": [_summary(r) for r in session.scalars(stmt)]}


def query_detail(
    session: Session, ctx: NodeContext, caller: auth.Caller, req: DatasetQueryParams
) -> dict[str, Any]:
    """Public datasets for any contracted caller; others only with a valid permit (one use)."""
    from interconn.datasets import permits

    check_contract_param(caller, req.contract_id)
    row = session.scalar(select(Dataset).where(Dataset.dataset_id == req.dataset_id))
    presented = permits.presents(caller.token_set, permits.RESOURCE_DATASET, req.dataset_id)
    # Without a permit, a non-public dataset is indistinguishable from a missing one.
    if row is None or (not row.public and not presented):
        raise NotFound(
            f"no public dataset {req.dataset_id!r} (a non-public one needs a permit for "
            f"{permits.resource_name(permits.RESOURCE_DATASET, req.dataset_id)} "
            "in x-mprac-token-set)"
        )
    if not row.public:
        permits.use_permit(
            session,
            token_set=caller.token_set,
            credential=ctx.node.key.public_credential(),
            caller_node_id=caller.node_id,
            resource_type=permits.RESOURCE_DATASET,
            resource_id=row.dataset_id,
            now=ctx.clock(),
        )
    return detail(row)


def permit_rows(session: Session, authorization_id: str) -> list[Permit]:
    return list(session.scalars(select(Permit).where(Permit.authorization_id == authorization_id)))
