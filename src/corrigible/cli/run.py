"""``corrigible run``: a sweep (families × conditions × models × samples), resumable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from corrigible.evaluation import (
        SweepConfig,
        SweepResult,
    )

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def _sweep_with_progress(config: SweepConfig, run_dir: Path) -> SweepResult:
    import anyio

    from corrigible.evaluation import run_sweep_async

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[errors]} errors"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[activity]}"),
        console=err,
        transient=False,
    )
    state: dict[str, Any] = {"task": None}
    live = _Throughput()

    def on_plan(planned: int, done: int) -> None:
        # Started only once the sweep is planned: a model that cannot be made is then one line,
        # not a line after an empty progress display.
        progress.start()
        state["task"] = progress.add_task(
            config.name, total=planned, completed=done, errors=0, activity=""
        )
        if done:
            err.print(f"resuming: {done} of {planned} samples already done")

    def on_progress(ok: int, errors: int) -> None:
        if state["task"] is not None:
            progress.update(state["task"], completed=ok, errors=errors, activity=live.line())

    try:
        return anyio.run(
            lambda: run_sweep_async(config, run_dir, on_plan=on_plan, on_progress=on_progress)
        )
    finally:
        if state["task"] is not None:
            progress.stop()


class _Throughput:
    """Tokens per second of the in-process models, and the sample being generated: what shows a
    slow model is working while no sample has finished. Empty for models that do not report
    tokens as they go (every remote provider)."""

    def __init__(self) -> None:
        import time

        from corrigible.models import activity

        self._activity = activity
        self._clock = time.monotonic
        self._start_tokens = activity.snapshot().tokens
        self._start = self._clock()

    def line(self) -> str:
        now = self._activity.snapshot()
        tokens = now.tokens - self._start_tokens
        if tokens <= 0:
            return ""
        rate = tokens / max(self._clock() - self._start, 1e-6)
        where = f" · {now.current}" if now.current else ""
        return f"{tokens} tok · {rate:.1f} tok/s{where}"


def _report(result: SweepResult) -> None:
    out.print(
        f"{result.ok}/{result.planned} samples ok, {result.errors} errors "
        f"({result.skipped} already done, {result.ran} run this time, {result.seconds:.1f} s) → {result.run_dir}"
    )
    for line in result.error_messages[:5]:
        err.print(f"  error: {line}", soft_wrap=True, markup=False, highlight=False)
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
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the outcome as JSON on stdout (counts, run directory, errors); same exit code.",
    ),
) -> None:
    """Run a sweep (families × conditions × models × samples); run it again to resume."""
    from corrigible.evaluation import load_config, with_containment

    config = with_containment(load_config(config_path), guard, audit, audit_key)
    run_dir = out_dir or Path("runs") / config.name
    result = _sweep_with_progress(config, run_dir)
    if as_json:
        import dataclasses
        import json

        body = dataclasses.asdict(result) | {"run_dir": str(result.run_dir)}
        out.print(json.dumps(body, indent=2), markup=False, highlight=False, soft_wrap=True)
    else:
        _report(result)
        out.print(f"logs: inspect view --log-dir {run_dir / 'logs'}")
    if not result.complete:
        raise typer.Exit(1)
