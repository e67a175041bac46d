"""Recorded traces (JSONL) and their replay through a guard, bit for bit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from corrigible.containment.guard._decision import Agent, GuardDecision
from corrigible.containment.guard._guard import Guard
from corrigible.containment.guard._session import Session
from corrigible.errors import TraceError

# -- traces and replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceEvent:
    """One line of a recorded trace (see ``corrigible guard replay``)."""

    line: int
    type: Literal["tool_call", "tool_result", "message"]
    tool: str = ""
    arguments: Any = None
    content: str = ""
    labels: tuple[str, ...] = ()
    role: str = ""
    ref: str | None = None
    ts: float | None = None
    agent: Agent | None = None
    session: str | None = None
    """Which agent run the line belongs to: a trace of many runs (``corrigible export --format
    trace``) replays each in its own guard session, so one run's secrets never taint another's."""


_ROLES = ("user", "assistant", "system", "tool")


def parse_trace_line(text: str, line: int) -> TraceEvent | None:
    """Read one trace line (None for a blank one). Raises :class:`TraceError` on a bad line.

    A ``tool_call`` whose ``arguments`` are not a mapping is *not* a trace error: it is a
    malformed call, and the guard decides it (fail closed).
    """
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"line {line}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # a number past 4300 digits, absurd nesting
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise TraceError(f"line {line}: not valid JSON ({what})") from None
    if not isinstance(data, dict):
        raise TraceError(f"line {line}: a trace line is a JSON object with a type")
    kind = data.get("type")
    if kind not in ("tool_call", "tool_result", "message"):
        raise TraceError(
            f"line {line}: field type: expected tool_call, tool_result or message, got {kind!r}"
        )

    def string(key: str, *, required: bool = True) -> str:
        value = data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise TraceError(f"line {line}: field {key}: expected a non-empty string")
        return value

    ts = data.get("ts")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | float)):
        raise TraceError(f"line {line}: field ts: expected a number of seconds")
    session = data.get("session")
    if session is not None:
        if isinstance(session, bool) or not isinstance(session, str | int):
            raise TraceError(f"line {line}: field session: expected a string or an integer")
        session = str(session)
    agent = None
    if data.get("agent") is not None:
        if not isinstance(data["agent"], str | dict):
            raise TraceError(f"line {line}: field agent: expected an id or {{id, roles}}")
        agent = Agent.of(data["agent"])
    if kind == "tool_call":
        return TraceEvent(
            line=line,
            type="tool_call",
            tool=string("tool"),
            arguments=data.get("arguments", {}),
            ts=None if ts is None else float(ts),
            agent=agent,
            session=session,
        )
    labels = data.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise TraceError(f"line {line}: field labels: expected a list of strings")
    ref = data.get("id")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
        raise TraceError(f"line {line}: field id: expected a string or an integer")
    content = data.get("content")
    if not isinstance(content, str):
        raise TraceError(f"line {line}: field content: expected a string")
    if kind == "tool_result":
        return TraceEvent(
            line=line,
            type="tool_result",
            tool=string("tool"),
            content=content,
            labels=tuple(labels),
            ref=None if ref is None else str(ref),
            ts=None if ts is None else float(ts),
            session=session,
        )
    role = string("role")
    if role not in _ROLES:
        raise TraceError(
            f"line {line}: field role: expected one of {', '.join(_ROLES)}, got {role!r}"
        )
    return TraceEvent(
        line=line,
        type="message",
        role=role,
        content=content,
        labels=tuple(labels),
        ref=None if ref is None else str(ref),
        ts=None if ts is None else float(ts),
        session=session,
    )


def parse_trace(lines: Iterable[str]) -> list[TraceEvent]:
    """Every event of a trace, or :class:`TraceError` for the first bad line."""
    events = []
    for number, text in enumerate(lines, start=1):
        event = parse_trace_line(text, number)
        if event is not None:
            events.append(event)
    return events


def replay(
    guard: Guard, events: Iterable[TraceEvent], session: Session | None = None
) -> Iterator[tuple[TraceEvent, GuardDecision]]:
    """Feed a trace through a fresh session; yield each tool call with its decision.

    Time for rate limits is the trace's ``ts`` (carried forward to lines without one; 0 until
    the first), so a replay decides exactly the same way every time. Lines that name a
    ``session`` are replayed in a fresh guard session per name (with the agent of ``session``
    when one was given), so a trace holding many agent runs decides each as if it ran alone.
    """
    first = session or guard.session()
    named: dict[str, Session] = {}
    last_call: dict[tuple[str | None, str], Any] = {}
    """The arguments of each session's latest call of each tool: a result belongs to it."""
    clock = 0.0
    for event in events:
        if event.ts is not None:
            clock = event.ts
        if event.session is None:
            session = first
        elif (session := named.get(event.session)) is None:
            session = named[event.session] = guard.session(agent=first.agent, id=event.session)
        if event.type == "tool_result":
            arguments = last_call.get((event.session, event.tool))
            session.observe_tool_result(
                event.tool,
                event.content,
                event.labels,
                ref=event.ref,
                arguments=arguments if isinstance(arguments, dict) else None,
            )
        elif event.type == "message":
            session.observe_message(event.role, event.content, event.labels, ref=event.ref)
        else:
            last_call[(event.session, event.tool)] = event.arguments
            yield (
                event,
                guard.decide(session, event.tool, event.arguments, agent=event.agent, now=clock),
            )
