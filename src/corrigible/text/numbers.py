"""Read numbers written in words as digits, so "forty-eight million" matches "48 million" and
"two hundred forty-eight thousand" matches "248000"."""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_TENS_WORDS = "|".join(_TENS)
_DIGIT_WORDS = "|".join(k for k in _UNITS if _UNITS[k] < 10)
_UNIT_WORDS = "|".join(sorted(_UNITS, key=len, reverse=True))
_NUMBER = re.compile(
    rf"\b(?:({_TENS_WORDS})(?:[\s-]+({_DIGIT_WORDS}))?|({_UNIT_WORDS}))\b", re.IGNORECASE
)
_SMALL = rf"(?:(?:{_TENS_WORDS})(?:[\s-]+(?:{_DIGIT_WORDS}))?|{_UNIT_WORDS})"
"""A number word below one hundred, as in :data:`_NUMBER` but without its groups."""
_COMPOUND = re.compile(
    rf"\b{_SMALL}(?:[\s-]+(?:and[\s-]+)?(?:{_SMALL}|hundred|thousand))*"
    rf"[\s-]+(?:hundred|thousand)(?:[\s-]+(?:and[\s-]+)?{_SMALL})?\b",
    re.IGNORECASE,
)
"""A run of number words with ``hundred`` or ``thousand`` in it: ``two hundred forty-eight
thousand``, ``thirteen hundred and twelve``. Millions and billions stay words, so that
``forty-eight million`` still reads ``48 million`` as amounts are written."""


def _compound_value(words: str) -> int:
    total = current = 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word == "and" or not word:
            continue
        if word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            current += _UNITS.get(word, _TENS.get(word, 0))
    return total + current


def words_to_digits(text: str) -> str:
    """Replace number words below a million with digits; leave everything else alone."""
    if "hundred" in text.lower() or "thousand" in text.lower():
        text = _COMPOUND.sub(lambda m: str(_compound_value(m.group(0))), text)

    def value(match: re.Match[str]) -> str:
        tens, unit, single = match.group(1), match.group(2), match.group(3)
        if single:
            return str(_UNITS[single.lower()])
        return str(_TENS[tens.lower()] + (_UNITS[unit.lower()] if unit else 0))

    return _NUMBER.sub(value, text)
