"""One documented tree of errors, each with a stable wire code.

The tree answers one question for whoever catches an error: *whose fault is it*?

    InterconnError
    +-- ProtocolError          the partner broke the protocol (HTTP 4xx, do not retry)
    |   +-- MalformedRequest   body, query or header cannot be parsed
    |   +-- AuthError          signature / replay / clock / identity failures
    |   +-- AccessDenied       authenticated, but no contract or permit allows it
    |   +-- NotFound           the named record does not exist (for this caller)
    |   +-- StateConflict      the lifecycle refuses the move
    +-- OperatorError          the local operator asked for something invalid (HTTP 4xx)
    +-- PartnerError           a partner answered our call with an error, or not at all
    +-- InternalError          we failed (HTTP 5xx, worth retrying)

``CODES`` is the single table of wire codes; ``docs/errors.md`` is generated from it and a
test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    code: int
    name: str
    http_status: int
    meaning: str


CODES: dict[str, ErrorCode] = {
    c.name: c
    for c in [
        ErrorCode(0, "OK", 200, "Success."),
        ErrorCode(
            10001,
            "MALFORMED_BODY",
            400,
            "The body is not valid JSON or misses or mistypes a field.",
        ),
        ErrorCode(10002, "MALFORMED_QUERY", 400, "A query parameter is missing or invalid."),
        ErrorCode(10003, "MALFORMED_HEADER", 400, "A required header is missing or malformed."),
        ErrorCode(10004, "WRONG_TARGET", 400, "x-target-node-id names another node."),
        ErrorCode(10101, "SIGNATURE_MISSING", 401, "x-auth-sign is required on this call."),
        ErrorCode(
            10102,
            "SIGNATURE_INVALID",
            401,
            "x-auth-sign does not verify against the agreed credential.",
        ),
        ErrorCode(10103, "TIMESTAMP_SKEWED", 401, "x-timestamp is outside the accepted window."),
        ErrorCode(
            10104, "NONCE_INVALID", 401, "x-nonce is not 16-128 characters of [A-Za-z0-9_-]."
        ),
        ErrorCode(10105, "NONCE_REPLAYED", 401, "This (source node, nonce) pair was already used."),
        ErrorCode(
            10106,
            "CREDENTIAL_INVALID",
            400,
            "auth_type/auth_credential is unsupported or not a valid PEM key or certificate.",
        ),
        ErrorCode(10107, "UNKNOWN_NODE", 401, "The calling node has no contract with this node."),
        ErrorCode(10201, "CONTRACT_NOT_APPROVED", 403, "The caller's contract is not APPROVED."),
        ErrorCode(10202, "CONTRACT_EXPIRED", 403, "The caller's contract has expired."),
        ErrorCode(
            10203,
            "CONTRACT_MISMATCH",
            403,
            "The contract_id given does not belong to the calling node.",
        ),
        ErrorCode(
            10204,
            "PERMIT_INVALID",
            403,
            "A resource permit is forged, expired, revoked, used up, "
            "or not for this caller or resource.",
        ),
        ErrorCode(10205, "FORBIDDEN", 403, "The caller may not see or change this resource."),
        ErrorCode(10301, "NOT_FOUND", 404, "No such record for this caller."),
        ErrorCode(
            10401,
            "STATE_CONFLICT",
            409,
            "The lifecycle does not allow this move from the current state.",
        ),
        ErrorCode(
            10402, "DUPLICATE", 409, "A record with this id already exists with different content."
        ),
        ErrorCode(20001, "OPERATOR_INPUT", 400, "The operator's request is invalid."),
        ErrorCode(20002, "UNAUTHORIZED", 401, "The admin bearer token is missing or wrong."),
        ErrorCode(30001, "PARTNER_UNREACHABLE", 502, "The partner node could not be reached."),
        ErrorCode(30002, "PARTNER_REFUSED", 502, "The partner node answered with an error."),
        ErrorCode(
            30003,
            "PARTNER_PROTOCOL",
            502,
            "The partner node answered something this profile does not allow.",
        ),
        ErrorCode(50001, "INTERNAL", 500, "Internal error; retry later."),
        ErrorCode(
            50002, "UNAVAILABLE", 503, "The node is not ready (database unavailable or busy)."
        ),
    ]
}


class InterconnError(Exception):
    """Base of every error this package raises on purpose."""

    code_name: str = "INTERNAL"

    def __init__(self, msg: str, *, code_name: str | None = None, data: Any = None) -> None:
        super().__init__(msg)
        self.msg = msg
        if code_name is not None:
            if code_name not in CODES:
                raise KeyError(f"undocumented error code {code_name}")
            self.code_name = code_name
        self.data = data

    @property
    def error_code(self) -> ErrorCode:
        return CODES[self.code_name]

    @property
    def code(self) -> int:
        return self.error_code.code

    @property
    def http_status(self) -> int:
        return self.error_code.http_status


class ProtocolError(InterconnError):
    """The calling partner broke the protocol; retrying the same request will not help."""

    code_name = "MALFORMED_BODY"


class MalformedRequest(ProtocolError):
    code_name = "MALFORMED_BODY"


class AuthError(ProtocolError):
    code_name = "SIGNATURE_INVALID"


class AccessDenied(ProtocolError):
    code_name = "FORBIDDEN"


class NotFound(ProtocolError):
    code_name = "NOT_FOUND"


class StateConflict(ProtocolError):
    code_name = "STATE_CONFLICT"


class OperatorError(InterconnError):
    """The local operator's input is invalid."""

    code_name = "OPERATOR_INPUT"


class PartnerError(InterconnError):
    """A partner answered our call with an error, or could not be reached.

    ``retryable`` tells the outbox whether another attempt may succeed.
    """

    code_name = "PARTNER_REFUSED"

    def __init__(
        self,
        msg: str,
        *,
        code_name: str | None = None,
        retryable: bool,
        status: int | None = None,
        remote_code: int | None = None,
    ) -> None:
        super().__init__(msg, code_name=code_name)
        self.retryable = retryable
        self.status = status
        self.remote_code = remote_code


class InternalError(InterconnError):
    code_name = "INTERNAL"
