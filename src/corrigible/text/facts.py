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

from corrigible.text.numbers import words_to_digits
from corrigible.text.words import words

__all__ = ["KeyFact", "extract_key_facts", "key_facts_from"]


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


_CODE = re.compile(r"\b[A-Z]{2,}[A-Za-z]*[-_]?\d[\w-]*\b")
_UNIT = (
    r"%|percent|per cent|ms|milliseconds?|seconds?|minutes?|hours?|days?|weeks?|months?|"
    r"kg|mg|ml|km|nm|mm|cm|GB|TB|MB|GHz|MHz|MW|kW|million|billion|thousand|patients?|"
    r"subjects?|units?|doses?|volts?|degrees?"
)
_MEASURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s?(?:" + _UNIT + r")\b", re.IGNORECASE)
_MONEY = re.compile(r"[$€£]\s?\d[\d,.]*\s?(?:m|bn|k|million|billion)?\b", re.IGNORECASE)


def extract_key_facts(text: str, limit: int = 24) -> tuple[KeyFact, ...]:
    """Candidate key facts of a sensitive text, without a hand-made list: codes (``HX-7``,
    ``HBX-204``), measured numbers (``12 milliseconds``, ``38 percent``, ``212 patients``) and
    amounts (``$48 million``), numbers written as words read as digits first.

    Each has weight 1, so a paraphrase must keep two of them to count (``fact_threshold``).
    A bare number, a year or a time is never a fact on its own: they recur in ordinary mail.
    """
    readable = words_to_digits(text)
    found: dict[tuple[bytes, ...], str] = {}
    for pattern in (_CODE, _MONEY, _MEASURE):
        for match in pattern.finditer(readable):
            label = " ".join(match.group(0).split())
            phrase = tuple(words(label))
            if len(phrase) < 2 and not (phrase and any(c.isalpha() for c in phrase[0].decode())):
                continue
            if phrase and phrase not in found:
                found[phrase] = label
            if len(found) >= limit:
                break
    return tuple(KeyFact(label=label, phrases=(phrase,)) for phrase, label in found.items())
