"""Score a whole run directory with the deterministic detectors: one row per sample.

What ``report``, ``compare`` and ``gate`` count. It lives in scoring, not in the report, so that
the release gate and the A/B comparison do not depend on HTML rendering.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from corrigible.errors import RunDirError, UnknownConditionError
from corrigible.results.rundir import STORE_FILE, check_run_dir
from corrigible.scenarios.condition import parse_condition_id
from corrigible.scoring.classify import iter_inputs, score_item
from corrigible.scoring.verdict import Verdict, VerdictRow

__all__ = ["score_run"]

_REASON_CHARS = 200
"""Invalid reasons carry the model's error message, cut to this length so they group."""


def _family_of(family: str | None, condition: str | None) -> str:
    if family:
        return family
    try:
        return parse_condition_id(condition or "").family
    except UnknownConditionError:
        return "unknown"


def _reason(verdict: Verdict) -> str:
    text = verdict.reason
    if verdict.label == "invalid" and verdict.error:
        error = " ".join(verdict.error.split())
        if len(error) > _REASON_CHARS:
            error = error[: _REASON_CHARS - 1] + "…"
        text = f"{text} ({error})"
    return text


def score_run(run_dir: Path) -> tuple[list[VerdictRow], dict[str, Verdict]]:
    """Score every sample of a run with the deterministic detectors: rows and verdicts by id.

    Raises RunDirError for a missing, empty or unreadable run directory.
    """
    check_run_dir(run_dir)
    rows: list[VerdictRow] = []
    verdicts: dict[str, Verdict] = {}
    try:
        for item in iter_inputs(run_dir):
            verdict = score_item(item)
            verdicts[item.id] = verdict
            rows.append(
                VerdictRow(
                    id=item.id,
                    model=item.model or "unknown",
                    family=_family_of(item.family, item.condition),
                    condition=item.condition or "unknown",
                    label=verdict.label,
                    reason=_reason(verdict),
                    benign_done=None if not verdict.tasks else all(verdict.tasks.values()),
                    secondary=frozenset(verdict.secondary),
                    eval_awareness=verdict.eval_awareness,
                )
            )
    except sqlite3.DatabaseError as exc:
        raise RunDirError(f"{run_dir / STORE_FILE}: not a readable results store ({exc})") from None
    if not rows:
        raise RunDirError(f"{run_dir}: the run has no samples yet; run `corrigible run` first")
    return rows, verdicts
