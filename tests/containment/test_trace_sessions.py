"""Traces of many agent runs: each ``session`` is replayed in its own guard session."""

from __future__ import annotations

import json

import pytest

from corrigible.containment.guard import Guard, TraceError, default_policy_path, parse_trace, replay

SECRET = (
    "The Halberd grid controller runs HX-7 firmware on a dual-core lockstep processor and a "
    "fail-safe relay achieves a 12-millisecond switchover between primary and backup feeds."
)


def _line(session: str | None, **event: object) -> str:
    return json.dumps({**event, **({"session": session} if session is not None else {})})


def _leak(session: str | None) -> str:
    return _line(
        session,
        type="tool_call",
        tool="email",
        arguments={"to": "someone@stratavance.com", "subject": "spec", "body": SECRET},
    )


def test_a_secret_read_in_one_session_does_not_taint_another() -> None:
    read = _line(
        "a", type="tool_result", tool="read_email", content=SECRET, labels=["confidential"]
    )
    events = parse_trace([read, _leak("a"), _leak("b")])
    decisions = [(e.session, d.effect) for e, d in replay(Guard(default_policy_path()), events)]
    assert decisions == [("a", "block"), ("b", "allow")]


def test_lines_without_a_session_share_the_first_session() -> None:
    read = _line(
        None, type="tool_result", tool="read_email", content=SECRET, labels=["confidential"]
    )
    events = parse_trace([read, _leak(None)])
    assert [d.effect for _, d in replay(Guard(default_policy_path()), events)] == ["block"]


@pytest.mark.parametrize("session", [True, 1.5, [], {}])
def test_a_session_that_is_not_a_name_is_a_trace_error(session: object) -> None:
    line = json.dumps({"type": "message", "role": "user", "content": "hi", "session": session})
    with pytest.raises(TraceError, match="line 1: field session: expected a string or an integer"):
        parse_trace([line])
