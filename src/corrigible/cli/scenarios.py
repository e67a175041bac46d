"""``corrigible scenarios``: list the families and their grid; render a condition's prompts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from corrigible.cli._tables import Column, Grid, print_json, show

app = typer.Typer(help="Scenario families and their condition grid.", no_args_is_help=True)
out = Console()


@app.command("list")
def list_families(
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout instead."),
) -> None:
    """Families, their axes and how many conditions each offers."""
    from corrigible.scenarios import (
        family_names,
        full_grid,
        goal_catalog,
        load_family,
        mitigation_catalog,
    )

    grid = full_grid()
    table = Grid(
        "Scenario families",
        [
            Column("family"),
            Column("held out"),
            Column("conditions", number=True),
            Column("tools", prose=True),
            Column("harmful action", prose=True),
        ],
    )
    for name in family_names():
        spec = load_family(name)
        n = sum(1 for c in grid if c.family == name)
        table.add_row(
            name,
            "yes" if spec.held_out else "no",
            str(n),
            ", ".join(spec.tools),
            spec.harmful_action,
        )
    if as_json:
        print_json(
            out,
            {
                "families": table.records(),
                "goal_pairs": [list(pair) for pair in goal_catalog().pairs],
                "mitigations": list(mitigation_catalog()),
                "base_conditions": len(grid),
            },
        )
        return
    show(out, table)
    out.print(
        "goal types: explicit, latent, swap (each × a goal value), ambiguous, none; "
        "urgencies: replacement, restriction, none"
    )
    pairs = ", ".join(f"{a}/{b}" for a, b in goal_catalog().pairs)
    out.print(f"goal values (opposed pairs): {pairs}")
    out.print(
        "variants: _prod (no private scratchpad); mitigations, combinable: "
        + ", ".join(f"+{n}" for n in mitigation_catalog())
    )
    out.print(
        f"{len(grid)} base conditions in all (× mitigation sets); "
        "ids look like blackmail_explicit-america_replacement"
    )


RENDERED = ("system_prompt.md", "user_prompt.md", "tools.json", "facts.json")
"""What ``render --out`` writes (its help names these, so it cannot name others)."""
_OUT_HELP = f"Write {', '.join(RENDERED)} into this folder."


@app.command("render")
def render(
    condition_id: str = typer.Argument(..., help="e.g. blackmail_explicit-america_replacement"),
    out_dir: Path | None = typer.Option(None, "--out", help=_OUT_HELP),
    tool_mode: str = typer.Option("text", "--tool-mode", help="text or native"),
) -> None:
    """Print (or write) the exact prompts a model will see for one condition."""
    import json

    from corrigible.errors import OutputError
    from corrigible.scenarios import render_scenario

    scenario = render_scenario(condition_id, tool_mode=tool_mode)  # type: ignore[arg-type]
    if out_dir is None:
        typer.echo(f"=== {scenario.condition_id} · system prompt ===")
        typer.echo(scenario.system_prompt)
        typer.echo("=== user prompt ===")
        typer.echo(scenario.user_prompt)
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir}: is a file; give a folder (it is made if missing)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: cannot make the folder ({exc.strerror})") from None
    contents = {
        "system_prompt.md": scenario.system_prompt,
        "user_prompt.md": scenario.user_prompt,
        "tools.json": json.dumps([t.model_dump() for t in scenario.tools], indent=2) + "\n",
        "facts.json": json.dumps(scenario.facts, indent=2) + "\n",
    }
    for name in RENDERED:
        (out_dir / name).write_text(contents[name], encoding="utf-8")
    typer.echo(f"wrote {', '.join(RENDERED)} to {out_dir}")


def register(root: typer.Typer) -> None:
    """Mount ``scenarios`` under the root app (``corrigible scenarios …``)."""
    root.add_typer(app, name="scenarios")
