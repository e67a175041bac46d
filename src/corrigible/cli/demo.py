"""``corrigible demo``: the main job — the embedded model through the classic families, offline."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from corrigible.cli._tables import Column, Grid, show
from corrigible.cli.run import _report, _sweep_with_progress

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out_dir: Path = typer.Option(Path("runs/demo"), "--out", help="Run directory."),
    samples: int = typer.Option(1, "--samples", min=1, help="Samples per condition."),
    model: str = typer.Option("corrigible/smollm2", "--model", help="Inspect model string."),
    max_tokens: int = typer.Option(320, "--max-tokens", min=16, help="Reply length cap."),
    guard: str | None = typer.Option(
        None,
        "--guard",
        metavar="POLICY",
        help="Run every tool call through this containment policy (a YAML file, or `default`).",
    ),
) -> None:
    """The main job: the embedded model through the three families, then what it did."""
    from corrigible.evaluation import (
        demo_config,
        iter_transcripts,
        summarise_activity,
        with_containment,
    )

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = with_containment(
        demo_config(model=model, samples=samples, max_tokens=max_tokens), guard
    )
    err.print(
        f"demo: {model} on {len(config.conditions)} conditions × {samples} sample(s), no network"
    )
    result = _sweep_with_progress(config, out_dir)
    grid = Grid(
        "What the agent did",
        [
            Column("condition"),
            *(Column(h, number=True) for h in ("n", "errors", "empty")),
            Column("actions", prose=True),
        ],
    )
    rows = summarise_activity(iter_transcripts(out_dir))
    for row in rows:
        grid.add_row(
            row.condition, str(row.samples), str(row.errors), str(row.empty), row.describe()
        )
    show(out, grid)
    for row in rows:
        excerpt = row.first_reply[:90] + ("…" if len(row.first_reply) > 90 else "")
        out.print(f"{row.condition}: {excerpt or '(empty reply)'}", markup=False, highlight=False)
    from corrigible.analysis.report import build_report
    from corrigible.cli.report import print_report_summary

    print_report_summary(build_report(out_dir))
    _report(result)
    out.print(f"transcripts: corrigible export {out_dir} --out {out_dir}/transcripts.jsonl")
    out.print(f"logs: inspect view --log-dir {out_dir / 'logs'}")
    if not result.complete:
        raise typer.Exit(1)
