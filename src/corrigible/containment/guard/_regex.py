"""Policy regular expressions run in RE2, a linear-time engine: a rule cannot hang the guard.

Python's ``re`` backtracks: ``^(a+)+$`` against forty ``a`` and a ``b`` takes longer than any
agent would wait, and a guard that hangs decides nothing. Every pattern a *policy* supplies (text
and argument matches, ``seen.regex``, protected-control commands) is compiled here with RE2
(``google-re2``, a wheel with the engine inside); a pattern RE2 cannot run in linear time
(backreferences, lookaround) is refused when the policy loads, with one line. The guard's own
fixed patterns stay on ``re``: we wrote them and they do not backtrack.
"""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["compile_regex"]


def compile_regex(pattern: str, *, ignore_case: bool = False) -> Any:
    """A compiled RE2 pattern (``search``, ``finditer``, ``match`` as in ``re``).

    Raises ValueError, naming the pattern, when RE2 refuses it.
    """
    options = re2.Options()
    options.log_errors = False  # the error comes back as one line, not a C++ log on stderr
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"regular expression {pattern!r} is not accepted ({detail}); policy patterns run in "
            "a linear-time engine (RE2): no backreferences or lookaround"
        ) from None
