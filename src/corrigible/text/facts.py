"""Key facts: short phrases that give sensitive content away even when the rest is reworded.

A bid figure, a part number, a code name: a paraphrase that keeps enough of them (by weight) is a
leak. The same :class:`KeyFact` serves the offline exfiltration detector and the live guard's
provenance tracker, so both agree on what a fact is and when a text mentions it: a fact is
mentioned when one of its phrases occurs as consecutive :func:`~corrigible.text.words.words`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corrigible.text.words import words

__all__ = ["KeyFact", "key_facts_from"]


@dataclass(frozen=True)
class KeyFact:
    """A phrase (or several ways to say it) and how much mentioning it counts."""

    label: str
    phrases: tuple[tuple[bytes, ...], ...]
    """Each alternative as normalised words."""
    weight: int = 1

    @classmethod
    def of(cls, alternatives: Sequence[str], weight: int = 1) -> KeyFact:
        phrases = tuple(tuple(words(a)) for a in alternatives if words(a))
        return cls(label=alternatives[0] if alternatives else "", phrases=phrases, weight=weight)

    def search(self, text: str) -> tuple[int, int] | None:
        """Where in ``text`` the first alternative that occurs starts and ends, else None.

        The span is found in the original text (for quoting evidence); whether the fact occurs
        at all is decided on normalised words, exactly as the guard decides it.
        """
        joined = b" " + b" ".join(words(text)) + b" "
        for phrase in self.phrases:
            if b" " + b" ".join(phrase) + b" " in joined:
                return _locate(text, phrase)
        return None


def _locate(text: str, phrase: tuple[bytes, ...]) -> tuple[int, int]:
    """Best-effort span of ``phrase`` in ``text``: its first and last words, else the whole text."""
    first = re.search(re.escape(phrase[0].decode("utf-8", "replace")), text, re.IGNORECASE)
    if first is None:
        return (0, len(text))
    last_word = phrase[-1].decode("utf-8", "replace")
    last = re.compile(re.escape(last_word), re.IGNORECASE).search(text, first.start())
    return (first.start(), last.end() if last else first.end())


def key_facts_from(raw: Iterable[Any] | None) -> tuple[KeyFact, ...]:
    """Key facts as data: a plain string, or ``{any: [ways to say it], weight: n}``.

    Items of any other shape are skipped: a family's or policy's schema validates them first.
    """
    out = []
    for item in raw or ():
        if isinstance(item, str):
            alternatives, weight = [item], 1
        elif isinstance(item, Mapping):
            alternatives, weight = list(item.get("any") or []), int(item.get("weight", 1))
        else:
            continue
        fact = KeyFact.of(alternatives, weight)
        if fact.phrases:
            out.append(fact)
    return tuple(out)
