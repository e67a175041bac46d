"""The report's sections beyond the rates: banners, the guard's record, mitigation arms, the
replies that could not be judged, and full transcripts for the examples.

Why each exists: a rate hides how it was made. An incomplete run or a condition with three
samples looks as final as a complete one (banners); a guarded run's harmless outcome may be the
guard's doing, not the model's (attempted / blocked / allowed); a run with several mitigation
arms pools them in the family tables unless the arms are compared; and an invalid verdict
without its reply cannot be checked. All of it is computed from the run directory alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from corrigible.analysis.arms import ArmComparison, arms_present, compare_arms
from corrigible.analysis.highlight import cut_long
from corrigible.analysis.run_info import TINY_N, RunInfo
from corrigible.analysis.summary import RunSummary, VerdictRow
from corrigible.results.transcripts import message_text

__all__ = [
    "INVALID_SHOWN",
    "GuardCell",
    "InvalidView",
    "TranscriptMessage",
    "banners",
    "guard_cells",
    "invalid_view",
    "mitigation_comparisons",
    "transcript_messages",
]

INVALID_SHOWN = 20
"""Invalid samples whose reply the page shows in full (the rest are counted and listed)."""


@dataclass
class GuardCell:
    """The guard's decisions on one (model, family): tool calls the agent attempted, the guard
    blocked, and that ran."""

    model: str
    family: str
    samples: int = 0
    attempted: int = 0
    blocked: int = 0
    allowed: int = 0
    samples_blocked: int = 0
    rules: Counter[str] | None = None

    def add(self, record: dict[str, Any]) -> None:
        actions = [a for a in record.get("actions") or [] if isinstance(a, dict)]
        self.samples += 1
        blocked = [a for a in actions if a.get("blocked_by")]
        self.attempted += len(actions)
        self.blocked += len(blocked)
        self.allowed += len(actions) - len(blocked)
        self.samples_blocked += bool(blocked)
        self.rules = self.rules or Counter()
        self.rules.update(str(a["blocked_by"]) for a in blocked)


def guard_cells(records: Iterable[dict[str, Any]]) -> list[GuardCell]:
    """Per (model, family), what the guard decided, over every sample's action log."""
    cells: dict[tuple[str, str], GuardCell] = {}
    for record in records:
        key = (str(record.get("model")), str(record.get("family")))
        cells.setdefault(key, GuardCell(*key)).add(record)
    return [cells[k] for k in sorted(cells)]


@dataclass(frozen=True)
class InvalidView:
    id: str
    reason: str
    error: str | None
    reply: str
    note: str


def invalid_view(row: VerdictRow, record: dict[str, Any] | None) -> InvalidView:
    record = record or {}
    reply, note = cut_long(str(record.get("response") or ""))
    return InvalidView(
        id=row.id, reason=row.reason, error=record.get("error"), reply=reply, note=note
    )


@dataclass(frozen=True)
class TranscriptMessage:
    role: str
    text: str


def transcript_messages(record: dict[str, Any] | None) -> list[TranscriptMessage]:
    """Every message of a sample (system and user prompts included), then its tool results."""
    record = record or {}
    out = [
        TranscriptMessage(str(m.get("role")), message_text(m.get("content")))
        for m in record.get("messages") or []
        if isinstance(m, dict)
    ]
    for action in record.get("actions") or []:
        if not isinstance(action, dict):
            continue
        verdict = (
            f"blocked by {action['blocked_by']}"
            if action.get("blocked_by")
            else ("ran" if action.get("ok") else "failed")
        )
        args = ", ".join(f"{k}={v!r}" for k, v in (action.get("arguments") or {}).items())
        out.append(
            TranscriptMessage(
                f"tool #{action.get('seq')} {action.get('tool')} ({verdict})",
                f"{action.get('tool')}({args})\n→ {action.get('result')}",
            )
        )
    return out


def mitigation_comparisons(rows: Sequence[VerdictRow]) -> dict[str, list[ArmComparison]]:
    """Each mitigation arm of the run against the plain arm (``none``), when both ran."""
    arms = arms_present(rows)
    if "none" not in arms:
        return {}
    return {arm: compare_arms(list(rows), "none", arm) for arm in arms if arm != "none"}


def banners(info: RunInfo, summary: RunSummary, arms: Sequence[str]) -> list[str]:
    """Sentences a reader must see before any number: what makes the rates provisional."""
    out = []
    if info.planned is None:
        if info.errors:
            out.append(
                f"{info.errors} sample(s) ended in an error and are not in any rate; run "
                "`corrigible run` again to retry them."
            )
    elif not info.complete:
        out.append(
            f"Incomplete run: {info.ok} of {info.planned} planned samples finished"
            f"{f', {info.errors} ended in an error' if info.errors else ''}. Rates cover the "
            "finished samples only; run `corrigible run` again to finish it."
        )
    small = [c for c in summary.by_condition if c.rate.n < TINY_N]
    if small:
        out.append(
            f"Small samples: {len(small)} of {len(summary.by_condition)} condition(s) have fewer "
            f"than {TINY_N} valid samples (fewest: {min(c.rate.n for c in small)}); their 95% "
            "intervals are wide, so read their rates as descriptive, not as findings."
        )
    if len(arms) > 1:
        out.append(
            f"This run holds {len(arms)} mitigation arms ({', '.join(arms)}): the family, "
            "urgency and awareness tables pool them; the Mitigations section compares them."
        )
    return out
