"""``corrigible train``: the training pillar — constitutions, generated datasets, contamination.

``constitution`` checks a constitution file and shows its principles; ``generate`` runs (or
resumes) a data-generation job from its config file; ``contamination`` checks any dataset in
TRL's formats (JSONL of ``messages`` or ``prompt``/``chosen``/``rejected`` records) against every
rendered scenario condition. Each command parses its options and calls one documented function
of :mod:`corrigible.training`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    name="train",
    help="Constitutions, constitution-driven training data, and contamination checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(root: typer.Typer) -> None:
    """Attach ``train`` to the root app."""
    root.add_typer(app, name="train")


@app.command("constitution")
def constitution_command(
    path: str = typer.Argument(
        "default", metavar="[PATH]", help="A constitution file (default: ours)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print it as JSON instead."),
) -> None:
    """Check a constitution file and list its principles with their reasons."""
    from corrigible.training import load_constitution

    constitution = load_constitution(path)
    if as_json:
        typer.echo(constitution.model_dump_json(indent=2))
        return
    typer.echo(f"{constitution.fingerprint}: {len(constitution.principles)} principles")
    for p in constitution.principles:
        typer.echo(f"\n[{p.id}] {p.title}\n  {p.principle}\n  why: {p.why}")


@app.command("generate")
def generate_command(
    config: Path = typer.Argument(..., metavar="CONFIG", help="A generation config (YAML)."),
    out: Path = typer.Option(..., "--out", help="The dataset directory (resumed if it exists)."),
) -> None:
    """Generate (or resume) a constitution-driven dataset: raw.jsonl, train.jsonl, its card."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from corrigible.training import generate_dataset, load_generation_config

    job = load_generation_config(config)
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # a pipe or a CI log gets the summary lines only
    ) as progress:
        task = progress.add_task(f"{job.kind} via {job.teacher}", total=job.items)

        def on_item(item_id: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"{job.kind}: {item_id}")

        result = generate_dataset(job, out, on_item=on_item)
    counts = result.card["counts"]
    contamination = result.card["contamination"]
    dropped = ", ".join(f"{k} {v}" for k, v in counts["dropped"].items() if v) or "none"
    typer.echo(
        f"{out}: {counts['kept']} records kept of {counts['generated']} generated "
        f"({counts['planned']} planned); dropped: {dropped}"
    )
    typer.echo(
        "contamination: "
        + (
            "none"
            if contamination["clean"]
            else "shared text with "
            + ", ".join(n for n, f in contamination["families"].items() if f["items"])
        )
        + ("" if contamination["held_out_clean"] else " — HELD-OUT FAMILIES CONTAMINATED")
    )
    if result.errors:
        typer.echo(
            f"{len(result.errors)} teacher errors (run the same command again to retry):", err=True
        )
        for line in result.errors[:5]:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(1)


@app.command("contamination")
def contamination_command(
    dataset: Path = typer.Argument(..., metavar="DATASET", help="A JSONL dataset."),
    n: int = typer.Option(8, "--n", min=4, max=32, help="Shared words that count as overlap."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check a dataset against every rendered condition of every family (exit 1 if a held-out
    family shares text)."""
    from corrigible.training import ScenarioIndex, check_contamination, read_dataset

    report = check_contamination(read_dataset(dataset), ScenarioIndex.of_scenarios(n=n))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(f"{dataset}: {report.items} records, word {n}-grams against every scenario")
        for name, family in sorted(report.families.items()):
            mark = " (held out)" if family.held_out else ""
            line = f"  {name}{mark}: {family.items} records, {family.grams} shared {n}-grams"
            if family.examples:
                line += f", e.g. “{family.examples[0]}”"
            typer.echo(line)
        typer.echo("held-out families: " + ("clean" if report.held_out_clean else "CONTAMINATED"))
    if not report.held_out_clean:
        raise typer.Exit(1)
