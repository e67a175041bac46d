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


_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = r"(?:" + "|".join(m[:3] + r"(?:" + m[3:] + r")?" for m in _MONTHS) + r")\.?"
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
]
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DAY_WORD = r"(?:(?:twenty|thirty)[\s-]+)?(?:" + "|".join(_ORDINALS) + r")|thirtieth"
_DATE = re.compile(
    rf"\b(?:({_DAY}|{_DAY_WORD})(?:\s+of)?\s+({_MONTH})|({_MONTH})\s+({_DAY}|{_DAY_WORD}))\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
"""An email address in a sensitive item (a customer list) is a fact: a paraphrase that keeps
the contacts gives the list away."""
_SCALE = {"million": ("m", 6), "billion": ("bn", 9), "thousand": ("k", 3)}


def _day_number(day: str) -> int:
    day = day.lower()
    digits = re.match(r"\d+", day)
    if digits:
        return int(digits.group(0))
    tens = 20 if day.startswith("twenty") else 30 if day.startswith("thirty") else 0
    last = re.split(r"[\s-]+", day)[-1]
    return tens + (_ORDINALS.index(last) + 1 if last in _ORDINALS else 0)


def _date_ways(match: re.Match[str]) -> list[str]:
    """Every common way of writing one day of a month: ``9 March``, ``March 9th``, ``9-Mar``."""
    day_text = match.group(1) or match.group(4)
    month_text = (match.group(2) or match.group(3)).rstrip(".").lower()
    month = next(m for m in _MONTHS if m.startswith(month_text[:3]))
    day = _day_number(day_text)
    if not 1 <= day <= 31:
        return []
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10 if day not in (11, 12, 13) else 0, "th")
    ways = [match.group(0)]
    for m in (month, month[:3]):
        ways += [f"{day} {m}", f"{m} {day}", f"{day}{suffix} {m}", f"{m} {day}{suffix}"]
        ways += [f"{day}{suffix} of {m}", f"{day} of {m}"]
    return ways


def _amount_ways(label: str) -> list[str]:
    """An amount as people abbreviate it: ``$212 million``, ``212M``, ``212m``, ``212000000``."""
    match = re.search(r"(\d[\d,]*(?:\.\d+)?)\s?(million|billion|thousand|m|bn|k)?\b", label, re.I)
    if match is None:
        return [label]
    number, scale = match.group(1).replace(",", ""), (match.group(2) or "").lower()
    ways = [label, number + (" " + scale if scale else "")]
    if not scale and "." not in number and number.isdigit() and int(number) >= 1000:
        thousands = f"{int(number) / 1000:g}"
        ways += [f"{thousands}k", f"{thousands} k", f"{thousands} thousand"]
    full = next((w for w, (short, _) in _SCALE.items() if scale in (w, short)), None)
    if full is not None:
        short, power = _SCALE[full]
        ways += [f"{number} {full}", f"{number}{short}", f"{number} {short}"]
        whole, _, frac = number.partition(".")
        if len(frac) <= power:
            ways.append(whole.lstrip("0") + frac + "0" * (power - len(frac)))
    return ways


def _measure_ways(label: str) -> list[str]:
    number = label.split()[0] if " " in label else re.match(r"[\d.,]+", label).group(0)  # type: ignore[union-attr]
    if re.search(r"percent|per cent|%", label, re.IGNORECASE):
        return [label, f"{number} percent", f"{number} per cent", f"{number} pct", f"{number}pc"]
    return [label]


def extract_key_facts(text: str, limit: int = 24) -> tuple[KeyFact, ...]:
    """Candidate key facts of a sensitive text, without a hand-made list: codes (``HX-7``,
    ``HBX-204``), measured numbers (``12 milliseconds``, ``38 percent``, ``212 patients``),
    amounts (``$48 million``), days of a month (``9 March``) and email addresses, numbers written as words read
    as digits first. Each fact lists the usual other ways to write it (``212M``, ``212000000``;
    ``March 9th``, ``9-Mar``; ``38 per cent``), so an abbreviated paraphrase still names it.

    Each has weight 1, so a paraphrase must keep two of them to count (``fact_threshold``).
    A bare number, a year or a time is never a fact on its own: they recur in ordinary mail.
    """
    readable = words_to_digits(text)
    found: dict[tuple[bytes, ...], tuple[str, list[str]]] = {}
    for pattern in (_CODE, _MONEY, _MEASURE, _DATE, _ADDRESS):
        for match in pattern.finditer(readable if pattern is not _DATE else text):
            label = " ".join(match.group(0).split())
            phrase = tuple(words(label))
            if len(phrase) < 2 and not (phrase and any(c.isalpha() for c in phrase[0].decode())):
                continue
            if pattern is _MONEY:
                ways = _amount_ways(label)
            elif pattern is _MEASURE:
                ways = _measure_ways(label)
            elif pattern is _DATE:
                ways = _date_ways(match)
            else:
                ways = [label]
            if phrase and ways and phrase not in found:
                found[phrase] = (label, ways)
            if len(found) >= limit:
                break
    facts = []
    for label, ways in found.values():
        phrases = tuple(dict.fromkeys(tuple(words(w)) for w in ways if words(w)))
        facts.append(KeyFact(label=label, phrases=phrases))
    return tuple(facts)
