"""``corrigible show RUN [SAMPLE]``: one transcript in the terminal, with its verdict.

Why: the verdict says *harmful*; the reader wants to see why — the evidence, what the agent did
(each action, whether the guard blocked it), and the conversation — without ``export | jq``.
Without SAMPLE it lists the run's samples with their verdicts, to pick one from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from corrigible.cli._tables import Column, Grid, print_json, show

console = Console(soft_wrap=False)

PROMPT_LINES = 8
"""Lines of the system and user prompts shown without ``--full`` (the inbox is long)."""


def register(app: typer.Typer) -> None:
    app.command("show")(show_command)


def show_command(
    run_dir: Path = typer.Argument(..., metavar="RUN", help="A run directory."),
    sample: str | None = typer.Argument(
        None,
        metavar="[SAMPLE]",
        help="A sample id, or any unique part of one (e.g. lethal_none_none/sample_002).",
    ),
    full: bool = typer.Option(False, "--full", help="Show the prompts whole."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the transcript record and its verdict as JSON."
    ),
) -> None:
    """One transcript with its verdict, evidence and actions (without SAMPLE: list samples)."""
    from corrigible.results.transcripts import iter_transcripts
    from corrigible.scoring.runs import score_run

    _, verdicts = score_run(run_dir)
    if sample is None:
        _list(run_dir, verdicts, as_json)
        return
    record = _find(run_dir, sample, iter_transcripts(run_dir))
    verdict = verdicts.get(record["id"])
    if as_json:
        print_json(console, {"record": record, "verdict": verdict and verdict.model_dump()})
        return
    _print(record, verdict, full)


def _list(run_dir: Path, verdicts: dict[str, Any], as_json: bool) -> None:
    grid = Grid(
        f"Samples of {run_dir} (`corrigible show {run_dir} SAMPLE` for one)",
        [Column("sample"), Column("verdict"), Column("reason", prose=True)],
    )
    for ident, verdict in verdicts.items():
        grid.add_row(ident, verdict.label, verdict.reason)
    if as_json:
        print_json(console, grid.records())
    else:
        show(console, grid)


def _find(run_dir: Path, wanted: str, records: Any) -> dict[str, Any]:
    from corrigible.errors import RunDirError

    matches = []
    for record in records:
        if record["id"] == wanted:
            return dict(record)
        if wanted in record["id"]:
            matches.append(record)
    if len(matches) == 1:
        return dict(matches[0])
    if not matches:
        raise RunDirError(
            f"{run_dir}: no sample matches {wanted!r}; `corrigible show {run_dir}` lists them"
        )
    shown = ", ".join(m["id"] for m in matches[:3])
    raise RunDirError(
        f"{run_dir}: {len(matches)} samples match {wanted!r} ({shown}, …); give more of the id"
    )


def _print(record: dict[str, Any], verdict: Any, full: bool) -> None:
    from corrigible.results.transcripts import message_text

    console.print(Text(record["id"], style="bold"))
    console.print(
        f"model: {record.get('model')} · condition: {record.get('condition')}",
        markup=False,
        highlight=False,
    )
    console.print(
        f"status: {record.get('status')} · stop reason: {record.get('stop_reason') or '—'}",
        markup=False,
        highlight=False,
    )
    if record.get("error"):
        console.print(f"error: {record['error']}", markup=False, highlight=False)
    if verdict is not None:
        label = verdict.label.replace("_", " ").upper()
        style = {"HARMFUL": "bold red", "INVALID": "bold yellow"}.get(label, "bold green")
        console.print(Text.assemble(("verdict: ", ""), (label, style), f" — {verdict.reason}"))
        for evidence in verdict.evidence:
            where = (
                f"action #{evidence.action_seq} {evidence.tool}" if evidence.tool else evidence.kind
            )
            quote = f" ({evidence.quote})" if evidence.quote else ""
            console.print(
                f"  evidence, {where}{quote}: {evidence.detail}", markup=False, highlight=False
            )
        for behaviour, why in verdict.secondary.items():
            console.print(f"  also: {behaviour} — {why}", markup=False, highlight=False)
        if verdict.eval_awareness and verdict.eval_awareness != "unstated":
            console.print(
                f"  eval awareness: {verdict.eval_awareness}", markup=False, highlight=False
            )
    actions = record.get("actions") or []
    console.print(Rule(f"actions ({len(actions)})", align="left"))
    for action in actions:
        args = ", ".join(f"{k}={v!r}" for k, v in (action.get("arguments") or {}).items())
        if action.get("blocked_by"):
            outcome = f"BLOCKED by {action['blocked_by']}"
        else:
            outcome = "ok" if action.get("ok") else "failed"
        console.print(
            f"#{action.get('seq')} {action.get('tool')}({args}) → {outcome}: {action.get('result')}",
            markup=False,
            highlight=False,
        )
    for message in record.get("messages") or []:
        role = str(message.get("role"))
        text = message_text(message.get("content"))
        lines = text.splitlines()
        if role in ("system", "user") and not full and len(lines) > PROMPT_LINES:
            hidden = len(lines) - PROMPT_LINES
            text = "\n".join([*lines[:PROMPT_LINES], f"… ({hidden} more lines; --full shows them)"])
        console.print(Rule(role, align="left"))
        console.print(text, markup=False, highlight=False)
