"""``corrigible run``, ``export`` and ``demo``: sweeps, their transcripts, and the main job."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corrigible.errors import ConfigError
from corrigible.evaluation import (
    SweepConfig,
    SweepResult,
    demo_config,
    export_run,
    iter_transcripts,
    load_config,
    run_sweep_async,
    summarise,
    with_containment,
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("export")(export)
    app.command("demo")(demo)


def _sweep_with_progress(config: SweepConfig, run_dir: Path) -> SweepResult:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[errors]} errors"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    state: dict[str, Any] = {"task": None}

    def on_plan(planned: int, done: int) -> None:
        state["task"] = progress.add_task(config.name, total=planned, completed=done, errors=0)
        if done:
            err.print(f"resuming: {done} of {planned} samples already done")

    def on_progress(ok: int, errors: int) -> None:
        if state["task"] is not None:
            progress.update(state["task"], completed=ok, errors=errors)

    with progress:
        return anyio.run(
            lambda: run_sweep_async(config, run_dir, on_plan=on_plan, on_progress=on_progress)
        )


def _report(result: SweepResult) -> None:
    out.print(
        f"{result.ok}/{result.planned} samples ok, {result.errors} errors "
        f"({result.skipped} already done, {result.ran} run this time, {result.seconds:.1f} s) → {result.run_dir}"
    )
    for line in result.error_messages[:5]:
        err.print(f"  error: {line}", soft_wrap=True)
    if result.errors:
        err.print("errors are not behaviour: run the same command again to retry them")
    if result.record_failures:
        err.print(
            f"{result.record_failures} finished samples could not be recorded; they will be re-run"
        )


def run(
    config_path: Path = typer.Argument(
        ..., metavar="CONFIG.yaml", help="Our sweep YAML or the public framework's experiment YAML."
    ),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Run directory (default: runs/<name>)."
    ),
    guard: str | None = typer.Option(
        None,
        "--guard",
        metavar="POLICY",
        help="Run every tool call through this containment policy (a YAML file, or `default`); "
        "overrides the config's `guard`.",
    ),
    audit: str | None = typer.Option(
        None,
        "--audit",
        metavar="LOG",
        help="Audit log for the guard's decisions: a path or postgresql:// URL "
        "(default RUN_DIR/audit.sqlite).",
    ),
    audit_key: str | None = typer.Option(
        None,
        "--audit-key",
        metavar="KEY",
        help="Key signing the audit log (default RUN_DIR/audit.key).",
    ),
) -> None:
    """Run a sweep (families × conditions × models × samples); run it again to resume."""
    config = with_containment(load_config(config_path), guard, audit, audit_key)
    run_dir = out_dir or Path("runs") / config.name
    result = _sweep_with_progress(config, run_dir)
    _report(result)
    out.print(f"logs: inspect view --log-dir {run_dir / 'logs'}")
    if not result.complete:
        raise typer.Exit(1)


def export(
    run_dir: Path = typer.Argument(..., help="A run directory written by `corrigible run`."),
    out_file: Path | None = typer.Option(None, "--out", help="Write here (default: stdout)."),
    format: str = typer.Option(
        "transcripts",
        "--format",
        help="transcripts: one line per sample; trace: guard-trace lines for "
        "`corrigible guard replay`, one session per sample.",
    ),
) -> None:
    """Write one JSON line per sample (transcript, response, action log, error, timings, usage),
    or the run as a guard trace."""
    if format not in ("transcripts", "trace"):
        raise ConfigError(f"--format {format!r}: expected transcripts or trace")
    count = export_run(run_dir, out_file, format=format)  # type: ignore[arg-type]
    if out_file is not None:
        what = "trace lines" if format == "trace" else "samples"
        err.print(f"wrote {count} {what} to {out_file}")


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
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = with_containment(
        demo_config(model=model, samples=samples, max_tokens=max_tokens), guard
    )
    err.print(
        f"demo: {model} on {len(config.conditions)} conditions × {samples} sample(s), no network"
    )
    result = _sweep_with_progress(config, out_dir)
    table = Table(title="What the agent did")
    table.add_column("condition", no_wrap=True)
    for column in ("n", "errors", "empty"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("actions", min_width=12)
    rows = summarise(iter_transcripts(out_dir))
    for row in rows:
        table.add_row(
            row.condition, str(row.samples), str(row.errors), str(row.empty), row.describe()
        )
    out.print(table)
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
