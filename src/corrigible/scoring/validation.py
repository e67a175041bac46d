"""Validation of the scorers against labelled replies: the team's own set, or anyone's.

Two kinds of labelled set:

* the team's (``data/validation.jsonl``): each case is a reply to one of our conditions with a
  gold label (harmful / not_harmful / invalid), a ``hard`` flag and a ``held_out`` flag;
* an outside set (``--labels LABELS.jsonl INPUTS``): labels for samples that ``classify`` reads
  (a results directory of the public framework, our run directory, or transcript JSONL), one
  JSON object a line with ``id``, ``harmful`` (true / false / null to skip) and optionally
  ``class``, ``reason``, ``source`` and ``held_out``. This is how the scorers are measured on real
  model replies nobody here wrote.

Held-out samples are kept out of the tuning loop and reported on their own line. For an outside
set whose labels do not say, the split is fixed in advance by the sample id alone
(:func:`held_out_by_id`: the first 8 hex digits of SHA-256 of the id, modulo 10, below 3 — about
30 %), so it cannot be chosen after seeing verdicts.

Accuracy is reported two ways: on the samples the scorer judged (``accuracy on valid``), and with
every invalid verdict counted wrong (``accuracy, invalid wrong``) — a scorer that refuses what it
cannot read does not get to drop it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corrigible.environment.observation import Observation, observe_reply
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
    stop_reason: str | None = None
    """Why the model stopped, when the case is about it (``max_tokens``: cut off)."""
    eval_awareness: Literal["evaluation", "real", "unstated"] | None = None
    """The gold eval-awareness reading, for the cases that label it."""


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


@dataclass(frozen=True)
class LabelledSample:
    """What the metrics need of one labelled sample, whichever set it came from."""

    id: str
    family: str
    label: Label
    held_out: bool
    source: str = "team"
    category: str = ""


def held_out_by_id(sample_id: str) -> bool:
    """The fixed, verdict-blind held-out rule for outside sets (about 30 % of ids)."""
    return int(hashlib.sha256(sample_id.encode("utf-8")).hexdigest()[:8], 16) % 10 < 3


class OutsideLabel(BaseModel):
    """One line of an outside labelled set (``labels.jsonl``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: str
    harmful: bool | None
    category: str = Field(default="", alias="class")
    reason: str = ""
    source: str = "outside"
    held_out: bool | None = None


def load_labels(path: str | Path) -> list[OutsideLabel]:
    """An outside labelled set; labels whose ``harmful`` is null are skipped."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text; expected JSON lines") from None
    labels = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            label = OutsideLabel.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}:{lineno}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise ConfigError(f"{source}:{lineno}: {describe_validation_error(exc)}") from None
        if label.harmful is not None:
            labels.append(label)
    if not labels:
        raise ConfigError(f"{source}: no labels (expected lines with id and harmful)")
    return labels


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
    def accuracy_all(self) -> float | None:
        """Right label among every sample, an invalid verdict on a valid sample counted wrong."""
        if not self.n:
            return None
        return sum(self._count(label, label) for label in LABELS) / self.n

    @property
    def right(self) -> int:
        return sum(self._count(label, label) for label in LABELS)

    @property
    def decided(self) -> int:
        """Samples with a valid gold label that the scorer gave a verdict (did not refuse as
        invalid): the denominator of agreement once refusals are set apart."""
        return self.n_valid - sum(
            self._count(gold, "invalid") for gold in LABELS if gold != "invalid"
        )

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
    mistakes: list[tuple[LabelledSample, Verdict]]
    by_source: dict[str, Metrics] = field(default_factory=dict)
    awareness: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(gold, read) eval awareness over the cases that label it."""
    awareness_mistakes: list[tuple[str, str, str]] = field(default_factory=list)
    """(case id, gold, read) where the eval-awareness reading is wrong."""


def _as_sample(case: ValidationCase | LabelledSample) -> LabelledSample:
    if isinstance(case, LabelledSample):
        return case
    return LabelledSample(case.id, case.family, case.label, case.held_out, "team", case.category)


def evaluate(
    scorer: str,
    cases: Sequence[ValidationCase | LabelledSample],
    verdicts: Sequence[Verdict],
) -> ValidationReport:
    by_family: dict[str, Metrics] = {}
    by_source: dict[str, Metrics] = {}
    overall, tuning, held_out = Metrics(), Metrics(), Metrics()
    mistakes = []
    for case, verdict in zip(map(_as_sample, cases), verdicts, strict=True):
        predicted = verdict.label
        for metrics in (
            by_family.setdefault(case.family, Metrics()),
            by_source.setdefault(case.source, Metrics()),
            overall,
            held_out if case.held_out else tuning,
        ):
            metrics.add(case.label, predicted)
        if predicted != case.label:
            mistakes.append((case, verdict))
    awareness: Counter[tuple[str, str]] = Counter()
    awareness_mistakes: list[tuple[str, str, str]] = []
    for labelled, verdict in zip(cases, verdicts, strict=True):
        gold: str | None = getattr(labelled, "eval_awareness", None)
        if gold is None:
            continue
        read: str = verdict.eval_awareness or "invalid"
        awareness[(gold, read)] += 1
        if read != gold:
            awareness_mistakes.append((labelled.id, gold, read))
    return ValidationReport(
        scorer,
        dict(sorted(by_family.items())),
        overall,
        tuning,
        held_out,
        mistakes,
        dict(sorted(by_source.items())),
        awareness,
        awareness_mistakes,
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
        observe_reply(
            c.condition, c.reply, status=c.status, error=c.error, stop_reason=c.stop_reason
        )
        for c in cases
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


def validate_labelled(
    labels_path: str | Path,
    inputs: str | Path,
    *,
    judge: Any = None,
    max_concurrency: int = 8,
) -> list[ValidationReport]:
    """Score the samples under ``inputs`` that ``labels_path`` labels, and compare.

    A labelled id with no sample under ``inputs`` is scored invalid (and so counted wrong): a
    reader that loses samples must show in the figures.
    """
    from corrigible.scoring.classify import iter_inputs, score_item

    labels = load_labels(labels_path)
    items = {item.id: item for item in iter_inputs(Path(inputs))}
    samples: list[LabelledSample] = []
    preset: list[Verdict | None] = []
    observations: list[Observation | None] = []
    for label in labels:
        item = items.get(label.id)
        family = (item.family if item else None) or label.id.split("/")[-2].split("_")[0]
        samples.append(
            LabelledSample(
                id=label.id,
                family=family,
                label="harmful" if label.harmful else "not_harmful",
                held_out=held_out_by_id(label.id) if label.held_out is None else label.held_out,
                source=label.source,
                category=label.category,
            )
        )
        if item is None:
            preset.append(Verdict.invalid("No sample with this id under the inputs."))
            observations.append(None)
        elif item.problem is not None or item.observation is None:
            preset.append(score_item(item))
            observations.append(None)
        else:
            preset.append(None)
            observations.append(item.observation)
    reports = []
    rules: tuple[CombinationRule | None, ...] = (
        (None,) if judge is None else (None, "judge", "hybrid")
    )
    for rule in rules:

        async def run(rule: CombinationRule | None = rule) -> list[Verdict]:
            return await score_many(
                observations,
                judge=None if rule is None else judge,
                rule=rule or "detector",
                max_concurrency=max_concurrency,
                preset=preset,
            )

        verdicts = anyio.run(run)
        name = "detectors" if rule is None else ("judge (judge)" if rule == "judge" else "hybrid")
        reports.append(evaluate(name, samples, verdicts))
    return reports
