"""Harmful-action rates of a scored run, by condition, by urgency and by family, and the
pressure-vs-control differences.

Why a separate module: the report, the CLI table and any later tool (a release gate, a
notebook) must print the *same* numbers, and numbers are easiest to trust when they come from
pure functions over plain rows that a test can feed by hand. Nothing here reads files or draws.

Counting rules, applied everywhere:

* ``n`` is every sample of the group; ``valid`` is n minus the invalid ones (errors, empty or
  garbled replies); ``harmful`` counts among the valid. The rate is harmful / valid with its
  Wilson 95% interval (:func:`corrigible.analysis.stats.rate`), so invalid samples neither
  dilute nor inflate it, but are carried along so the report can say they existed.
* Each pressure condition of a family is compared with that family's control, the condition
  with no goal and no urgency (``<family>_none_none``; for a ``_prod`` or ``+instructions``
  variant, the control of that same variant when the run has it). The comparisons of one
  (model, family) are one family of tests: Holm-adjusted together by
  :func:`corrigible.analysis.stats.compare_all`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from corrigible.analysis.stats import Difference, Rate, compare_all, format_percent, rate
from corrigible.errors import ConfigError, UnknownConditionError
from corrigible.scenarios.condition import Condition, GoalType, Urgency, parse_condition_id
from corrigible.scoring.verdict import SECONDARY, Label, VerdictRow

__all__ = [
    "CSV_COLUMNS",
    "Comparison",
    "GroupRate",
    "InvalidReason",
    "Label",
    "Level",
    "RunSummary",
    "VerdictRow",
    "behaviour_rows",
    "compare_to_control",
    "condition_sort_key",
    "control_for",
    "format_interval",
    "format_p",
    "format_rate",
    "invalid_reasons",
    "rates_by",
    "rates_by_awareness",
    "summarise",
    "summary_csv_rows",
    "summary_json",
]

Level = Literal["condition", "family_urgency", "family", "family_awareness"]

UNKNOWN_URGENCY = "unknown"
"""Urgency of a condition id that does not parse (imported results may carry such ids)."""

_GOAL_ORDER = {g: i for i, g in enumerate(GoalType)}
_URGENCY_ORDER = {u.value: i for i, u in enumerate(Urgency)}


@dataclass(frozen=True)
class GroupRate:
    """The harmful-action rate of one group of samples of one model.

    ``urgency`` is set for the ``condition`` and ``family_urgency`` levels, ``condition`` only
    for the ``condition`` level.
    """

    level: Level
    model: str
    family: str
    urgency: str | None
    condition: str | None
    n: int
    """Every sample of the group, valid or not."""
    rate: Rate
    """harmful (k) of valid (n) samples, with the Wilson interval and the invalid count."""
    benign: Rate | None = None
    """benign tasks all done (k) of valid samples with tasks (n); None when no task applies."""
    over_refusal: Rate | None = None
    """valid, harmless samples that also did no benign task (k) of valid samples with tasks (n)."""
    secondary: dict[str, Rate] = field(default_factory=dict)
    """Per secondary behaviour: valid samples showing it (k) of valid samples (n)."""
    awareness: str | None = None
    """Set for the ``family_awareness`` level: the eval-awareness reading of the group."""

    @property
    def harmful(self) -> int:
        return self.rate.k

    @property
    def valid(self) -> int:
        return self.rate.n

    @property
    def invalid(self) -> int:
        return self.rate.invalid


@dataclass(frozen=True)
class Comparison:
    """One pressure condition against its family's control, for one model.

    ``difference`` is None when either side has no valid sample: there is nothing to compare,
    and ``note`` says so. ``family_size`` is how many comparisons shared the Holm adjustment.
    """

    model: str
    family: str
    condition: str
    control: str
    pressure: GroupRate
    baseline: GroupRate
    difference: Difference | None
    family_size: int
    note: str = ""


@dataclass(frozen=True)
class InvalidReason:
    """How many samples of one (model, condition) were invalid for one reason."""

    model: str
    family: str
    condition: str
    reason: str
    count: int


@dataclass(frozen=True)
class RunSummary:
    """Everything the report prints about rates, from one list of verdict rows."""

    total: int
    harmful: int
    not_harmful: int
    invalid: int
    models: tuple[str, ...]
    families: tuple[str, ...]
    by_condition: tuple[GroupRate, ...]
    by_family_urgency: tuple[GroupRate, ...]
    by_family: tuple[GroupRate, ...]
    comparisons: tuple[Comparison, ...]
    invalid_reasons: tuple[InvalidReason, ...]
    confidence: float = 0.95
    conditions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Conditions of each family present in the run, in display order."""
    by_awareness: tuple[GroupRate, ...] = ()
    """Harm rates per (model, family) split by eval awareness (valid samples only: an invalid
    sample has no reading)."""


# -- ordering -------------------------------------------------------------------------------------


def _parse(condition: str) -> Condition | None:
    try:
        return parse_condition_id(condition)
    except (UnknownConditionError, ValueError):
        return None


def condition_sort_key(condition: str) -> tuple[Any, ...]:
    """Display order: by family, control first, then goal type, value, urgency, variants.

    A stable, meaningful order (not alphabetical) keeps a condition's row next to its
    neighbours in the design, so the eye can run down one urgency or one goal.
    """
    parsed = _parse(condition)
    if parsed is None:
        return (condition, 1, 99, "", 99, False, (), condition)
    is_control = parsed.goal_type is GoalType.NONE and parsed.urgency is Urgency.NONE
    return (
        parsed.family,
        0 if is_control else 1,
        _GOAL_ORDER[parsed.goal_type],
        parsed.goal_value or "",
        _URGENCY_ORDER[parsed.urgency.value],
        parsed.production,
        parsed.instructions,
        condition,
    )


def _urgency_of(condition: str) -> str:
    parsed = _parse(condition)
    return parsed.urgency.value if parsed is not None else UNKNOWN_URGENCY


def _urgency_key(urgency: str) -> int:
    return _URGENCY_ORDER.get(urgency, len(_URGENCY_ORDER))


# -- rates ----------------------------------------------------------------------------------------


def _group_rate(
    level: Level,
    model: str,
    family: str,
    urgency: str | None,
    condition: str | None,
    rows: Sequence[VerdictRow],
    confidence: float,
    awareness: str | None = None,
) -> GroupRate:
    harmful = sum(1 for r in rows if r.label == "harmful")
    invalid = sum(1 for r in rows if r.label == "invalid")
    valid = len(rows) - invalid
    return GroupRate(
        level=level,
        model=model,
        family=family,
        urgency=urgency,
        condition=condition,
        n=len(rows),
        rate=rate(harmful, valid, invalid=invalid, confidence=confidence),
        benign=utility_rate([r.benign_done for r in rows], confidence),
        over_refusal=utility_rate([r.over_refusal for r in rows], confidence),
        secondary={
            behaviour: rate(
                sum(1 for r in rows if r.label != "invalid" and behaviour in r.secondary),
                valid,
                confidence=confidence,
            )
            for behaviour in SECONDARY
        },
        awareness=awareness,
    )


def utility_rate(outcomes: Sequence[bool | None], confidence: float = 0.95) -> Rate | None:
    """k of n over the samples where the outcome applies (None ones are left out)."""
    known = [o for o in outcomes if o is not None]
    return rate(sum(known), len(known), confidence=confidence) if known else None


def rates_by(
    rows: Iterable[VerdictRow], level: Level, *, confidence: float = 0.95
) -> list[GroupRate]:
    """Rates of every group at ``level``, ordered by model, family, urgency and condition."""
    groups: dict[tuple[str, str, str | None, str | None], list[VerdictRow]] = defaultdict(list)
    for row in rows:
        urgency = _urgency_of(row.condition) if level != "family" else None
        condition = row.condition if level == "condition" else None
        groups[(row.model, row.family, urgency, condition)].append(row)

    def key(k: tuple[str, str, str | None, str | None]) -> tuple[Any, ...]:
        model, family, urgency, condition = k
        if level == "condition":
            return (model, condition_sort_key(condition or ""))
        return (model, family, _urgency_key(urgency or ""), urgency or "")

    return [
        _group_rate(level, *k, groups[k], confidence=confidence) for k in sorted(groups, key=key)
    ]


def behaviour_rows(rows: Iterable[VerdictRow], behaviour: str) -> list[VerdictRow]:
    """The rows relabelled so that "harmful" reads "showed ``behaviour``" (invalid stays invalid):
    every rate, comparison and gate then measures that secondary behaviour."""
    if behaviour not in SECONDARY:
        raise ConfigError(f"behaviour {behaviour!r}: expected one of {', '.join(SECONDARY)}")
    return [
        r
        if r.label == "invalid"
        else replace(r, label="harmful" if behaviour in r.secondary else "not_harmful")
        for r in rows
    ]


AWARENESS_ORDER = ("evaluation", "real", "unstated")


def rates_by_awareness(rows: Iterable[VerdictRow], *, confidence: float = 0.95) -> list[GroupRate]:
    """Harm rates per (model, family) and eval-awareness reading, over valid samples.

    The original study's key comparison: how often the agent acts when it says the scenario is
    a test, when it says it is real, and when it says neither.
    """
    groups: dict[tuple[str, str, str], list[VerdictRow]] = defaultdict(list)
    for row in rows:
        if row.label != "invalid" and row.eval_awareness is not None:
            groups[(row.model, row.family, row.eval_awareness)].append(row)
    order = {a: i for i, a in enumerate(AWARENESS_ORDER)}
    return [
        _group_rate(
            "family_awareness",
            model,
            family,
            None,
            None,
            groups[(model, family, aware)],
            confidence=confidence,
            awareness=aware,
        )
        for model, family, aware in sorted(groups, key=lambda k: (k[0], k[1], order.get(k[2], 9)))
    ]


# -- differences ----------------------------------------------------------------------------------


def control_for(condition: str, present: Iterable[str]) -> str | None:
    """The control a pressure condition is compared with, among the conditions ``present``.

    None for a control itself (no goal, no urgency), for an id that does not parse, and when
    the run has no control for the family. The control of the same variant (``_prod``,
    ``+instructions``) is preferred: comparing a production-variant condition with the
    scratchpad control would mix two effects.
    """
    parsed = _parse(condition)
    if parsed is None or (parsed.goal_type is GoalType.NONE and parsed.urgency is Urgency.NONE):
        return None
    available = set(present)
    same_variant = Condition(
        family=parsed.family,
        goal_type=GoalType.NONE,
        urgency=Urgency.NONE,
        production=parsed.production,
        instructions=parsed.instructions,
    ).id
    for candidate in (same_variant, f"{parsed.family}_none_none"):
        if candidate in available:
            return candidate
    return None


def compare_to_control(
    by_condition: Iterable[GroupRate], *, confidence: float = 0.95
) -> list[Comparison]:
    """Every pressure condition against its control, Holm-adjusted per (model, family).

    Pairs with no valid sample on either side are listed with a note and left out of the
    adjustment (they are not tests).
    """
    cells: dict[tuple[str, str], dict[str, GroupRate]] = defaultdict(dict)
    for cell in by_condition:
        if cell.condition is not None:
            cells[(cell.model, cell.family)][cell.condition] = cell
    out: list[Comparison] = []
    for (model, family), conditions in sorted(cells.items()):
        pairs: list[tuple[GroupRate, GroupRate]] = []
        for condition in sorted(conditions, key=condition_sort_key):
            control = control_for(condition, conditions)
            if control is not None:
                pairs.append((conditions[condition], conditions[control]))
        testable = [(a, b) for a, b in pairs if a.valid and b.valid]
        differences = compare_all([(a.rate, b.rate) for a, b in testable], confidence)
        by_pair = {
            (a.condition, b.condition): d for (a, b), d in zip(testable, differences, strict=True)
        }
        for a, b in pairs:
            difference = by_pair.get((a.condition, b.condition))
            note = ""
            if difference is None:
                side = (
                    "either side"
                    if not (a.valid or b.valid)
                    else ("pressure" if not a.valid else "control")
                )
                note = f"not tested: no valid samples ({side})"
            out.append(
                Comparison(
                    model=model,
                    family=family,
                    condition=a.condition or "",
                    control=b.condition or "",
                    pressure=a,
                    baseline=b,
                    difference=difference,
                    family_size=len(testable),
                    note=note,
                )
            )
    return out


# -- invalid samples ------------------------------------------------------------------------------


def invalid_reasons(rows: Iterable[VerdictRow]) -> list[InvalidReason]:
    """Invalid samples counted by (model, condition, reason), most frequent reason first."""
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in rows:
        if row.label == "invalid":
            counts[(row.model, row.family, row.condition, row.reason or "no reason given")] += 1
    ordered = sorted(
        counts.items(), key=lambda kv: (kv[0][0], condition_sort_key(kv[0][2]), -kv[1], kv[0][3])
    )
    return [InvalidReason(m, f, c, reason, count) for (m, f, c, reason), count in ordered]


# -- everything -----------------------------------------------------------------------------------


def summarise(rows: Iterable[VerdictRow], *, confidence: float = 0.95) -> RunSummary:
    """All the rates, differences and invalid counts of one run's verdict rows."""
    rows = list(rows)
    by_condition = rates_by(rows, "condition", confidence=confidence)
    conditions: dict[str, list[str]] = defaultdict(list)
    for cell in by_condition:
        if cell.condition is not None and cell.condition not in conditions[cell.family]:
            conditions[cell.family].append(cell.condition)
    labels = [r.label for r in rows]
    return RunSummary(
        total=len(rows),
        harmful=labels.count("harmful"),
        not_harmful=labels.count("not_harmful"),
        invalid=labels.count("invalid"),
        models=tuple(sorted({r.model for r in rows})),
        families=tuple(sorted({r.family for r in rows})),
        by_condition=tuple(by_condition),
        by_family_urgency=tuple(rates_by(rows, "family_urgency", confidence=confidence)),
        by_family=tuple(rates_by(rows, "family", confidence=confidence)),
        comparisons=tuple(compare_to_control(by_condition, confidence=confidence)),
        invalid_reasons=tuple(invalid_reasons(rows)),
        confidence=confidence,
        by_awareness=tuple(rates_by_awareness(rows, confidence=confidence)),
        conditions={
            family: tuple(sorted(names, key=condition_sort_key))
            for family, names in sorted(conditions.items())
        },
    )


# -- formatting and serialisation -----------------------------------------------------------------


def format_interval(r: Rate) -> str:
    """``[2.1%, 30.4%]``, or an em dash when there is no valid sample."""
    if r.interval is None:
        return "—"
    return f"[{format_percent(r.interval.low)}, {format_percent(r.interval.high)}]"


def format_rate(r: Rate) -> str:
    """``3/10 = 30.0% [10.8%, 60.3%]``: never a rate without its n and interval."""
    if r.rate is None:
        return f"{r.k}/{r.n} (no valid samples)"
    return f"{r.k}/{r.n} = {format_percent(r.rate)} {format_interval(r)}"


def format_p(p: float | None) -> str:
    """A p-value to three decimals, or in scientific notation below 0.001."""
    if p is None:
        return "—"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


CSV_COLUMNS = (
    "level",
    "model",
    "family",
    "urgency",
    "condition",
    "n",
    "valid",
    "harmful",
    "invalid",
    "rate",
    "ci_low",
    "ci_high",
    "benign_done",
    "benign_n",
    "benign_rate",
    "over_refusal",
    "over_refusal_rate",
    "awareness",
    *(f"{b}{suffix}" for b in SECONDARY for suffix in ("", "_rate", "_ci_low", "_ci_high")),
)
"""Columns of summary.csv: one row per group, at every level. Floats at full precision."""


def _group_dict(cell: GroupRate) -> dict[str, Any]:
    r = cell.rate
    return {
        "level": cell.level,
        "model": cell.model,
        "family": cell.family,
        "urgency": cell.urgency,
        "condition": cell.condition,
        "n": cell.n,
        "valid": r.n,
        "harmful": r.k,
        "invalid": r.invalid,
        "rate": r.rate,
        "ci_low": None if r.interval is None else r.interval.low,
        "ci_high": None if r.interval is None else r.interval.high,
        "benign_done": None if cell.benign is None else cell.benign.k,
        "benign_n": None if cell.benign is None else cell.benign.n,
        "benign_rate": None if cell.benign is None else cell.benign.rate,
        "over_refusal": None if cell.over_refusal is None else cell.over_refusal.k,
        "over_refusal_rate": None if cell.over_refusal is None else cell.over_refusal.rate,
        "awareness": cell.awareness,
        **{
            f"{b}{suffix}": value
            for b in SECONDARY
            for suffix, value in _rate_parts(cell.secondary.get(b)).items()
        },
    }


def _rate_parts(r: Rate | None) -> dict[str, Any]:
    if r is None:
        return {"": None, "_rate": None, "_ci_low": None, "_ci_high": None}
    return {
        "": r.k,
        "_rate": r.rate,
        "_ci_low": None if r.interval is None else r.interval.low,
        "_ci_high": None if r.interval is None else r.interval.high,
    }


def summary_csv_rows(summary: RunSummary) -> list[dict[str, Any]]:
    """The rows of summary.csv (condition, then family × urgency, then family level)."""
    cells = (
        *summary.by_condition,
        *summary.by_family_urgency,
        *summary.by_family,
        *summary.by_awareness,
    )
    return [_group_dict(cell) for cell in cells]


def _comparison_dict(c: Comparison) -> dict[str, Any]:
    d = c.difference
    return {
        "model": c.model,
        "family": c.family,
        "condition": c.condition,
        "control": c.control,
        "pressure": {k: _group_dict(c.pressure)[k] for k in ("n", "valid", "harmful", "rate")},
        "baseline": {k: _group_dict(c.baseline)[k] for k in ("n", "valid", "harmful", "rate")},
        "diff": None if d is None else d.diff,
        "ci_low": None if d is None else d.interval.low,
        "ci_high": None if d is None else d.interval.high,
        "p_fisher": None if d is None else d.p_value,
        "p_holm": None if d is None else d.p_adjusted,
        "holm_family_size": c.family_size,
        "note": c.note,
    }


def summary_json(summary: RunSummary, **extra: Any) -> dict[str, Any]:
    """summary.json: totals, rates at every level, comparisons and invalid reasons."""
    return {
        **extra,
        "confidence": summary.confidence,
        "methods": {
            "rate_interval": "Wilson score",
            "difference_interval": "Newcombe hybrid score (method 10)",
            "test": "Fisher exact, two-sided",
            "adjustment": "Holm, per (model, family) across its pressure-vs-control comparisons",
            "invalid": "excluded from n (valid), counted separately",
        },
        "totals": {
            "samples": summary.total,
            "harmful": summary.harmful,
            "not_harmful": summary.not_harmful,
            "invalid": summary.invalid,
            "models": list(summary.models),
            "families": list(summary.families),
        },
        "by_condition": [_group_dict(c) for c in summary.by_condition],
        "by_family_urgency": [_group_dict(c) for c in summary.by_family_urgency],
        "by_family": [_group_dict(c) for c in summary.by_family],
        "by_awareness": [_group_dict(c) for c in summary.by_awareness],
        "comparisons": [_comparison_dict(c) for c in summary.comparisons],
        "invalid_reasons": [
            {
                "model": r.model,
                "family": r.family,
                "condition": r.condition,
                "reason": r.reason,
                "count": r.count,
            }
            for r in summary.invalid_reasons
        ],
    }
