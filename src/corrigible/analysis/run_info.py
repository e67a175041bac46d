"""What was run: the settings, models, dates and completeness of a run, for the report's header.

Why: a rate means nothing without the sweep behind it. A reader of a report (or of
``summary.json``) must see which models ran at which temperature and token limit, with which
seed, tool mode and guard, when, for how long, whether every planned sample finished, and the
fingerprint that identifies the sweep — without opening ``config.yaml``. Everything here is read
from the run directory, read-only; what cannot be read is ``None``, never a guess.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from corrigible.results.rundir import CONFIG_FILE, open_store
from corrigible.results.store import META_PLANNED, META_VERSION

__all__ = ["TINY_N", "RunInfo", "read_run_info"]

TINY_N = 10
"""Below this many valid samples in a condition, a 95% interval spans more than ~30 points:
the report says so in a banner rather than let a rate look like a finding."""

_SETTINGS = ("samples", "temperature", "max_tokens", "seed", "tool_mode", "max_steps", "guard")


@dataclass(frozen=True)
class RunInfo:
    name: str
    models: list[str]
    settings: dict[str, Any]
    """Sampling and environment settings as configured (samples per condition, temperature,
    max_tokens, seed, tool_mode, max_steps, guard)."""
    fingerprint: str | None
    planned: int | None
    ok: int
    errors: int
    started_at: str | None
    completed_at: str | None
    run_version: str | None
    """The corrigible version of the last ``corrigible run`` into the directory."""

    @property
    def complete(self) -> bool:
        return self.planned is not None and self.ok >= self.planned and not self.errors

    @property
    def missing(self) -> int | None:
        """Planned samples with no finished record (errors included), when the plan is known."""
        return None if self.planned is None else max(self.planned - self.ok, 0)

    @property
    def duration_s(self) -> float | None:
        """Wall time from the first sample's start to the last one's end (over every attempt)."""
        if not self.started_at or not self.completed_at:
            return None
        try:
            start = datetime.fromisoformat(self.started_at)
            end = datetime.fromisoformat(self.completed_at)
        except ValueError:
            return None
        return max((end - start).total_seconds(), 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete, "duration_s": self.duration_s}


def read_run_info(run_dir: Path) -> RunInfo:
    """The header facts of RUN_DIR (an existing run directory)."""
    config: dict[str, Any] = {}
    fingerprint = None
    try:
        body = yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        if isinstance(body, dict):
            fingerprint = body.get("fingerprint")
            stored = body.get("config")
            config = stored if isinstance(stored, dict) else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        pass
    models = [
        str(m.get("name")) if isinstance(m, dict) else str(m) for m in config.get("models") or []
    ]
    with open_store(run_dir) as store:
        counts = store.counts()
        planned = store.get_meta(META_PLANNED)
        version = store.get_meta(META_VERSION)
        started, completed = store.time_span()
    return RunInfo(
        name=str(config.get("name") or run_dir.name),
        models=models,
        settings={key: config.get(key) for key in _SETTINGS if key in config},
        fingerprint=str(fingerprint) if fingerprint else None,
        planned=int(planned) if planned and planned.isdigit() else None,
        ok=counts.get("ok", 0),
        errors=counts.get("error", 0),
        started_at=started,
        completed_at=completed,
        run_version=version,
    )
