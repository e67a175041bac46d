"""``corrigible gate GATE.yaml RUN_DIR``: pass (0), fail (1) or unusable input (2)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from rich.console import Console

from corrigible.cli._tables import Column, Grid, print_json, show

console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)


def gate(
    gate_file: Path = typer.Argument(..., metavar="GATE.yaml", help="Criteria with thresholds."),
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A run directory of `corrigible run`."
    ),
    junit: Path | None = typer.Option(
        None, "--junit", help="Also write JUnit XML (for CI systems)."
    ),
    record: Path | None = typer.Option(
        None,
        "--record",
        help="Where to write the JSON record of what was evaluated (default: RUN_DIR/gate-<name>.json).",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print JSON on stdout instead of the table (the gate record; the exit code is the same).",
    ),
) -> None:
    """Evaluate a release gate on a scored run: a table of each criterion, measured value and bound."""
    from corrigible._files import atomic_write_text
    from corrigible.analysis.gate import (
        evaluate_gate,
        gate_record,
        junit_xml,
        load_gate,
        record_digest,
        record_text,
    )
    from corrigible.scoring.runs import score_run

    spec = load_gate(gate_file)
    rows, _ = score_run(run_dir)
    result = evaluate_gate(spec, rows)
    grid = Grid(
        f"Gate {spec.name}: {result.outcome.upper()}",
        [
            Column("criterion"),
            Column("model"),
            Column("scope"),
            Column("metric"),
            Column("measured", number=True),
            Column("threshold", number=True),
            Column("result", styles={"pass": "green", "fail": "red", "unusable": "yellow"}),
            Column("detail", prose=True),
        ],
        keys=3,
    )
    for c in result.checks:
        value = "—" if c.value is None else f"{c.value:.4g}"
        grid.add_row(
            c.criterion, c.model, c.scope, c.metric, value, c.threshold, c.outcome, c.detail
        )
    if not as_json:
        show(console, grid)
    config_path = run_dir / "config.yaml"
    run_config = (
        yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
    )
    body = record_text(
        gate_record(result, gate_path=gate_file, run_dir=run_dir, run_config=run_config or {})
    )
    record_path = record or run_dir / f"gate-{spec.name}.json"
    atomic_write_text(record_path, body)
    digest = record_digest(body)
    atomic_write_text(
        record_path.with_name(record_path.name + ".sha256"), f"{digest}  {record_path.name}\n"
    )
    notes = console if not as_json else Console(stderr=True, soft_wrap=True)
    if as_json:
        print_json(console, json.loads(body))
    notes.print(f"record: {record_path}\n  sha256 {digest}", markup=False, highlight=False)
    if junit is not None:
        atomic_write_text(junit, junit_xml(result))
        notes.print(f"junit: {junit}", markup=False, highlight=False)
    raise typer.Exit(result.exit_code)
