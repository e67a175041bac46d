"""Mitigation A/B: the change in harmful rate from a baseline arm to a treatment arm, per family.

Mitigations are composable conditions: ``blackmail_explicit-america_replacement+prohibition`` is
the same scenario as ``blackmail_explicit-america_replacement`` with the prohibition rules added.
An *arm* names the set of extra instructions (``none`` for the plain conditions, ``prohibition``,
``prohibition+oversight``); samples are paired by base condition, so the two arms cover the same
scenarios, and pooled per model and family. Each difference carries a Newcombe interval and
Fisher's exact p, Holm-adjusted across the families compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from corrigible.analysis.stats import Difference, Rate, compare_all, rate
from corrigible.analysis.summary import VerdictRow, utility_rate
from corrigible.errors import ConfigError, UnknownConditionError
from corrigible.scenarios import parse_condition_id


@dataclass(frozen=True)
class ArmComparison:
    model: str
    family: str
    conditions: int
    """Base conditions present in both arms (what was pooled)."""
    baseline: Rate
    treatment: Rate
    difference: Difference | None
    """None when either arm has no valid sample."""
    baseline_benign: Rate | None = None
    treatment_benign: Rate | None = None
    """Benign tasks done, per arm: what the mitigation costs in utility (None: no tasks)."""


def arm_of(instructions: tuple[str, ...]) -> str:
    return "+".join(instructions) if instructions else "none"


def _split(row: VerdictRow) -> tuple[str, str] | None:
    try:
        condition = parse_condition_id(row.condition)
    except UnknownConditionError:
        return None
    base = condition.model_copy(update={"instructions": ()}).id
    return base, arm_of(condition.instructions)


def arms_present(rows: Iterable[VerdictRow]) -> list[str]:
    """The mitigation arms a run holds (``none`` first when present, then by name)."""
    arms = {split[1] for row in rows if (split := _split(row)) is not None}
    return sorted(arms, key=lambda arm: (arm != "none", arm))


def compare_arms(rows: list[VerdictRow], baseline: str, treatment: str) -> list[ArmComparison]:
    """Per (model, family): treatment vs baseline over the base conditions both arms ran."""
    if baseline == treatment:
        raise ConfigError(f"--baseline and --treatment are the same arm ({baseline!r})")
    cells: dict[tuple[str, str, str, str], list[VerdictRow]] = {}
    arms_seen: set[str] = set()
    for row in rows:
        split = _split(row)
        if split is None:
            continue
        base, arm = split
        arms_seen.add(arm)
        cells.setdefault((row.model, row.family, base, arm), []).append(row)
    for arm in (baseline, treatment):
        if arm not in arms_seen:
            raise ConfigError(
                f"arm {arm!r} has no samples in this run (arms present: {', '.join(sorted(arms_seen)) or 'none'})"
            )
    return _compare_cells(cells, baseline, treatment)


def compare_runs(
    baseline_rows: list[VerdictRow],
    treatment_rows: list[VerdictRow],
    names: tuple[str, str] = ("baseline", "treatment"),
) -> list[ArmComparison]:
    """Per (model, family): one run against another over the conditions both ran — e.g. the same
    sweep without and with a containment guard, to see the harmful-outcome rate the policy
    prevents and the benign tasks it costs."""
    cells: dict[tuple[str, str, str, str], list[VerdictRow]] = {}
    if names[0] == names[1]:
        raise ConfigError(f"the two runs need different names, both are {names[0]!r}")
    for arm, rows in zip(names, (baseline_rows, treatment_rows), strict=True):
        for row in rows:
            cells.setdefault((row.model, row.family, row.condition, arm), []).append(row)
    return _compare_cells(cells, *names)


def _compare_cells(
    cells: dict[tuple[str, str, str, str], list[VerdictRow]], baseline: str, treatment: str
) -> list[ArmComparison]:
    """Pool the (model, family, condition, arm) cells that both arms have, and compare."""
    groups: dict[tuple[str, str], tuple[list[VerdictRow], list[VerdictRow], int]] = {}
    for (model, family, base, arm), _ in cells.items():
        if arm != baseline or (model, family, base, treatment) not in cells:
            continue
        a, b, n = groups.get((model, family), ([], [], 0))
        a = a + cells[(model, family, base, baseline)]
        b = b + cells[(model, family, base, treatment)]
        groups[(model, family)] = (a, b, n + 1)
    if not groups:
        raise ConfigError(f"no condition was run under both {baseline!r} and {treatment!r}")
    keys = sorted(groups)
    rates = [(_rate(groups[k][0]), _rate(groups[k][1])) for k in keys]
    testable = [i for i, (a, b) in enumerate(rates) if a.n and b.n]
    differences = compare_all([(rates[i][1], rates[i][0]) for i in testable])
    by_index = dict(zip(testable, differences, strict=True))
    return [
        ArmComparison(
            model=k[0],
            family=k[1],
            conditions=groups[k][2],
            baseline=rates[i][0],
            treatment=rates[i][1],
            difference=by_index.get(i),
            baseline_benign=utility_rate([r.benign_done for r in groups[k][0]]),
            treatment_benign=utility_rate([r.benign_done for r in groups[k][1]]),
        )
        for i, k in enumerate(keys)
    ]


def _rate(rows: list[VerdictRow]) -> Rate:
    harmful = sum(r.label == "harmful" for r in rows)
    invalid = sum(r.label == "invalid" for r in rows)
    return rate(harmful, len(rows) - invalid, invalid=invalid)
