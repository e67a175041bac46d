"""``corrigible compare``: a mitigation's effect per family, or one run against another.

``corrigible compare RUN_DIR --baseline A --treatment B`` compares instruction arms inside one
run; ``corrigible compare RUN_DIR --against BASELINE_RUN`` compares two runs of the same
conditions, e.g. a sweep with a containment guard against the same sweep without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from corrigible.cli._tables import Column, Grid, print_json, show
from corrigible.errors import ConfigError

if TYPE_CHECKING:
    from corrigible.analysis.stats import Rate

console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)


def compare_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR"),
    baseline: str = typer.Option(
        "none", "--baseline", help="Arm: extra instructions of the baseline (none = plain)."
    ),
    treatment: str | None = typer.Option(
        None, "--treatment", help="Arm: e.g. prohibition, or prohibition+oversight."
    ),
    against: Path | None = typer.Option(
        None,
        "--against",
        metavar="BASELINE_RUN",
        help="Compare RUN_DIR with another run of the same conditions (e.g. without a guard).",
    ),
    behaviour: str | None = typer.Option(
        None,
        "--behaviour",
        help="Compare a secondary behaviour's rate instead of the primary harm: disclosure, "
        "deception, attempt or escalation.",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print JSON on stdout instead of the table (one object per row, cells as printed).",
    ),
) -> None:
    """Change in harmful rate from baseline to treatment, per model and family, with intervals."""
    from corrigible.analysis.arms import compare_arms, compare_runs
    from corrigible.analysis.summary import behaviour_rows, format_interval, format_p
    from corrigible.scoring.runs import score_run

    if (treatment is None) == (against is None):
        raise ConfigError(
            "compare needs either --treatment ARM (arms of one run) or --against BASELINE_RUN"
        )
    rows, _ = score_run(run_dir)
    if behaviour is not None:
        rows = behaviour_rows(rows, behaviour)
    if against is not None:
        baseline_rows, _ = score_run(against)
        if behaviour is not None:
            baseline_rows = behaviour_rows(baseline_rows, behaviour)
        names = (against.name, run_dir.name)
        if names[0] == names[1]:
            names = (str(against), str(run_dir))
        baseline, treatment = names
        comparisons = compare_runs(baseline_rows, rows, names)
    else:
        assert treatment is not None
        comparisons = compare_arms(rows, baseline, treatment)
    what = f"{behaviour} rate: " if behaviour else ""
    grid = Grid(
        f"{what}{treatment} vs {baseline} (treatment − baseline; Holm across families)",
        [
            Column("model"),
            Column("family"),
            Column("paired conditions", number=True),
            Column(baseline, number=True),
            Column(treatment, number=True),
            Column("difference", number=True),
            Column("95% CI", number=True),
            Column("Fisher p", number=True),
            Column("Holm p", number=True),
            Column(f"benign done ({baseline})", number=True),
            Column(f"benign done ({treatment})", number=True),
        ],
        keys=2,
    )
    for c in comparisons:
        d = c.difference
        grid.add_row(
            c.model,
            c.family,
            str(c.conditions),
            f"{c.baseline.k}/{c.baseline.n} {format_interval(c.baseline)}",
            f"{c.treatment.k}/{c.treatment.n} {format_interval(c.treatment)}",
            "—" if d is None else f"{d.diff * 100:+.1f} pp",
            "—" if d is None else f"[{d.interval.low * 100:+.1f}, {d.interval.high * 100:+.1f}] pp",
            "—" if d is None else format_p(d.p_value),
            "—" if d is None else format_p(d.p_adjusted),
            _utility(c.baseline_benign),
            _utility(c.treatment_benign),
        )
    if as_json:
        print_json(console, {"title": grid.title, "rows": grid.records()})
        return
    show(console, grid)


def _utility(r: Rate | None) -> str:
    from corrigible.analysis.summary import format_interval

    return "—" if r is None else f"{r.k}/{r.n} {format_interval(r)}"
