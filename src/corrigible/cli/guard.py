"""``corrigible guard``: run the containment guard outside an agent, on recorded traces.

``corrigible guard replay --policy P TRACE.jsonl`` feeds a recorded trace through a fresh guard
session and prints one JSON decision per tool call, so a policy can be tested against what
agents actually did before it is put in front of one. Decisions are data: a blocked call is not
a failure of the command (exit 0). A policy or trace that cannot be read is one line naming the
file (and line) at fault, exit 2.

Trace lines (JSON, one per line; blank lines are skipped)::

    {"type": "tool_result", "tool": "read_email", "content": "…", "labels": ["confidential"], "id": 1}
    {"type": "message", "role": "user", "content": "…"}
    {"type": "tool_call", "tool": "forward", "arguments": {"email_id": 1, "to": "x@y.example"}}

Optional keys: ``id`` (a tool result or message a later call may name, as ``forward``'s
``email_id``), ``labels`` on messages, ``ts`` (seconds, for rate limits; carried forward),
``agent`` (an id or ``{"id": …, "roles": […]}``) on tool calls, ``session`` (the agent run a
line belongs to: each is replayed in its own guard session, and printed with its decisions).
Other keys are ignored. ``corrigible export RUN_DIR --format trace`` writes this format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from corrigible.errors import ConfigError

if TYPE_CHECKING:
    from corrigible.containment.guard import (
        TraceEvent,
    )

app = typer.Typer(
    name="guard",
    help="Containment guard: check tool calls against a policy.",
    no_args_is_help=True,
    add_completion=False,
)


def register(root: typer.Typer) -> None:
    """Mount ``guard`` under the root app (``corrigible guard …``)."""
    root.add_typer(app, name="guard")


def _read_trace(path: Path) -> list[TraceEvent]:
    from corrigible.containment.guard import TraceError, parse_trace

    try:
        with path.open(encoding="utf-8-sig") as fh:
            return parse_trace(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such trace file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the trace ({exc.strerror or exc})") from None
    except TraceError as exc:
        line, _, message = str(exc).partition(": ")
        raise ConfigError(f"{path}:{line.removeprefix('line ')}: {message}") from None


@app.command("replay")
def replay_command(
    trace: Path = typer.Argument(..., metavar="TRACE.jsonl", help="A recorded trace (JSON lines)."),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        "-p",
        help="Policy YAML (default: the policy shipped for the scenario families).",
    ),
    agent: str | None = typer.Option(
        None, "--agent", help="Agent id for calls whose trace line names none."
    ),
    role: list[str] = typer.Option(
        [], "--role", help="A role of that agent (repeatable); matched by when.agent.role."
    ),
) -> None:
    """Print one JSON decision per tool call of TRACE.jsonl."""
    from corrigible.containment.guard import Agent, Guard, default_policy_path, load_policy, replay

    guard = Guard(load_policy(policy if policy is not None else default_policy_path()))
    events = _read_trace(trace)
    who = Agent(agent or "", role) if agent is not None or role else None
    session = guard.session(agent=who)
    for event, decision in replay(guard, events, session):
        where: dict[str, object] = {"line": event.line}
        if event.session is not None:
            where["session"] = event.session
        typer.echo(json.dumps({**where, **decision.to_dict()}, ensure_ascii=False))
