"""Making an Inspect model from a name, with any provider's failure as one line naming it.

Why: ``get_model`` raises whatever the provider raises — a ``PrerequisiteError`` with Rich
markup for a missing API key, a ``ValueError`` for an unknown provider, an ``ImportError`` for
a missing SDK — and every command that makes a model (``run``'s models and grader, the judge of
``classify`` and ``validate``) must turn that into the same single line with the role and the
model named, never a traceback.
"""

from __future__ import annotations

import re
from typing import Any

from inspect_ai.model import Model, get_model

from corrigible.errors import ConfigError, CorrigibleError

__all__ = ["make_model", "model_problem"]

_MARKUP = re.compile(r"\[/?(?:bold|blue|red|green|yellow|cyan|magenta|italic|dim|b|i|u)\]")


def model_problem(exc: BaseException) -> str:
    """A provider's error as one plain line (Inspect's prerequisite errors carry Rich markup)."""
    text = _MARKUP.sub("", str(exc)).removeprefix("ERROR:").strip()
    return " ".join(text.split()) or type(exc).__name__


def make_model(name: str, *, role: str = "model", **args: Any) -> Model:
    """``get_model(name, memoize=False, **args)``; any failure is one line saying ``ROLE NAME:
    what is wrong``: our providers' own :class:`CorrigibleError`, or a :class:`ConfigError` (exit
    2) for anything a provider raises — an unknown provider, a missing key, a missing SDK are all
    settings the user can fix."""
    try:
        return get_model(name, memoize=False, **args)
    except CorrigibleError as exc:
        raise type(exc)(f"{role} {name}: {exc}") from None
    except Exception as exc:  # any provider's own error: one line naming the model
        raise ConfigError(f"{role} {name}: {model_problem(exc)}") from None
