"""``corrigible export``: a run directory as transcript JSONL or as a guard trace."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from corrigible.errors import ConfigError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)


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
    from corrigible.results import export_run

    if format not in ("transcripts", "trace"):
        raise ConfigError(f"--format {format!r}: expected transcripts or trace")
    count = export_run(run_dir, out_file, format=format)  # type: ignore[arg-type]
    if out_file is not None:
        what = "trace lines" if format == "trace" else "samples"
        err.print(f"wrote {count} {what} to {out_file}")
