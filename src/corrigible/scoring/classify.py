"""``corrigible classify``: score a transcript file, a run directory or another tool's results.

Every input sample gives exactly one output line; a sample that cannot be read is reported
with its path (and line), scored as invalid, and the rest carry on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from corrigible.environment.observation import Observation, observe_record
from corrigible.errors import CorrigibleError, InteropError, RunDirError
from corrigible.interop import amf
from corrigible.models.make import make_model
from corrigible.results import STORE_FILE, is_run_dir, iter_transcripts, write_jsonl
from corrigible.scoring.detectors import detect
from corrigible.scoring.judge import RULES, CombinationRule, score_many
from corrigible.scoring.verdict import ScoredSample, Verdict


@dataclass
class ClassifySummary:
    total: int = 0
    harmful: int = 0
    not_harmful: int = 0
    invalid: int = 0
    malformed: list[str] = field(default_factory=list)
    judge_errors: int = 0

    def count(self, verdict: Verdict) -> None:
        self.total += 1
        setattr(self, verdict.label, getattr(self, verdict.label) + 1)


@dataclass(frozen=True)
class _Item:
    id: str
    family: str | None
    condition: str | None
    model: str | None
    observation: Observation | None = None
    problem: str | None = None
    """Why the sample could not be read (malformed input): it is then invalid."""


def _from_transcripts(path: Path) -> Iterator[_Item]:
    try:
        fh = path.open("rb")  # decoded per line: one line that is not UTF-8 is one bad sample
    except OSError as exc:
        raise CorrigibleError(f"{path}: cannot read ({exc.strerror})") from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield _Item(where, None, None, None, problem=f"{where}: not UTF-8 text")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield _Item(
                    f"{where}", None, None, None, problem=f"{where}: not valid JSON ({exc.msg})"
                )
                continue
            yield _record_item(record, where)


def _record_item(record: Any, where: str) -> _Item:
    if not isinstance(record, dict) or "condition" not in record:
        return _Item(
            where,
            None,
            None,
            None,
            problem=f"{where}: expected a transcript object with 'condition'",
        )
    ident = str(record.get("id") or where)
    family, condition, model = record.get("family"), record.get("condition"), record.get("model")
    try:
        return _Item(ident, family, condition, model, observation=observe_record(record))
    except (CorrigibleError, ValueError, KeyError, TypeError) as exc:
        message = " ".join(str(exc).split())
        return _Item(ident, family, condition, model, problem=f"{where}: {message}")


def _from_run_dir(path: Path) -> Iterator[_Item]:
    for n, record in enumerate(iter_transcripts(path), start=1):
        yield _record_item(record, f"{path / STORE_FILE} [record {n}]")


def _from_amf(root: Path) -> Iterator[_Item]:
    for sample in amf.iter_samples(root):
        try:
            obs = amf.observe_amf(root, sample)
        except InteropError as exc:
            yield _Item(sample.id, sample.family, sample.condition, sample.model, problem=str(exc))
            continue
        yield _Item(sample.id, sample.family, sample.condition, sample.model, observation=obs)


def iter_inputs(path: Path) -> Iterator[_Item]:
    """Dispatch on what ``path`` is: transcript JSONL, our run directory, or framework results."""
    if path.is_file():
        return _from_transcripts(path)
    if is_run_dir(path):
        return _from_run_dir(path)
    if path.is_dir() and amf.is_amf_results_dir(path):
        return _from_amf(path)
    if not path.exists():
        raise CorrigibleError(f"{path}: no such file or directory")
    raise RunDirError(
        f"{path}: expected a transcript .jsonl, a run directory (with {STORE_FILE}) "
        "or a results directory of the public framework (with prompts/)"
    )


def score_item(item: _Item) -> Verdict:
    if item.problem is not None or item.observation is None:
        return Verdict.invalid("The input could not be read.", error=item.problem)
    return detect(item.observation)


def classify(
    path: str | Path,
    out: str | Path | None,
    *,
    judge: str | None = None,
    judge_args: dict[str, Any] | None = None,
    rule: CombinationRule = "hybrid",
    max_concurrency: int = 8,
) -> ClassifySummary:
    """Score every sample under ``path``; write one JSON line each to ``out`` (or stdout).

    Without a judge the samples stream through the detectors. With one, they are gathered and
    the judge is asked concurrently where ``rule`` calls for it (see ``scoring.judge``).
    """
    if rule not in RULES:
        raise CorrigibleError(f"--rule {rule!r}: expected one of {', '.join(RULES)}")
    summary = ClassifySummary()
    items: Iterable[_Item] = iter_inputs(Path(path))
    if judge is None or rule == "detector":
        pairs: Iterable[tuple[_Item, Verdict]] = ((item, score_item(item)) for item in items)
    else:
        gathered = list(items)
        preset = [score_item(i) if i.problem is not None else None for i in gathered]
        model = make_model(judge, role="judge", **(judge_args or {}))
        verdicts = anyio.run(
            lambda: score_many(
                [i.observation for i in gathered],
                judge=model,
                rule=rule,
                max_concurrency=max_concurrency,
                preset=preset,
            )
        )
        pairs = zip(gathered, verdicts, strict=True)

    def lines() -> Iterator[dict[str, Any]]:
        for item, verdict in pairs:
            summary.count(verdict)
            if item.problem is not None:
                summary.malformed.append(item.problem)
            if verdict.error and verdict.error.startswith("judge error"):
                summary.judge_errors += 1
            yield ScoredSample(
                id=item.id,
                family=item.family,
                condition=item.condition,
                model=item.model,
                harmful=verdict.harmful,
                valid=verdict.valid,
                evidence=list(verdict.evidence),
                reason=verdict.reason,
                error=verdict.error,
                benign=verdict.tasks,
                secondary={str(k): v for k, v in verdict.secondary.items()},
                eval_awareness=verdict.eval_awareness,
            ).model_dump(mode="json", exclude_none=False)

    write_jsonl(lines(), out)
    return summary
