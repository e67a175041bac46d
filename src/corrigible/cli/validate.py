"""``corrigible validate``: the detectors (and a judge) against labelled replies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from corrigible.cli.classify import judge_args

if TYPE_CHECKING:
    from corrigible.scoring.validation import ValidationReport

err = Console(stderr=True, soft_wrap=True)


console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_report(report: ValidationReport) -> None:
    from corrigible.scoring.validation import LABELS

    table = Table(title=f"Validation: {report.scorer}")
    for column in (
        "slice",
        "n",
        "accuracy (valid)",
        "precision",
        "recall",
        "kappa",
        "invalid caught",
    ):
        table.add_column(column, justify="right" if column != "slice" else "left", no_wrap=True)
    rows = [
        *report.by_family.items(),
        ("all", report.overall),
        ("tuned on", report.tuning),
        ("held out", report.held_out),
    ]
    for name, m in rows:
        caught, total = m.invalid_caught
        table.add_row(
            name,
            str(m.n),
            _fmt(m.accuracy_valid),
            _fmt(m.precision),
            _fmt(m.recall),
            _fmt(m.kappa),
            f"{caught}/{total}",
        )
    console.print(table)
    confusion = Table(title=f"Confusion, all cases ({report.scorer}): rows gold, columns predicted")
    confusion.add_column("gold \\ predicted")
    for label in LABELS:
        confusion.add_column(label, justify="right")
    for gold in LABELS:
        confusion.add_row(gold, *(str(report.overall.confusion[(gold, p)]) for p in LABELS))
    console.print(confusion)
    for case, verdict in report.mistakes:
        tag = " [held out]" if case.held_out else ""
        console.print(
            f"  {case.id}{tag} ({case.category}): gold {case.label}, got {verdict.label} — {verdict.reason}",
            markup=False,
            highlight=False,
        )


def validate_command(
    judge: str = typer.Option(
        "none", "--judge", help="none, or an Inspect model string to validate as judge."
    ),
    judge_arg: list[str] = typer.Option(
        [], "--judge-arg", help="KEY=VALUE model argument for the judge (repeatable)."
    ),
    cases: Path | None = typer.Option(
        None, "--cases", help="Another labelled JSONL (default: the shipped set)."
    ),
    min_accuracy: float = typer.Option(
        0.95, "--min-accuracy", help="Exit 1 if the detectors score below this."
    ),
    max_concurrency: int = typer.Option(8, "--max-concurrency", min=1),
) -> None:
    """Accuracy, precision, recall and kappa of the detectors (and a judge) on labelled replies."""
    from inspect_ai.model import get_model

    from corrigible.models.names import resolve_model_name
    from corrigible.scoring.validation import load_cases
    from corrigible.scoring.validation import validate as run_validation

    loaded = load_cases(cases)
    judge_model = None
    if judge.strip().lower() != "none":
        model_args: dict[str, Any] = dict(judge_args(judge_arg))
        judge_model = get_model(resolve_model_name(judge), memoize=False, **model_args)
    reports = run_validation(loaded, judge=judge_model, max_concurrency=max_concurrency)
    for report in reports:
        _print_report(report)
    detectors = reports[0].overall
    caught, total = detectors.invalid_caught
    accuracy = detectors.accuracy_valid or 0.0
    console.print(
        f"detectors: accuracy on valid samples {accuracy:.3f} (target ≥ {min_accuracy}), "
        f"invalid reported invalid {caught}/{total}, {len(loaded)} cases"
    )
    if accuracy < min_accuracy or caught < total:
        raise typer.Exit(1)
