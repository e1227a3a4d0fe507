"""The transition table, exhaustively: every kind x role x origin x state x event."""

from __future__ import annotations

import itertools

import pytest

from interconn.protocol.lifecycle import (
    FINAL_STATES,
    TABLE,
    Event,
    IllegalTransition,
    Kind,
    Message,
    Origin,
    Role,
    State,
    event_for_status,
    fire,
    mermaid,
)

I, P = Role.INITIATOR, Role.PARTNER  # noqa: E741
L, R = Origin.LOCAL, Origin.REMOTE
A, AP, RJ, T = State.APPLIED, State.APPROVED, State.REJECTED, State.TERMINATED
N = None

# The whole protocol, written out by hand independently of the table's construction:
# (role, origin, state, event) -> (new state, changed, message to send). Absent = illegal.
EXPECTED: dict[tuple[Role, Origin, State | None, Event], tuple[State, bool, Message | None]] = {
    # initiator
    (I, L, N, Event.APPLY): (A, True, Message.APPLY),
    (I, L, A, Event.APPLY): (A, False, None),
    (I, L, AP, Event.APPLY): (AP, False, None),
    (I, L, RJ, Event.APPLY): (RJ, False, None),
    (I, L, T, Event.APPLY): (T, False, None),
    (I, R, A, Event.APPROVE): (AP, True, None),
    (I, R, AP, Event.APPROVE): (AP, False, None),
    (I, R, A, Event.REJECT): (RJ, True, None),
    (I, R, RJ, Event.REJECT): (RJ, False, None),
    (I, L, A, Event.TERMINATE): (T, True, Message.TERMINATE),
    (I, L, AP, Event.TERMINATE): (T, True, Message.TERMINATE),
    (I, L, T, Event.TERMINATE): (T, False, None),
    (I, L, RJ, Event.TERMINATE): (RJ, False, None),
    (I, R, A, Event.TERMINATE): (T, True, None),
    (I, R, AP, Event.TERMINATE): (T, True, None),
    (I, R, T, Event.TERMINATE): (T, False, None),
    (I, R, RJ, Event.TERMINATE): (RJ, False, None),
    # partner
    (P, R, N, Event.APPLY): (A, True, None),
    (P, R, A, Event.APPLY): (A, False, None),
    (P, R, AP, Event.APPLY): (AP, False, None),
    (P, R, RJ, Event.APPLY): (RJ, False, None),
    (P, R, T, Event.APPLY): (T, False, None),
    (P, L, A, Event.APPROVE): (AP, True, Message.CONFIRM),
    (P, L, AP, Event.APPROVE): (AP, False, None),
    (P, L, A, Event.REJECT): (RJ, True, Message.CONFIRM),
    (P, L, RJ, Event.REJECT): (RJ, False, None),
    (P, L, AP, Event.TERMINATE): (T, True, Message.TERMINATE),
    (P, L, T, Event.TERMINATE): (T, False, None),
    (P, L, RJ, Event.TERMINATE): (RJ, False, None),
    (P, R, A, Event.TERMINATE): (T, True, None),
    (P, R, AP, Event.TERMINATE): (T, True, None),
    (P, R, T, Event.TERMINATE): (T, False, None),
    (P, R, RJ, Event.TERMINATE): (RJ, False, None),
}

ALL = list(itertools.product(Kind, Role, Origin, [None, *State], Event))


@pytest.mark.parametrize(("kind", "role", "origin", "state", "event"), ALL)
def test_every_combination(
    kind: Kind, role: Role, origin: Origin, state: State | None, event: Event
) -> None:
    expected = EXPECTED.get((role, origin, state, event))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            fire(kind, role, origin, state, event)
        assert str(event) in str(info.value)
        return
    move = fire(kind, role, origin, state, event)
    assert (move.new_state, move.changed, move.notify) == expected


def test_table_has_nothing_beyond_the_expected_protocol() -> None:
    assert set(TABLE) == set(EXPECTED)


def test_final_states_stay_final() -> None:
    for (_, _, state, _), move in TABLE.items():
        if state in FINAL_STATES:
            assert move.new_state == state and not move.changed


def test_remote_moves_never_send_and_local_changes_always_do() -> None:
    for (_, origin, _, _), move in TABLE.items():
        if origin is Origin.REMOTE or not move.changed:
            assert move.notify is None
        else:
            assert move.notify is not None


def test_contradicting_confirm_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        fire(Kind.DATASET, I, R, AP, Event.REJECT)
    with pytest.raises(IllegalTransition):
        fire(Kind.DATASET, I, R, RJ, Event.APPROVE)
    with pytest.raises(IllegalTransition):
        fire(Kind.CONTRACT, I, R, T, Event.APPROVE)


def test_partner_declines_pending_with_reject_not_terminate() -> None:
    with pytest.raises(IllegalTransition, match="not allowed"):
        fire(Kind.CONTRACT, P, L, A, Event.TERMINATE)


def test_status_to_event() -> None:
    assert [event_for_status(s) for s in State] == [
        Event.APPLY,
        Event.APPROVE,
        Event.REJECT,
        Event.TERMINATE,
    ]


def test_mermaid_lists_each_changing_move_once() -> None:
    diagram = mermaid().splitlines()
    assert diagram[0] == "stateDiagram-v2"
    changing = [m for m in TABLE.values() if m.changed]
    assert len(diagram) - 1 == len(changing)
    assert "    [*] --> APPLIED: initiator local APPLY" in diagram
