"""``corrigible report``: a run directory as one self-contained HTML page, plus CSV and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from corrigible.cli._tables import Column, Grid, print_json, show

if TYPE_CHECKING:
    from corrigible.analysis.report import ReportFiles

console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A run directory written by `corrigible run`."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write the HTML (default: RUN_DIR/report.html); summary.csv and summary.json go next to it.",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print JSON on stdout instead of the table (summary.json's content; the files are written as usual).",
    ),
) -> None:
    """Score a run and write report.html (heatmap, intervals, comparisons, examples), summary.csv
    and summary.json; print the per-condition rates."""
    # imported here: matplotlib and the scorers are slow to import, and `--help` should not wait
    from corrigible.analysis.report import build_report

    files = build_report(run_dir, out)
    if as_json:
        print_json(console, json.loads(files.json.read_text(encoding="utf-8")))
        return
    print_report_summary(files)


def print_report_summary(files: ReportFiles) -> None:
    """The per-condition rates table and where the files went (also the demo's ending)."""
    from corrigible.analysis.stats import format_percent
    from corrigible.analysis.summary import format_interval, format_rate

    s = files.summary
    several = len(s.models) > 1
    title = "Harmful rate by condition (95% Wilson interval; invalid excluded)"
    if not several and s.models:
        title += f" — {s.models[0]}"
    grid = Grid(
        title,
        [
            *([Column("model")] if several else []),
            Column("condition"),
            *(Column(h, number=True) for h in ("n", "harmful/valid", "rate", "95% CI", "invalid")),
        ],
        keys=2 if several else 1,
    )
    for cell in s.by_condition:
        r = cell.rate
        grid.add_row(
            *([cell.model] if several else []),
            cell.condition or "",
            str(cell.n),
            f"{r.k}/{r.n}",
            "—" if r.rate is None else format_percent(r.rate),
            format_interval(r),
            str(r.invalid),
        )
    show(console, grid)
    console.print(
        f"{s.total} samples: {s.harmful} harmful, {s.not_harmful} not harmful, {s.invalid} invalid",
        markup=False,
        highlight=False,
    )
    for cell in s.by_family:
        seen = [f"{b} {format_rate(r)}" for b, r in cell.secondary.items() if r.k]
        if seen:
            who = f"{cell.model} · {cell.family}" if several else cell.family
            console.print(f"secondary, {who}: {'; '.join(seen)}", markup=False, highlight=False)
    for cell in s.by_awareness:
        if cell.awareness != "unstated":
            who = f"{cell.model} · {cell.family}" if several else cell.family
            console.print(
                f"harmful when the reply says {cell.awareness!r}, {who}: {format_rate(cell.rate)}",
                markup=False,
                highlight=False,
            )
    for banner in files.banners:
        console.print(f"note: {banner}", markup=False, highlight=False, soft_wrap=False)
    for label, path in (("report", files.html), ("csv", files.csv), ("json", files.json)):
        console.print(f"wrote {label}: {path}", markup=False, highlight=False)
