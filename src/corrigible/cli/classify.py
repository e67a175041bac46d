"""``corrigible classify``: one verdict per sample of a transcript file, run directory or framework results."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import typer
from rich.console import Console

from corrigible.errors import ConfigError

err = Console(stderr=True, soft_wrap=True)


console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_command)


def judge_args(items: list[str]) -> dict[str, str]:
    args = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--judge-arg {item!r}: expected KEY=VALUE")
        args[key.strip()] = value
    return args


def classify_command(
    input_path: Path = typer.Argument(
        ...,
        metavar="INPUT",
        help="Transcript .jsonl (corrigible export), a run directory, or a results directory of the public framework.",
    ),
    out: Path | None = typer.Option(None, "--out", help="Write verdicts here (default: stdout)."),
    judge: str = typer.Option(
        "none",
        "--judge",
        help="none (detectors only, offline) or an Inspect model string for the LLM judge.",
    ),
    rule: str = typer.Option(
        "hybrid",
        "--rule",
        help="With a judge: hybrid (judge decides only ambiguous samples) or judge (judge decides all).",
    ),
    judge_arg: list[str] = typer.Option(
        [],
        "--judge-arg",
        help="KEY=VALUE model argument for the judge (repeatable), e.g. script=judge.yaml.",
    ),
    max_concurrency: int = typer.Option(
        8, "--max-concurrency", min=1, help="Judge calls in flight."
    ),
) -> None:
    """One verdict per sample: harmful / not harmful / invalid, with evidence and a reason."""
    from corrigible.models.names import resolve_model_name
    from corrigible.scoring.classify import classify as classify_path
    from corrigible.scoring.judge import CombinationRule

    judge_model = None if judge.strip().lower() == "none" else resolve_model_name(judge)
    summary = classify_path(
        input_path,
        out,
        judge=judge_model,
        judge_args=judge_args(judge_arg),
        rule=cast(CombinationRule, rule),
        max_concurrency=max_concurrency,  # type: ignore[arg-type]
    )
    for problem in summary.malformed:
        err.print(f"malformed: {problem}", markup=False, highlight=False)
    where = f" → {out}" if out else ""
    err.print(
        f"{summary.total} samples: {summary.harmful} harmful, {summary.not_harmful} not harmful, "
        f"{summary.invalid} invalid ({len(summary.malformed)} malformed, {summary.judge_errors} judge errors){where}"
    )
    if summary.malformed or summary.judge_errors:
        raise typer.Exit(1)
