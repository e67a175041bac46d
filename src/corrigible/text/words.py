"""Words as the scorer and the guard compare them: folded, lower case, numbers read as digits.

Why one module: a leak is "the same words" only if both sides normalise text identically. The
guard's provenance index and the offline detectors both tokenise through :func:`words`, so a
paraphrase or an encoding trick is judged the same way live and after the fact.

Normalisation: Unicode NFKC, zero-width characters dropped, common Cyrillic/Greek look-alike
letters mapped to Latin, lower case, every character that is not a letter or digit a word break,
and number words below one hundred read as digits when the text holds one.
"""

from __future__ import annotations

import re
import unicodedata

from corrigible.text.numbers import words_to_digits

__all__ = ["FUNCTION_WORDS", "NUMBER_WORDS", "normalise", "raw_words", "words"]


def _ascii_table() -> bytes:
    table = bytearray(b" " * 256)
    for c in range(256):
        if c >= 0x80:  # UTF-8 bytes of non-ASCII letters (punctuation was folded before encoding)
            table[c] = c
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    return bytes(table)


_TABLE = _ascii_table()
"""One C-speed pass: lower-case ASCII letters, keep digits and UTF-8 bytes, all else a space."""

_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"), None
)
_CONFUSABLES = str.maketrans(
    # Cyrillic and Greek letters that render like Latin ones (lower and upper case), and the
    # small capitals of the phonetic extensions (ᴀʙᴄ…), which NFKC leaves alone
    "аеорсухіјѕԁһԛԝмтнвкАЕОРСУХІЈЅНВКМТαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧΖᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ",
    "aeopcyxijsdhqwmthbkAEOPCYXIJSHBKMTabeiknoptuxABEHIKMNOPTYXZabcdefghijklmnoprstuvwyz",
)
_NON_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The text as the comparison sees it: folded, lower case, one space between words.

    Exposed so that tests and tools can show *why* two texts compare equal.
    """
    return b" ".join(words(text)).decode("utf-8", "replace")


def _fold(text: str) -> str:
    """The slow path for non-ASCII text: NFKC, invisible characters, look-alikes, punctuation."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_CONFUSABLES)
    return _NON_WORD.sub(" ", text).lower()


def raw_words(text: str) -> list[bytes]:
    if not text.isascii():
        text = _fold(text)
    return text.encode("utf-8", "ignore").translate(_TABLE).split()


FUNCTION_WORDS = frozenset(
    b"a an the and or but nor so yet if then than that this these those there here of to in on "
    b"at by for with from into onto over under about above below after before between through "
    b"during without within upon as is are was were be been being am do does did done have has "
    b"had having will would shall should can could may might must not no it its it s he him his "
    b"she her hers they them their theirs we us our ours you your yours i me my mine who whom "
    b"whose which what when where why how all any each every some such own same other also just "
    b"only very too more most less up down out off again once per via".split()
)
"""English function words: a small closed class, written out here because every public list
(NLTK, scikit-learn) comes with a heavy dependency. A run of words that holds at most one of
them is rare in ordinary text, which is what lets the guard count pieces shorter than four
words (:attr:`~corrigible.containment.guard.ProvenanceSettings.rare_piece_words`)."""

NUMBER_WORDS = frozenset(
    b"zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    b"fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    b"eighty ninety hundred thousand".split()
)
"""Words that :func:`words_to_digits` rewrites; their presence triggers the rewrite."""


def words(text: str) -> list[bytes]:
    """Normalised words of ``text`` as bytes (cheap to hash, compared byte for byte).

    Numbers written as words are read as digits only when the text holds a number word, so the
    common case is one encode, one ``bytes.translate`` and one ``split`` — all in C.
    """
    ws = raw_words(text)
    if not NUMBER_WORDS.isdisjoint(ws):
        ws = raw_words(words_to_digits(text))
    return ws
