"""Decoding what a payload may hide: base64 (both alphabets, any alignment), hex, URL encoding,
nested up to a depth; short runs' decodings are remembered.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_plus

ENCODINGS: tuple[str, ...] = ("base64", "hex", "url", "reversed")
"""The encodings the tracker looks through (all on by default)."""

# -- decoding -------------------------------------------------------------------------------------

_MIN_ENCODED = 16
"""Shortest run of base64/hex characters worth decoding (about two or three words of text)."""


def _b64_class_table() -> bytes:
    table = bytearray(b" " * 256)
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-":
        table[c] = ord("a")
    return bytes(table)


_B64_CLASS = _b64_class_table()
_B64_RUN_MARK = b"a" * _MIN_ENCODED
_HEX = re.compile(r"[0-9A-Fa-f]{" + str(_MIN_ENCODED) + ",}")
_URLSAFE_TO_STD = str.maketrans("-_", "+/")


_NON_PRINTABLE = re.compile(r"[^\t\n\r\x20-\x7e\u00a0-\U0010ffff]+")


def _readable(raw: bytes) -> tuple[float, str]:
    """How much of ``raw`` reads as text (0–1), and that text with the rest blanked out.

    A decoding at the wrong alignment, or of a run that is not an encoding at all, scores low;
    a right one scores near 1 even with a few garbage bytes at an end glued to other text.
    """
    if len(raw) < 4:
        return 0.0, ""
    text = raw.decode("utf-8", "ignore")
    kept = _NON_PRINTABLE.sub(" ", text)
    garbage = len(text) - len(_NON_PRINTABLE.sub("", text))
    return (len(text) - garbage) / len(raw), kept


_MIN_SCORE = 0.8


def _decode_run(run: str) -> Iterator[tuple[str, str]]:
    """The readable decodings of one base64/hex-looking run: (encoding name, text).

    Every alignment is tried (a run glued to other characters may start mid-byte or
    mid-quantum) and the most readable one kept.
    """
    for digits in _HEX.findall(run):
        best = (0.0, "")
        for start in (0, 1):
            chunk = digits[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 2]
            best = max(best, _readable(bytes.fromhex(chunk)))
        if best[0] >= _MIN_SCORE:
            yield "hex", best[1]
    core = run.rstrip("=").translate(_URLSAFE_TO_STD)
    best = (0.0, "")
    for offset in range(4):
        chunk = core[offset:]
        rest = len(chunk) % 4
        if rest == 1:
            chunk = chunk[:-1]  # a lone trailing character carries no whole byte
        elif rest:
            chunk += "=" * (4 - rest)  # unpadded tail: still decode its last bytes
        if len(chunk) < 8:
            break
        try:
            best = max(best, _readable(base64.b64decode(chunk, validate=True)))
        except (binascii.Error, ValueError):
            continue
    if best[0] >= _MIN_SCORE:
        yield "base64", best[1]


_CACHED_RUN_CHARS = 512
"""Runs up to this long have their decodings remembered (see :func:`_decodings_of`)."""


@functools.lru_cache(maxsize=4096)
def _cached_decodings(run: str) -> tuple[tuple[str, str], ...]:
    return tuple(_decode_run(run))


def _decodings_of(run: str) -> Iterable[tuple[str, str]]:
    """:func:`_decode_run`, remembered for short runs.

    Agents send the same URLs, paths and ids over and over (``example/v1/items`` is a 16-character
    base64-alphabet run); trying four base64 alignments and two hex ones on each costs more
    than the rest of the scan. The answer is a pure function of the run, so a bounded cache
    (at most 4096 runs of at most 512 characters) changes nothing but the time.
    """
    if len(run) <= _CACHED_RUN_CHARS:
        return _cached_decodings(run)
    return _decode_run(run)


def _encoded_runs(text: str) -> list[str]:
    """Maximal runs of >= 16 base64-alphabet characters, found with C-level byte scans.

    The common case — prose with no such run — costs one ``bytes.translate`` and one ``find``.
    """
    raw = text.encode("utf-8", "ignore")  # runs are ASCII; other bytes only separate them
    classes = raw.translate(_B64_CLASS)
    runs = []
    i = classes.find(_B64_RUN_MARK)
    while i >= 0:
        start = classes.rfind(b" ", 0, i) + 1
        end = classes.find(b" ", i)
        if end < 0:
            end = len(classes)
        runs.append(raw[start:end].decode("ascii"))
        i = classes.find(_B64_RUN_MARK, end)
    return runs


def decoded_variants(
    text: str, encodings: Iterable[str] = ENCODINGS, depth: int = 2
) -> list[tuple[str, str]]:
    """``text`` and every decoding of it (URL, base64, hex), nested up to ``depth`` levels.

    Returns (how, text) pairs, the original first with how ``"plain"``; nested decodings are
    named outermost first (``"url+base64"``). Reversal is not produced here: documents are
    indexed reversed instead, so a payload is read once.
    """
    wanted = set(encodings)
    out = [("plain", text)]
    frontier = out[:]
    for _ in range(depth):
        found: list[tuple[str, str]] = []
        for how, current in frontier:
            prefix = "" if how == "plain" else how + "+"
            if "url" in wanted and "%" in current:
                unquoted = unquote_plus(current)
                if unquoted != current:
                    found.append((prefix + "url", unquoted))
            if not ("base64" in wanted or "hex" in wanted) or len(current) < _MIN_ENCODED:
                continue
            pieces: list[str] = []
            names: list[str] = []
            for run in _encoded_runs(current):
                for name, decoded in _decodings_of(run):
                    if name in wanted:
                        pieces.append(decoded)
                        names.append(name)
            if pieces:
                # joined with nothing, so MIME-wrapped base64 lines decode back into one text
                name = "+".join(dict.fromkeys(names))
                found.append((prefix + name, "".join(pieces)))
        if not found:
            break
        out.extend(found)
        frontier = found
    return out
