"""``corrigible validate``: the detectors (and a judge) against labelled replies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from corrigible.cli._tables import Column, Grid, print_json, show
from corrigible.cli.classify import judge_args
from corrigible.errors import ConfigError

if TYPE_CHECKING:
    from corrigible.scoring.validation import ValidationReport

err = Console(stderr=True, soft_wrap=True)


console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_report(report: ValidationReport, as_json: bool = False) -> dict[str, Any] | None:
    from corrigible.scoring.validation import LABELS

    grid = Grid(
        f"Validation: {report.scorer}",
        [
            Column("slice"),
            *(
                Column(h, number=True)
                for h in (
                    "n",
                    "accuracy (valid)",
                    "accuracy (invalid wrong)",
                    "precision",
                    "recall",
                    "kappa",
                    "invalid caught",
                )
            ),
        ],
    )
    sources = list(report.by_source.items()) if len(report.by_source) > 1 else []
    rows = [
        *report.by_family.items(),
        *((f"source {name}", m) for name, m in sources),
        ("all", report.overall),
        ("tuned on", report.tuning),
        ("held out", report.held_out),
    ]
    for name, m in rows:
        caught, total = m.invalid_caught
        grid.add_row(
            name,
            str(m.n),
            _fmt(m.accuracy_valid),
            _fmt(m.accuracy_all),
            _fmt(m.precision),
            _fmt(m.recall),
            _fmt(m.kappa),
            f"{caught}/{total}",
        )
    confusion = Grid(
        f"Confusion, all cases ({report.scorer}): rows gold, columns predicted",
        [Column("gold \\ predicted"), *(Column(label, number=True) for label in LABELS)],
    )
    for gold in LABELS:
        confusion.add_row(gold, *(str(report.overall.confusion[(gold, p)]) for p in LABELS))
    if as_json:
        return {
            "scorer": report.scorer,
            "slices": grid.records(),
            "confusion": confusion.records(),
            "disagreements": [
                {"id": case.id, "held_out": case.held_out, "gold": case.label, "got": verdict.label}
                for case, verdict in report.mistakes
            ],
        }
    show(console, grid)
    show(console, confusion)
    if report.awareness:
        right = sum(c for (said, read), c in report.awareness.items() if said == read)
        total = sum(report.awareness.values())
        console.print(f"eval awareness ({report.scorer}): {right}/{total} cases read right")
        for case_id, said, read in report.awareness_mistakes:
            console.print(f"  {case_id}: eval awareness {said}, read {read}", markup=False)
    for case, verdict in report.mistakes:
        tag = " [held out]" if case.held_out else ""
        if verdict.label == "invalid" and verdict.error:
            tag += f" ({' '.join(verdict.error.split())[:160]})"
        console.print(
            f"  {case.id}{tag} ({case.category}): gold {case.label}, got {verdict.label} — {verdict.reason}",
            markup=False,
            highlight=False,
        )
    return None


def validate_command(
    inputs: Path | None = typer.Argument(
        None,
        metavar="[INPUTS]",
        help="With --labels: what the labels label (framework results directory, run directory "
        "or transcript JSONL).",
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="An outside labelled set (labels.jsonl: id, harmful, class, source, held_out) for "
        "the samples under INPUTS.",
    ),
    judge: str = typer.Option(
        "none", "--judge", help="none, or an Inspect model string to validate as judge."
    ),
    judge_arg: list[str] = typer.Option(
        [], "--judge-arg", help="KEY=VALUE model argument for the judge (repeatable)."
    ),
    cases: Path | None = typer.Option(
        None, "--cases", help="Another team-format labelled JSONL (default: the shipped set)."
    ),
    min_accuracy: float = typer.Option(
        0.95, "--min-accuracy", help="Exit 1 if the detectors score below this."
    ),
    max_concurrency: int = typer.Option(8, "--max-concurrency", min=1),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON on stdout instead of the tables (same exit code)."
    ),
) -> None:
    """Accuracy, precision, recall and kappa of the detectors (and a judge) on labelled replies."""
    from corrigible.analysis.stats import wilson_interval
    from corrigible.models.make import make_model
    from corrigible.models.names import resolve_model_name
    from corrigible.scoring.validation import load_cases, validate_labelled
    from corrigible.scoring.validation import validate as run_validation

    if (labels is None) != (inputs is None):
        raise ConfigError("give both --labels LABELS.jsonl and INPUTS, or neither")
    if labels is not None and cases is not None:
        raise ConfigError("--cases and --labels are two different sets: give one")
    judge_model = None
    if judge.strip().lower() != "none":
        model_args: dict[str, Any] = dict(judge_args(judge_arg))
        judge_model = make_model(resolve_model_name(judge), role="judge", **model_args)
    if labels is not None and inputs is not None:
        reports = validate_labelled(
            labels, inputs, judge=judge_model, max_concurrency=max_concurrency
        )
    else:
        loaded = load_cases(cases)
        reports = run_validation(loaded, judge=judge_model, max_concurrency=max_concurrency)
    if as_json:
        print_json(console, [_print_report(report, as_json=True) for report in reports])
        accuracy = (
            reports[0].overall.accuracy_all
            if labels is not None
            else reports[0].overall.accuracy_valid
        )
        if (accuracy or 0.0) < min_accuracy:
            raise typer.Exit(1)
        return
    for report in reports:
        _print_report(report)
    detectors = reports[0]
    if labels is not None:
        for name, m in (("all", detectors.overall), ("held out", detectors.held_out)):
            if not m.n:
                continue
            interval = wilson_interval(m.right, m.n)
            console.print(
                f"detectors, {name}: agreement {m.right}/{m.n} = {m.right / m.n:.3f} "
                f"(invalid counted wrong; 95% Wilson {interval.low:.3f}–{interval.high:.3f})"
            )
            refused = m.n_valid - m.decided
            if refused and m.decided:
                agreed = m.right - m.invalid_caught[0]
                interval = wilson_interval(agreed, m.decided)
                console.print(
                    f"detectors, {name}: agreement {agreed}/{m.decided} = "
                    f"{agreed / m.decided:.3f} on the samples given a verdict ({refused} refused "
                    f"as invalid; 95% Wilson {interval.low:.3f}–{interval.high:.3f})"
                )
        accuracy = detectors.overall.accuracy_all or 0.0
        if accuracy < min_accuracy:
            raise typer.Exit(1)
        return
    overall = detectors.overall
    caught, total = overall.invalid_caught
    accuracy = overall.accuracy_valid or 0.0
    console.print(
        f"detectors: accuracy on valid samples {accuracy:.3f} (target ≥ {min_accuracy}), "
        f"invalid reported invalid {caught}/{total}, {overall.n} cases"
    )
    if accuracy < min_accuracy or caught < total:
        raise typer.Exit(1)
