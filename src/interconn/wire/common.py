"""Shared wire types: envelope, tolerant scalar types, permits, paging and parsing helpers.

Reading is tolerant (a node must accept the v1.0 seed and the v1.1+ forms, see
``spec/NOTES.md``); writing always produces the v1.2 form via :meth:`WireModel.wire_dict`.

Tolerance rules, implemented here once: unknown fields are ignored; strings are stripped and
numbers sent for strings are read as strings; statuses are case-insensitive; times
(:data:`EpochMs`), JSON documents (:data:`JsonObject`) and permits (:data:`PermitField`)
accept every form seen in the wild; ``""`` counts as absent for the ``Opt*`` aliases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
)

from interconn.errors import MalformedRequest
from interconn.protocol.lifecycle import State

# --------------------------------------------------------------------------- base model


class WireModel(BaseModel):
    """Base of every wire model: tolerant on input, v1.2 snake_case on output."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="ignore",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
    )

    def wire_dict(self) -> dict[str, Any]:
        """The v1.2 JSON form to send: field names, no ``None`` values, times as epoch ms."""
        return self.model_dump(mode="json", exclude_none=True)


# One status vocabulary for the wire and the lifecycle engine.
Status = State


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _is_decision(value: Status) -> Status:
    if value not in (Status.APPROVED, Status.REJECTED):
        raise ValueError("must be APPROVED or REJECTED")
    return value


StatusField = Annotated[Status, BeforeValidator(_upper)]
"""A :class:`Status`, read case-insensitively."""

Decision = Annotated[Status, BeforeValidator(_upper), AfterValidator(_is_decision)]
"""The status a confirm call carries: ``APPROVED`` or ``REJECTED`` only."""

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
"""A required identifier: non-empty after stripping, at most 256 characters."""

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A required text of any length (credentials, addresses, tokens)."""

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# --------------------------------------------------------------------------- times

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The standard's time zone for naive times (UTC+8, no daylight saving since 1991)."""

SECONDS_THRESHOLD = 10**11
"""Epoch numbers below this are seconds (10**11 s is the year 5138; 10**11 ms is 1973)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_TIME_HINT = "expected epoch milliseconds or an ISO-8601 time"


def _to_utc(value: Any) -> datetime:
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError("a naive datetime object is ambiguous; pass a timezone-aware one")
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            if moment.utcoffset() is None:
                moment = moment.replace(tzinfo=SHANGHAI)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            millis = value * 1000 if abs(value) < SECONDS_THRESHOLD else value
            moment = _EPOCH + timedelta(milliseconds=int(millis))
        else:
            raise ValueError(_TIME_HINT)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{_TIME_HINT} in range, got {value!r}") from exc
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


EpochMs = Annotated[
    datetime,
    BeforeValidator(_to_utc),
    PlainSerializer(to_epoch_ms, return_type=int, when_used="json"),
]
"""An instant: read from epoch ms/s, numeric string or ISO-8601; held as aware UTC
(millisecond precision); sent as int epoch ms."""

OptEpochMs = Annotated[EpochMs | None, BeforeValidator(_blank_to_none)]


# --------------------------------------------------------------------------- JSON objects


def decode_json_object(value: Any) -> Any:
    """Decode a JSON string that must hold an object; leave other values to validation."""
    if isinstance(value, str | bytes):
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from exc
        if not isinstance(decoded, dict):
            raise ValueError(f"JSON string must encode an object, not {type(decoded).__name__}")
        return decoded
    return value


JsonObject = Annotated[dict[str, Any], BeforeValidator(decode_json_object)]
"""A JSON object, sent as an object or as a string holding one (v1.0 ``dag``/``config``)."""

OptJsonObject = Annotated[JsonObject | None, BeforeValidator(_blank_to_none)]


# --------------------------------------------------------------------------- permits


def _either(name: str) -> AliasChoices:
    """Accept ``resource_x`` and the v1.0 misspelling ``resourse_x``."""
    return AliasChoices(name, name.replace("resource_", "resourse_"))


class ResourcePermit(WireModel):
    """A resource access permit handed out on approval (NOTES section 4)."""

    token: NonEmpty
    resource_level: str | None = Field(None, validation_alias=_either("resource_level"))
    resource_type: str | None = Field(None, validation_alias=_either("resource_type"))
    resource_id: str | None = Field(None, validation_alias=_either("resource_id"))
    resource_node_id: str | None = Field(None, validation_alias=_either("resource_node_id"))
    resource_inst_id: str | None = Field(None, validation_alias=_either("resource_inst_id"))
    request_node_id: str | None = None
    request_inst_id: str | None = None
    time_limit: Int64 | None = None
    times_limit: Int32 | None = None


def _permit_from_token(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            return decode_json_object(text)
        return {"token": text}
    return value


PermitField = Annotated[ResourcePermit, BeforeValidator(_permit_from_token)]
"""A permit sent as an object (dataset/project confirm) or as a token string (job/model)."""


def _empty_permit_to_none(value: Any) -> Any:
    return None if value == {} else _blank_to_none(value)


OptPermit = Annotated[PermitField | None, BeforeValidator(_empty_permit_to_none)]


# --------------------------------------------------------------------------- audits


class AuditIdParams(WireModel):
    """Query of one approval by ``audit_id`` (also spelled ``auditId``)."""

    audit_id: Id


class AuditStatusResponse(WireModel):
    """Answer to an approval query. ``resource_permit`` (extension) lets a poller that
    missed the confirm callback obtain the permit."""

    status: StatusField
    resource_permit: OptPermit = None


class AuditConfirmBase(WireModel):
    audit_id: Id
    status: Decision
    resource_permit: OptPermit = None


class AuditTerminateBase(WireModel):
    audit_id: Id


# --------------------------------------------------------------------------- paging

PAGE_SIZE_ALL = -1
PAGE_SIZE_MAX = 1000


def _check_page_size(value: int) -> int:
    if value != PAGE_SIZE_ALL and not 1 <= value <= PAGE_SIZE_MAX:
        raise ValueError(f"must be -1 (all) or between 1 and {PAGE_SIZE_MAX}")
    return value


class Page(WireModel):
    """Paging of list queries: ``page_num`` from 1, ``page_size`` 1..1000 or -1 for all."""

    page_num: int = Field(1, ge=1)
    page_size: Annotated[int, AfterValidator(_check_page_size)] = 20

    @property
    def offset(self) -> int:
        return 0 if self.page_size == PAGE_SIZE_ALL else (self.page_num - 1) * self.page_size

    @property
    def limit(self) -> int | None:
        """Rows to return, or ``None`` for all."""
        return None if self.page_size == PAGE_SIZE_ALL else self.page_size


T = TypeVar("T")


class PageData(WireModel, Generic[T]):
    total: int = Field(ge=0)
    records: list[T] = Field(default_factory=list)


# --------------------------------------------------------------------------- envelope


class Envelope(BaseModel):
    """Response body ``{"code", "msg", "data"}``; v1.0 peers answer ``code`` 200 on success."""

    model_config = ConfigDict(extra="ignore")

    code: int
    msg: str = ""
    data: Any = None

    @property
    def is_ok(self) -> bool:
        return self.code in (0, 200)


def _plain(data: Any) -> Any:
    if isinstance(data, WireModel):
        return data.wire_dict()
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", exclude_none=True)
    return data


def ok(data: Any = None) -> dict[str, Any]:
    """A success body; ``data`` defaults to ``{}`` and models are sent in v1.2 form."""
    return {"code": 0, "msg": "success", "data": {} if data is None else _plain(data)}


def error(code: int, msg: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": _plain(data)}


# --------------------------------------------------------------------------- parsing

M = TypeVar("M", bound=BaseModel)

QUERY_ALIASES: dict[str, str] = {
    "auditId": "audit_id",
    "contractId": "contract_id",
    "contract_Id": "contract_id",
    "projectId": "project_id",
    "datasetId": "dataset_id",
    "nodeId": "node_id",
    "pageNum": "page_num",
    "pageSize": "page_size",
}
"""Query-parameter spellings seen in the wild -> the canonical name (NOTES section 4)."""


def _describe(exc: ValidationError) -> tuple[str, list[dict[str, str]]]:
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "error": err["msg"]}
        for err in exc.errors(include_url=False)
    ]
    text = "; ".join(f"{p['field']}: {p['error']}" for p in problems)
    return text, problems


def _validate(model: type[M], obj: Any, code_name: str, what: str) -> M:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        text, problems = _describe(exc)
        raise MalformedRequest(
            f"invalid {what}: {text}", code_name=code_name, data={"errors": problems}
        ) from exc


def parse_body(model: type[M], raw: bytes) -> M:
    """Parse a UTF-8 JSON request body; an empty body reads as ``{}`` so that the missing
    fields get named."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"body is not UTF-8: {exc}", code_name="MALFORMED_BODY") from exc
    try:
        obj: Any = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise MalformedRequest(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            code_name="MALFORMED_BODY",
        ) from exc
    except RecursionError as exc:
        raise MalformedRequest("body is nested too deeply", code_name="MALFORMED_BODY") from exc
    if not isinstance(obj, dict):
        raise MalformedRequest(
            f"body must be a JSON object, not {type(obj).__name__}", code_name="MALFORMED_BODY"
        )
    return _validate(model, obj, "MALFORMED_BODY", "body")


def normalize_query(params: Mapping[str, str]) -> dict[str, str]:
    """Canonical parameter names; blank values count as absent; conflicting spellings fail."""
    result: dict[str, str] = {}
    for key in params:
        value = params[key]
        if not value.strip():
            continue
        name = QUERY_ALIASES.get(key, key)
        if name in result and result[name] != value:
            raise MalformedRequest(
                f"query parameter {name} given twice with different values",
                code_name="MALFORMED_QUERY",
            )
        result[name] = value
    return result


def parse_query(model: type[M], params: Mapping[str, str]) -> M:
    return _validate(model, normalize_query(params), "MALFORMED_QUERY", "query")


__all__ = [
    "PAGE_SIZE_ALL",
    "PAGE_SIZE_MAX",
    "QUERY_ALIASES",
    "SHANGHAI",
    "AuditConfirmBase",
    "AuditIdParams",
    "AuditStatusResponse",
    "AuditTerminateBase",
    "Decision",
    "Envelope",
    "EpochMs",
    "Id",
    "Int32",
    "Int64",
    "JsonObject",
    "NonEmpty",
    "OptEpochMs",
    "OptJsonObject",
    "OptPermit",
    "Page",
    "PageData",
    "PermitField",
    "ResourcePermit",
    "Status",
    "StatusField",
    "WireModel",
    "decode_json_object",
    "error",
    "normalize_query",
    "ok",
    "parse_body",
    "parse_query",
    "to_epoch_ms",
]
