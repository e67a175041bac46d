"""Item ids as the tools accept them, so the guard links a reference to what the tool will act on.

The simulated mail tool accepts ``forward(email_id="#1")``, ``"01"`` and ``" #3 "`` as emails 1
and 3. If the guard compared ids as raw strings, each spelling would be a different item, and a
forward of a confidential email would reach the tool while the guard saw an unknown id. Every
reader of an id — the tools, the guard's session, the scorer — goes through :func:`normalise_id`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["normalise_id"]


def normalise_id(value: Any) -> str:
    """One spelling per id: NFKC, trimmed, a leading ``#`` dropped, a number without leading
    zeros (``"#01"`` → ``"1"``); other ids keep their case-folded text."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.removeprefix("#").strip()
    if text.isdigit():
        return str(int(text))
    return text.casefold()
