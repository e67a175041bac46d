"""Live activity of the models running in this process: tokens generated, the current sample.

Why: a sample of the embedded model takes seconds to minutes on a CPU, and a progress bar that
only counts finished samples shows ``0/1`` and a timer all that time — a user cannot tell a
slow model from a hung one. The embedded engine counts each token as it is generated, and the
progress display reads the count (and which sample it belongs to) to show tokens per second.
Thread-safe: generation runs in worker threads. Models that report only finished replies (any
remote provider) leave it untouched, and the display then shows nothing extra.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Snapshot", "add_tokens", "now_generating", "snapshot"]

_lock = threading.Lock()
_tokens = 0
_current: str | None = None


@dataclass(frozen=True)
class Snapshot:
    tokens: int
    """Tokens generated in this process so far, by every in-process model."""
    current: str | None
    """The sample the latest generation belongs to (``condition #n``), if known."""


def now_generating(label: str | None) -> None:
    global _current
    with _lock:
        _current = label


def add_tokens(count: int) -> None:
    global _tokens
    with _lock:
        _tokens += count


def snapshot() -> Snapshot:
    with _lock:
        return Snapshot(_tokens, _current)
