"""Provenance that follows what the agent did: ids from the reading call, sensitivity from paths."""

from __future__ import annotations

import json

from corrigible.containment.guard import Guard, parse_policy, parse_trace, replay

NOTE = (
    "Patient 4471 was seen on 12 March for a follow-up of the lumbar fusion; the surgeon "
    "recommends a second MRI and physiotherapy twice a week for eight weeks."
)
POLICY = {
    "version": "1",
    "name": "clinic",
    "default": "allow",
    "boundary": {"domains": ["clinic.example"]},
    "sensitive_paths": {"/srv/hr/**": ["personal"], "/srv/records/*.txt": ["confidential"]},
    "tools": [
        {"name": "read_email", "refs": ["email_id"], "recipients": [], "hosts": []},
        {"name": "read_file", "paths": ["path"], "recipients": [], "hosts": []},
        {
            "name": "forward",
            "recipients": ["to"],
            "refs": ["email_id"],
            "required": ["email_id", "to"],
        },
        {"name": "send_email", "recipients": ["to"], "required": ["to"]},
    ],
    "rules": [
        {
            "id": "nothing-sensitive-out",
            "effect": "block",
            "reason": "sensitive content would leave the clinic",
            "when": {"carries": "sensitive"},
        }
    ],
}


def test_an_id_named_only_by_the_reading_call_still_links_the_forward() -> None:
    guard = Guard(parse_policy(POLICY))
    session = guard.session()
    # the read tool returns the mail without any id field: the call's own argument names it
    session.observe_tool_result(
        "read_email", NOTE, labels=["confidential"], arguments={"email_id": "#04"}
    )
    for spelling in (4, "4", "#4", " 004 "):
        decision = guard.decide(session, "forward", {"email_id": spelling, "to": "a@gmail.com"})
        assert decision.effect == "block", spelling
    inside = guard.decide(session, "forward", {"email_id": 4, "to": "dr.lee@clinic.example"})
    assert inside.effect == "allow"


def test_paths_the_policy_marks_sensitive_label_what_is_read_from_them() -> None:
    guard = Guard(parse_policy(POLICY))
    session = guard.session()
    session.observe_tool_result("read_file", NOTE, arguments={"path": "/srv/hr/2026/leave.csv"})
    leak = guard.decide(session, "send_email", {"to": "x@rival.example", "body": NOTE})
    assert leak.effect == "block" and leak.rule_id == "nothing-sensitive-out"
    other = guard.session()
    other.observe_tool_result("read_file", NOTE, arguments={"path": "/srv/public/menu.txt"})
    assert guard.decide(other, "send_email", {"to": "x@rival.example", "body": NOTE}).effect == (
        "allow"
    )


def test_a_replayed_trace_links_results_to_the_call_that_read_them() -> None:
    guard = Guard(parse_policy(POLICY))
    lines = [
        {"type": "tool_call", "tool": "read_email", "arguments": {"email_id": 9}},
        {"type": "tool_result", "tool": "read_email", "content": NOTE, "labels": ["confidential"]},
        {"type": "tool_call", "tool": "forward", "arguments": {"email_id": "#9", "to": "a@b.io"}},
    ]
    decisions = [d for _, d in replay(guard, parse_trace(json.dumps(x) for x in lines))]
    assert [d.effect for d in decisions] == ["allow", "block"]
