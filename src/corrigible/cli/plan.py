"""``corrigible plan``: how many samples a question needs, asked before the sweep is run.

Two questions, chosen by the options given:

* ``--p0 0.05 --p1 0.01``: samples per group to tell a baseline rate from a mitigated one;
* ``--bound 0.01 [--p-true 0.0]``: samples for a release gate, where the upper end of the Wilson
  interval must come out below the bound.

A bad option is one line naming it, exit code 2, in this command itself rather than only at the
app's error boundary, so the command behaves the same wherever it is registered.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import typer

from corrigible.errors import ConfigError

if TYPE_CHECKING:
    from corrigible.analysis import (
        SamplePlan,
    )


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)


def plan(
    p0: float | None = typer.Option(
        None, "--p0", help="Baseline rate to compare from, e.g. 0.05 (with --p1)."
    ),
    p1: float | None = typer.Option(
        None, "--p1", help="Rate to be able to tell apart from --p0, e.g. 0.01."
    ),
    power: float = typer.Option(
        0.8, "--power", help="Probability of detecting the difference, or of passing the gate."
    ),
    alpha: float | None = typer.Option(
        None, "--alpha", help="Two-sided significance level of the comparison (default 0.05)."
    ),
    ratio: float | None = typer.Option(
        None, "--ratio", help="Samples at --p1 per sample at --p0 (default 1)."
    ),
    bound: float | None = typer.Option(
        None, "--bound", help="Release gate: the Wilson upper limit must fall below this rate."
    ),
    p_true: float | None = typer.Option(
        None,
        "--p-true",
        help="Release gate: the agent's assumed true rate (default 0: no harmful events).",
    ),
    confidence: float | None = typer.Option(
        None, "--confidence", help="Release gate: confidence of the Wilson interval (default 0.95)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON instead."),
) -> None:
    """Plan a sweep's size: to compare two rates, or to pass a release gate on one."""
    if bound is not None:
        _refuse_with("--bound", p0=p0, p1=p1, alpha=alpha, ratio=ratio)
        result = _gate(bound, 0.0 if p_true is None else p_true, confidence, power)
        lines = _gate_lines(result, 0.95 if confidence is None else confidence)
    elif p0 is not None or p1 is not None:
        _refuse_with("--p0/--p1", p_true=p_true, confidence=confidence)
        result = _comparison(p0, p1, alpha, ratio, power)
        lines = _comparison_lines(result)
    else:
        raise ConfigError("give --p0 and --p1 to compare two rates, or --bound for a release gate")
    if as_json:
        import dataclasses
        import json

        typer.echo(json.dumps(dataclasses.asdict(result), indent=2))
        return
    for line in lines:
        typer.echo(line)


def _comparison(
    p0: float | None, p1: float | None, alpha: float | None, ratio: float | None, power: float
) -> SamplePlan:
    from corrigible.analysis import plan_two_proportions

    if p0 is None or p1 is None:
        raise ConfigError(f"--{'p1' if p1 is None else 'p0'} is needed to compare two rates")
    _open_probability("--p0", p0)
    _open_probability("--p1", p1)
    if p0 == p1:
        raise ConfigError(f"--p0 and --p1 must differ, both are {p0:g}")
    alpha = 0.05 if alpha is None else alpha
    _open_probability("--alpha", alpha)
    _open_probability("--power", power)
    ratio = 1.0 if ratio is None else ratio
    if not (math.isfinite(ratio) and ratio > 0):
        raise ConfigError(f"--ratio must be a positive number, got {ratio:g}")
    return plan_two_proportions(p0, p1, alpha=alpha, power=power, ratio=ratio)


def _gate(bound: float, p_true: float, confidence: float | None, power: float) -> SamplePlan:
    from corrigible.analysis import plan_upper_bound

    _open_probability("--bound", bound)
    if not (math.isfinite(p_true) and 0.0 <= p_true < 1.0):
        raise ConfigError(f"--p-true must be a rate in [0, 1), got {p_true:g}")
    if p_true >= bound:
        raise ConfigError(f"--p-true ({p_true:g}) must be below --bound ({bound:g})")
    confidence = 0.95 if confidence is None else confidence
    _open_probability("--confidence", confidence)
    _open_probability("--power", power)
    return plan_upper_bound(p_true, bound, confidence=confidence, power=power)


def _comparison_lines(result: SamplePlan) -> list[str]:
    from corrigible.analysis import format_percent

    assert result.p1 is not None
    n0, n1 = result.group_sizes
    sizes = (
        [f"  samples per group: {n0}"]
        if n0 == n1
        else [f"  samples at p0: {n0}", f"  samples at p1: {n1}"]
    )
    return [
        f"Comparing two rates: {format_percent(result.p0)} vs {format_percent(result.p1)} "
        f"(two-sided, alpha = {result.alpha:g}, target power {result.power:.0%})",
        *sizes,
        f"  total samples: {result.n_total}",
        f"  exact power of Fisher's test at that size: {result.achieved_power:.1%}",
        "  method: normal approximation with continuity correction (Fleiss, Levin & Paik 2003)",
    ]


def _gate_lines(result: SamplePlan, confidence: float) -> list[str]:
    from corrigible.analysis import format_percent, wilson_interval

    assert result.bound is not None and result.max_events is not None
    n, k = result.n, result.max_events
    upper = wilson_interval(k, n, confidence).high
    bound = format_percent(result.bound)
    lines = [
        f"Release gate: upper end of the {confidence:.0%} Wilson interval below {bound}",
        f"  assumed true rate: {format_percent(result.p0)}",
        f"  samples: {n}",
        f"  passes with at most {k} harmful of {n} "
        f"(upper limit of {k}/{n}: {format_percent(upper)})",
    ]
    if result.p0 == 0:
        lines.append(f"  {n} is the first n at which 0/n has its upper limit below the bound")
    else:
        lines.append(
            f"  probability of passing at that size: {result.achieved_power:.1%} "
            f"(target {result.power:.0%})"
        )
    return lines


def _open_probability(option: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ConfigError(f"{option} must lie strictly between 0 and 1, got {value:g}")


def _refuse_with(mode: str, **given: float | None) -> None:
    clashes = [f"--{name.replace('_', '-')}" for name, value in given.items() if value is not None]
    if clashes:
        raise ConfigError(f"{', '.join(clashes)} cannot be combined with {mode}")
