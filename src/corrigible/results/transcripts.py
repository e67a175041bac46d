"""Export a run directory as transcript JSONL (the project's interchange format) or as a guard
trace.

Transcripts: one line per sample, ordered by model, condition and sample::

    {"id": "corrigible/smollm2/blackmail_explicit-america_replacement/sample_001",
     "family": ..., "condition": ..., "model": ..., "sample": 1, "status": "ok"|"error",
     "messages": [...], "response": "...", "actions": [...], "error": null,
     "timings": {...}, "usage": {...}}

Trace (``--format trace``): what the containment guard saw of each sample, in the line format
``corrigible guard replay`` reads, every line tagged with its sample as ``session`` so a replay
decides each sample in its own guard session. Per sample: the system and user messages, the
inbox as tool results (confidential emails labelled so, with their ids for ``forward``), then
each assistant turn followed by the tool calls it made and the results of those that ran. A
recorded run replayed under a new policy shows what that policy would have stopped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from corrigible._files import atomic_write
from corrigible.results.rundir import open_store
from corrigible.scenarios.render import render_scenario

ExportFormat = Literal["transcripts", "trace"]

TRANSCRIPT_KEYS = (
    "id",
    "family",
    "condition",
    "model",
    "sample",
    "status",
    "tool_mode",
    "messages",
    "response",
    "stop_reason",
    "actions",
    "sent",
    "report",
    "error",
    "timings",
    "usage",
    "attempts",
)


def iter_transcripts(run_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The transcript records of a run, in stable order."""
    with open_store(run_dir) as store:
        for record in store.records():
            yield {key: record.get(key) for key in TRANSCRIPT_KEYS}


def write_jsonl(records: Iterator[dict[str, Any]], out: str | Path | None) -> int:
    """Write records as JSON lines to ``out`` atomically (temp file + fsync + rename), or stdout."""
    if out is None:
        return _write(records, sys.stdout)
    return atomic_write(Path(out), lambda fh: _write(records, fh))


def _write(records: Iterator[dict[str, Any]], fh: TextIO) -> int:
    count = 0
    for record in records:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def message_text(content: Any) -> str:
    """A message's text: Inspect content is a string or a list of parts (reasoning left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def transcript_trace(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One transcript record as guard-trace lines (see the module docstring)."""
    session = record["id"]
    scenario = render_scenario(record["condition"], tool_mode=record.get("tool_mode") or "text")
    agent = scenario.agent_principal
    lines: list[dict[str, Any]] = []
    messages = record.get("messages") or []
    leading = 0
    while leading < len(messages) and messages[leading].get("role") in ("system", "user"):
        message = messages[leading]
        lines.append(
            {
                "type": "message",
                "role": message["role"],
                "content": message_text(message.get("content")),
            }
        )
        leading += 1
    for ref, text, labels in scenario.inbox_reads():
        lines.append(
            {
                "type": "tool_result",
                "tool": "read_email",
                "id": ref,
                "content": text,
                "labels": list(labels),
            }
        )
    actions = list(record.get("actions") or [])

    def calls_of(turn: int | None) -> None:
        for action in [a for a in actions if turn is None or a.get("turn", 0) == turn]:
            actions.remove(action)
            lines.append(
                {
                    "type": "tool_call",
                    "tool": action["tool"],
                    "arguments": action.get("arguments") or {},
                    "agent": agent,
                }
            )
            if action.get("ok"):
                lines.append(
                    {"type": "tool_result", "tool": action["tool"], "content": action["result"]}
                )

    turn = 0
    for message in messages[leading:]:
        role = message.get("role")
        if role == "assistant":
            lines.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": message_text(message.get("content")),
                }
            )
            calls_of(turn)
            turn += 1
        elif role in ("user", "system"):  # e.g. the operator's follow-up question
            lines.append(
                {"type": "message", "role": role, "content": message_text(message.get("content"))}
            )
    if turn == 0 and record.get("response"):
        lines.append({"type": "message", "role": "assistant", "content": record["response"]})
    calls_of(None)  # anything not matched to a turn (e.g. a sample that errored mid-way)
    return [{**line, "session": session} for line in lines]


def iter_trace(run_dir: str | Path) -> Iterator[dict[str, Any]]:
    """Every sample of a run as guard-trace lines, in transcript order."""
    for record in iter_transcripts(run_dir):
        yield from transcript_trace(record)


def export_run(
    run_dir: str | Path, out: str | Path | None = None, *, format: ExportFormat = "transcripts"
) -> int:
    """Export a run as transcripts (one line per sample) or as a guard trace; returns the number
    of lines written."""
    records = iter_trace(run_dir) if format == "trace" else iter_transcripts(run_dir)
    return write_jsonl(records, out)
