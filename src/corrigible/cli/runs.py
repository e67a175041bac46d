"""``corrigible runs [DIR]``: the run directories under DIR and the state of each.

Why: after a few sweeps a user has a ``runs/`` folder of names and no way to tell which finished,
which holds errors, which is being written now, or what model each ran, short of opening every
``results.sqlite``. This reads each run read-only (never creates or locks anything).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from corrigible.cli._tables import Column, Grid, print_json, show

console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)


def runs_command(
    folder: Path = typer.Argument(
        Path("runs"), metavar="[DIR]", help="Where the run directories are (default: runs)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout instead."),
) -> None:
    """List run directories: state, samples done of planned, errors, models, last change."""
    from corrigible.errors import RunDirError
    from corrigible.results.rundir import is_run_dir

    if not folder.is_dir():
        raise RunDirError(
            f"{folder}: no such directory; pass the folder your runs are in (default: runs)"
        )
    found = sorted(p for p in [folder, *folder.iterdir()] if is_run_dir(p))
    rows = [_describe(path) for path in found]
    if as_json:
        print_json(console, rows)
        return
    if not rows:
        console.print(
            f"no run directories in {folder} (make one with `corrigible run SWEEP`)",
            markup=False,
            highlight=False,
        )
        return
    grid = Grid(
        f"Runs in {folder}",
        [
            Column("run"),
            Column("state"),
            Column("done", number=True),
            Column("errors", number=True),
            Column("models", prose=True),
            Column("changed"),
        ],
    )
    for row in rows:
        grid.add_row(
            row["run"],
            row["state"],
            f"{row['ok']}/{row['planned'] if row['planned'] is not None else '?'}",
            str(row["errors"]),
            ", ".join(row["models"]) or "?",
            row["changed"],
        )
    show(console, grid)


def _describe(run_dir: Path) -> dict[str, Any]:
    """One run's state, read without writing anything; a damaged part is named, not fatal."""
    from corrigible.results.rundir import CONFIG_FILE, lock_holder, open_store

    problem = None
    models: list[str] = []
    planned: int | None = None
    try:
        body = yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8")) or {}
        models, planned = _plan(body.get("config") or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError) as exc:
        problem = f"{CONFIG_FILE} unreadable ({type(exc).__name__})"
    ok = errors = 0
    try:
        with open_store(run_dir) as store:
            counts = store.counts()
        ok, errors = counts.get("ok", 0), counts.get("error", 0)
    except Exception as exc:  # a damaged store: say so, keep listing the others
        problem = f"results store unreadable ({type(exc).__name__})"
    holder = lock_holder(run_dir)
    if problem:
        state = f"damaged: {problem}"
    elif holder:
        state = f"running (PID {holder})"
    elif planned is not None and ok >= planned:
        state = "complete"
    elif errors:
        state = "incomplete, with errors"
    else:
        state = "incomplete"
    changed = datetime.datetime.fromtimestamp(
        max(p.stat().st_mtime for p in [run_dir, *run_dir.iterdir()]), tz=datetime.UTC
    )
    return {
        "run": str(run_dir),
        "state": state,
        "ok": ok,
        "errors": errors,
        "planned": planned,
        "models": models,
        "changed": changed.strftime("%Y-%m-%d %H:%M UTC"),
    }


def _plan(config: dict[str, Any]) -> tuple[list[str], int | None]:
    """The models and the number of planned samples of a stored sweep."""
    from pydantic import ValidationError

    from corrigible.errors import CorrigibleError
    from corrigible.evaluation.config import SweepConfig

    models = [m["name"] if isinstance(m, dict) else str(m) for m in config.get("models") or []]
    try:
        sweep = SweepConfig.model_validate(config)
        planned = len(sweep.models) * len(sweep.resolved_conditions()) * sweep.samples
    except (ValidationError, CorrigibleError):
        planned = None
    return models, planned
