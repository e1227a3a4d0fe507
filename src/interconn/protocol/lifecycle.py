"""The two-party approval lifecycle as data.

Every approval kind (node contract, dataset authorization, project, flow, job, model)
follows one pattern (NOTES.md section 1): the initiator applies, the partner decides, the
decision travels back as a confirm callback, and either side may terminate. This module
holds that pattern as a transition table and nothing else: no I/O, no clock, no database.

A move is looked up by ``(kind, role, origin, state, event)``:

* ``role``   which side *this node* plays in the record (INITIATOR or PARTNER);
* ``origin`` whether the event was decided here (LOCAL) or announced by the peer (REMOTE);
* ``state``  the record's current state, ``None`` before it exists.

The answer is a ``Move``: the new state, whether anything changed (repeated messages are
idempotent no-ops, so a retried callback gets the same answer), and which message, if any,
the peer must be told about. Anything not in the table raises ``IllegalTransition``:
final states stay final and contradictions are refused, never silently overwritten.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


class State(enum.StrEnum):
    APPLIED = "APPLIED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    TERMINATED = "TERMINATED"


FINAL_STATES: Final = frozenset({State.REJECTED, State.TERMINATED})


class Kind(enum.StrEnum):
    CONTRACT = "contract"
    DATASET = "dataset"
    PROJECT = "project"
    FLOW = "flow"
    JOB = "job"
    MODEL = "model"


class Role(enum.StrEnum):
    INITIATOR = "INITIATOR"
    PARTNER = "PARTNER"


class Origin(enum.StrEnum):
    LOCAL = "LOCAL"
    REMOTE = "REMOTE"


class Event(enum.StrEnum):
    APPLY = "APPLY"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    TERMINATE = "TERMINATE"


class Message(enum.StrEnum):
    """What the peer must be told after a local decision (sent through the outbox)."""

    APPLY = "apply"
    CONFIRM = "confirm"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class Move:
    new_state: State
    changed: bool
    notify: Message | None


class IllegalTransition(Exception):
    def __init__(
        self, kind: Kind, role: Role, origin: Origin, state: State | None, event: Event
    ) -> None:
        self.kind, self.role, self.origin, self.state, self.event = kind, role, origin, state, event
        where = "a new record" if state is None else f"a record in state {state}"
        super().__init__(
            f"{origin.lower()} {event} is not allowed on {where} ({kind} {role.lower()} side)"
        )


Key = tuple[Role, Origin, State | None, Event]

# The real moves, shared by every kind. Comments say why a move exists.
_BASE: Final[dict[Key, State]] = {
    # The initiator creates its record when it decides to apply.
    (Role.INITIATOR, Origin.LOCAL, None, Event.APPLY): State.APPLIED,
    # The partner's decision reaches the initiator by callback or by query fallback.
    (Role.INITIATOR, Origin.REMOTE, State.APPLIED, Event.APPROVE): State.APPROVED,
    (Role.INITIATOR, Origin.REMOTE, State.APPLIED, Event.REJECT): State.REJECTED,
    # Withdrawing a pending request, or ending an approved one.
    (Role.INITIATOR, Origin.LOCAL, State.APPLIED, Event.TERMINATE): State.TERMINATED,
    (Role.INITIATOR, Origin.LOCAL, State.APPROVED, Event.TERMINATE): State.TERMINATED,
    # The partner may terminate after approving even if its approval never reached us.
    (Role.INITIATOR, Origin.REMOTE, State.APPLIED, Event.TERMINATE): State.TERMINATED,
    (Role.INITIATOR, Origin.REMOTE, State.APPROVED, Event.TERMINATE): State.TERMINATED,
    # The partner stores the request, then a person or policy decides.
    (Role.PARTNER, Origin.REMOTE, None, Event.APPLY): State.APPLIED,
    (Role.PARTNER, Origin.LOCAL, State.APPLIED, Event.APPROVE): State.APPROVED,
    (Role.PARTNER, Origin.LOCAL, State.APPLIED, Event.REJECT): State.REJECTED,
    # A pending request is declined with REJECT, so the partner terminates only approved ones.
    (Role.PARTNER, Origin.LOCAL, State.APPROVED, Event.TERMINATE): State.TERMINATED,
    # The initiator withdraws a pending request or ends an approved one.
    (Role.PARTNER, Origin.REMOTE, State.APPLIED, Event.TERMINATE): State.TERMINATED,
    (Role.PARTNER, Origin.REMOTE, State.APPROVED, Event.TERMINATE): State.TERMINATED,
}

_NOTIFY: Final[dict[Event, Message]] = {
    Event.APPLY: Message.APPLY,
    Event.APPROVE: Message.CONFIRM,
    Event.REJECT: Message.CONFIRM,
    Event.TERMINATE: Message.TERMINATE,
}


def _build() -> dict[Key, Move]:
    table: dict[Key, Move] = {}
    for (role, origin, state, event), new in _BASE.items():
        notify = _NOTIFY[event] if origin is Origin.LOCAL else None
        table[(role, origin, state, event)] = Move(new, True, notify)
    for role in Role:
        for origin in Origin:
            for event in Event:
                targets = {
                    new for (r, o, _, e), new in _BASE.items() if (r, o, e) == (role, origin, event)
                }
                for state in State:
                    key = (role, origin, state, event)
                    if key in table:
                        continue
                    if event is Event.APPLY and targets:
                        # The same apply twice gets the same answer: the current state.
                        table[key] = Move(state, False, None)
                    elif state in targets:
                        # A retried confirm or terminate that already took effect.
                        table[key] = Move(state, False, None)
                    elif event is Event.TERMINATE and state is State.REJECTED and targets:
                        # Ending what already ended: nothing to do, and REJECTED stays REJECTED
                        # (never rewritten to TERMINATED, which made partners diverge).
                        table[key] = Move(state, False, None)
    return table


TABLE: Final[dict[Key, Move]] = _build()


def fire(kind: Kind, role: Role, origin: Origin, state: State | None, event: Event) -> Move:
    """Return the move for this event, or raise ``IllegalTransition``.

    ``kind`` is part of the key so a kind can diverge from the shared table later without
    changing any caller; today every kind shares one table.
    """
    try:
        return TABLE[(role, origin, state, event)]
    except KeyError:
        raise IllegalTransition(kind, role, origin, state, event) from None


def event_for_status(status: State) -> Event:
    """The event a peer announces by reporting ``status`` (confirm body or query answer)."""
    mapping = {
        State.APPROVED: Event.APPROVE,
        State.REJECTED: Event.REJECT,
        State.TERMINATED: Event.TERMINATE,
        State.APPLIED: Event.APPLY,
    }
    return mapping[status]


def mermaid() -> str:
    """A state diagram of the real (changing) moves, generated from the table for the docs."""
    lines = ["stateDiagram-v2"]
    for (role, origin, state, event), move in sorted(
        TABLE.items(), key=lambda kv: (kv[0][0], str(kv[0][2]), kv[0][3], kv[0][1])
    ):
        if not move.changed:
            continue
        src = "[*]" if state is None else state.value
        lines.append(
            f"    {src} --> {move.new_state.value}: {role.lower()} {origin.lower()} {event}"
        )
    return "\n".join(lines)
