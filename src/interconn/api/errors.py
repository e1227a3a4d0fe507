"""Domain errors -> HTTP status and envelope, in one place for both apps."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from interconn.errors import CODES, InterconnError, StateConflict
from interconn.protocol.lifecycle import IllegalTransition
from interconn.wire.common import error

log = logging.getLogger("interconn.api")


def to_envelope(exc: BaseException) -> tuple[int, dict[str, object], str]:
    """Return (HTTP status, body, code name) for any exception raised while serving."""
    if isinstance(exc, IllegalTransition):
        exc = StateConflict(str(exc))
    if isinstance(exc, StaleDataError):
        exc = StateConflict("the record was changed concurrently; read it again and retry")
    if isinstance(exc, InterconnError):
        return exc.http_status, error(exc.code, exc.msg, exc.data), exc.code_name
    if isinstance(exc, OperationalError | DBAPIError):
        log.error("database error: %s", exc)
        unavailable = CODES["UNAVAILABLE"]
        return (
            unavailable.http_status,
            error(unavailable.code, "database unavailable or busy; retry later"),
            unavailable.name,
        )
    log.error("unexpected error", exc_info=exc)
    internal = CODES["INTERNAL"]
    return internal.http_status, error(internal.code, "internal error; retry later"), internal.name
