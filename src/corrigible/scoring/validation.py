"""Validation of the scorers against the team's labelled replies (``data/validation.jsonl``).

Each case is a reply to a condition with a gold label (harmful / not_harmful / invalid), a
``hard`` flag and a ``held_out`` flag: held-out cases were kept out of the tuning loop and are
reported separately, so the figures say how the detectors do on cases nobody tuned them to.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, ValidationError

from corrigible.environment.observation import observe_reply
from corrigible.errors import ConfigError, describe_validation_error
from corrigible.scoring.judge import CombinationRule, score_many
from corrigible.scoring.verdict import Verdict

Label = Literal["harmful", "not_harmful", "invalid"]
LABELS: tuple[Label, ...] = ("harmful", "not_harmful", "invalid")


class ValidationCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    family: str
    condition: str
    reply: str
    label: Label
    hard: bool
    category: str
    held_out: bool
    note: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None


def default_cases_path() -> Any:
    return resources.files("corrigible.scoring") / "data" / "validation.jsonl"


def load_cases(path: str | Path | None = None) -> list[ValidationCase]:
    source = default_cases_path() if path is None else Path(path)
    cases = []
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(ValidationCase.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}:{lineno}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise ConfigError(f"{source}:{lineno}: {describe_validation_error(exc)}") from None
    return cases


@dataclass
class Metrics:
    """Agreement of predicted with gold labels over one slice of the cases."""

    n: int = 0
    confusion: Counter[tuple[Label, Label]] = field(default_factory=Counter)
    """(gold, predicted) → count."""

    def add(self, gold: Label, predicted: Label) -> None:
        self.n += 1
        self.confusion[(gold, predicted)] += 1

    def _count(self, gold: Label | None = None, predicted: Label | None = None) -> int:
        return sum(
            c
            for (g, p), c in self.confusion.items()
            if (gold is None or g == gold) and (predicted is None or p == predicted)
        )

    @property
    def n_valid(self) -> int:
        return self.n - self._count(gold="invalid")

    @property
    def accuracy_valid(self) -> float | None:
        """Right label among the samples whose gold label is harmful or not harmful."""
        if not self.n_valid:
            return None
        right = self._count("harmful", "harmful") + self._count("not_harmful", "not_harmful")
        return right / self.n_valid

    @property
    def precision(self) -> float | None:
        predicted = self._count(predicted="harmful")
        return self._count("harmful", "harmful") / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        gold = self._count(gold="harmful")
        return self._count("harmful", "harmful") / gold if gold else None

    @property
    def invalid_caught(self) -> tuple[int, int]:
        """(gold-invalid samples reported invalid, gold-invalid samples)."""
        return self._count("invalid", "invalid"), self._count(gold="invalid")

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa over the three labels."""
        if not self.n:
            return None
        observed = sum(self._count(label, label) for label in LABELS) / self.n
        expected = sum(
            (self._count(gold=label) / self.n) * (self._count(predicted=label) / self.n)
            for label in LABELS
        )
        if expected == 1:
            return 1.0 if observed == 1 else 0.0
        return (observed - expected) / (1 - expected)


@dataclass
class ValidationReport:
    scorer: str
    by_family: dict[str, Metrics]
    overall: Metrics
    tuning: Metrics
    held_out: Metrics
    mistakes: list[tuple[ValidationCase, Verdict]]


def evaluate(
    scorer: str, cases: Sequence[ValidationCase], verdicts: Sequence[Verdict]
) -> ValidationReport:
    by_family: dict[str, Metrics] = {}
    overall, tuning, held_out = Metrics(), Metrics(), Metrics()
    mistakes = []
    for case, verdict in zip(cases, verdicts, strict=True):
        predicted = verdict.label
        for metrics in (
            by_family.setdefault(case.family, Metrics()),
            overall,
            held_out if case.held_out else tuning,
        ):
            metrics.add(case.label, predicted)
        if predicted != case.label:
            mistakes.append((case, verdict))
    return ValidationReport(
        scorer, dict(sorted(by_family.items())), overall, tuning, held_out, mistakes
    )


def validate(
    cases: Iterable[ValidationCase] | None = None,
    *,
    judge: Any = None,
    max_concurrency: int = 8,
) -> list[ValidationReport]:
    """Score every case with the detectors, and with the judge (alone and hybrid) when given."""
    cases = list(cases) if cases is not None else load_cases()
    observations = [
        observe_reply(c.condition, c.reply, status=c.status, error=c.error) for c in cases
    ]
    detector = anyio.run(lambda: score_many(observations, judge=None))
    reports = [evaluate("detectors", cases, detector)]
    if judge is not None:
        rules: tuple[CombinationRule, ...] = ("judge", "hybrid")
        for rule in rules:

            async def run(rule: CombinationRule = rule) -> list[Verdict]:
                return await score_many(
                    observations, judge=judge, rule=rule, max_concurrency=max_concurrency
                )

            verdicts = anyio.run(run)
            reports.append(
                evaluate(f"judge ({rule})" if rule == "judge" else "hybrid", cases, verdicts)
            )
    return reports
