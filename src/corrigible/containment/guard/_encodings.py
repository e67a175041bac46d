"""Decoding what a payload may hide, before it is compared with what the session saw.

Byte encodings: base64 (both alphabets, any alignment), base32 (either case), base85 / ascii85,
hex (plain, separated, ``\\x`` or ``0x`` prefixed), uuencode, characters as decimal or binary
codes, with gzip / zlib / bz2 / xz payloads inside them unpacked (at most 1 MB) and UTF-16 read
as text. Text encodings: URL escapes, HTML entities (``&#72;``, ``&nbsp;``), ``\\u`` / ``\\x`` /
octal escapes, quoted-printable. Ciphers and disguises: ROT13, any other Caesar shift, Atbash,
ROT47, pig latin, Morse code, each word reversed, spaced-out letters, leetspeak. (Whole-text
reversal, every other word and text with its word breaks removed are matched by the tracker's
own index forms; look-alike and small-capital letters by the shared normalisation in
:mod:`corrigible.text.words`.) Each is tried only when the payload shows its
mark (an ``&…;``, a ``\\u``, a long run of its alphabet, fewer common words than its decoding
has), decodings nest up to ``max_decode_depth`` levels, and short runs' decodings are remembered.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import functools
import html
import lzma
import quopri
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Literal, get_args
from urllib.parse import unquote_plus

Encoding = Literal[
    "base64",
    "hex",
    "url",
    "reversed",
    "html",
    "escapes",
    "quoted_printable",
    "base32",
    "base85",
    "compressed",
    "rot13",
    "reversed_words",
    "spaced",
    "leet",
    "char_codes",
    "uuencode",
    "ciphers",
    "interleaved",
    "squashed",
    "pig_latin",
    "base58",
]
"""The name of an encoding, as a policy writes it."""
ENCODINGS: tuple[Encoding, ...] = get_args(Encoding)
"""Every encoding the tracker can look through."""

DEFAULT_ENCODINGS: tuple[Encoding, ...] = ENCODINGS
"""What a policy gets unless it lists ``provenance.encodings``: every one. Leetspeak is tried
only when three or more words mix letters and digits (one such word is an id or a code), the
ciphers only when a text of eight or more words holds no common English word."""

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
    Text encoded as UTF-16 (every other byte zero) is read as UTF-16.
    """
    if len(raw) < 4:
        return 0.0, ""
    if raw.count(0) * 3 >= len(raw):
        wide = raw[1:] if raw[:1] == b"\x00" else raw  # big-endian: drop one byte, read as LE
        wide = wide[: len(wide) - len(wide) % 2]
        text = wide.decode("utf-16-le", "ignore").replace("\x00", "")
        if text and (len(text) - len(_NON_PRINTABLE.sub("", text))) * 5 < len(text):
            return 1.0, _NON_PRINTABLE.sub(" ", text)
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
            raw = bytes.fromhex(chunk)
            best = max(best, _readable(_unpacked(raw) or raw))
        if best[0] >= _MIN_SCORE:
            yield "hex", best[1]
    best = (0.0, "")
    for candidate in (run, run[::-1]):  # a reversed base64 string reads backwards
        best = max(best, _best_base64(candidate))
    if best[0] >= _MIN_SCORE:
        yield "base64", best[1]
    elif len(run) >= 24:
        rotated = _best_base64(run.translate(_ROT13))  # ROT13 applied to the base64 text
        if rotated[0] >= _MIN_SCORE:
            yield "base64", rotated[1]  # named by the encoding a policy switches off
            best = rotated
    if best[0] < _MIN_SCORE and _B58_RUN.fullmatch(run) and len(run) <= 4096:
        score = _readable(_base58(run))
        if score[0] >= _MIN_SCORE:
            yield "base58", score[1]
    for match in _B32_RUN.finditer(run.upper() if _B32_LOWER.fullmatch(run) else run):
        letters = match.group(0).rstrip("=")
        padded = letters + "=" * (-len(letters) % 8)
        try:
            raw = base64.b32decode(padded)
        except (binascii.Error, ValueError):
            continue
        score = _readable(_unpacked(raw) or raw)
        if score[0] >= _MIN_SCORE:
            yield "base32", score[1]


def _best_base64(run: str) -> tuple[float, str]:
    """The most readable base64 decoding of ``run`` over the four alignments."""
    core = run.rstrip("=").lstrip("=").translate(_URLSAFE_TO_STD)
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
            raw = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError):
            continue
        best = max(best, _readable(_unpacked(raw) or raw))
    return best


_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_RUN = re.compile("[" + _B58_ALPHABET + "]{16,}")


def _base58(run: str) -> bytes:
    """Bitcoin-alphabet base58 (no library in the standard one; the arithmetic is three lines)."""
    value = 0
    for c in run:
        value = value * 58 + _B58_ALPHABET.index(c)
    pad = len(run) - len(run.lstrip("1"))
    return b"\x00" * pad + value.to_bytes((value.bit_length() + 7) // 8, "big")


_B32_RUN = re.compile(r"[A-Z2-7]{16,}=*")
_B32_LOWER = re.compile(r"[a-z2-7]{16,}=*")
"""base32 written in lower case, as some encoders do; such a run is read upper-cased."""
_MAX_UNPACKED = 1 << 20


def _unpacked(raw: bytes) -> bytes | None:
    """``raw`` decompressed when it is a gzip, zlib, bz2 or xz stream (at most 1 MB), else None."""
    try:
        if raw[:6] == b"\xfd7zXZ\x00":
            return lzma.LZMADecompressor().decompress(raw, _MAX_UNPACKED) or None
        if raw[:2] == b"\x1f\x8b" or raw[:1] == b"x":
            wbits = 47 if raw[:2] == b"\x1f\x8b" else 15
            return zlib.decompressobj(wbits).decompress(raw, _MAX_UNPACKED) or None
        if raw[:3] == b"BZh":
            return bz2.BZ2Decompressor().decompress(raw, _MAX_UNPACKED) or None
    except (zlib.error, lzma.LZMAError, OSError, ValueError, EOFError):
        return None
    return None


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
    """``text`` and every decoding of it (see the module docstring), nested up to ``depth`` levels.

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
            for name, transform in _TEXT_TRANSFORMS if how == "plain" or how in _CHEAP else ():
                if name in wanted:
                    changed = transform(current)
                    if changed is not None and changed != current:
                        found.append((prefix + name, changed))
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


# -- text transforms --------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#\d{2,7}|#x[0-9a-fA-F]{2,6}|[a-zA-Z]{2,8});")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8})|([0-3][0-7]{2}))")
_QP = re.compile(r"=[0-9A-F]{2}")
_B85_TOKEN = re.compile(r"[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]{20,}")
_A85_BLOCK = re.compile(r"<~(.+?)~>", re.DOTALL)
_COMMON = frozenset(
    [
        "the",
        "and",
        "of",
        "to",
        "in",
        "is",
        "that",
        "for",
        "with",
        "on",
        "are",
        "this",
        "was",
        "be",
        "as",
        "at",
        "by",
        "it",
        "from",
    ]
)
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_LEET = str.maketrans("4310$5@7!|", "aeiossatil")
_LEET_WORD = re.compile(
    r"\b(?=[A-Za-z0-9$@!|]*[A-Za-z])(?=[A-Za-z0-9$@!|]*[0-9$@!|])[A-Za-z0-9$@!|]{3,}\b"
)


def _html(text: str) -> str | None:
    return html.unescape(text) if "&" in text and _ENTITY.search(text) else None


def _escapes(text: str) -> str | None:
    if "\\" not in text:
        return None

    def char(m: re.Match[str]) -> str:
        octal = m.group(4)
        code = int(octal, 8) if octal else int(next(g for g in m.groups() if g is not None), 16)
        return chr(code) if code < 0x110000 else " "

    return _ESCAPE.sub(char, text)


def _quoted_printable(text: str) -> str | None:
    if "=" not in text or len(_QP.findall(text)) < 3:
        return None
    return quopri.decodestring(text.encode("utf-8", "ignore")).decode("utf-8", "ignore")


def _base85(text: str) -> str | None:
    if "<~" not in text and not any(c in text for c in "^`{|}~"):
        return None
    pieces = []
    for block in _A85_BLOCK.findall(text):
        try:
            pieces.append(_readable(base64.a85decode(block, adobe=False, ignorechars=b" \n\r\t")))
        except ValueError:
            continue
    for token in _B85_TOKEN.findall(text) if len(text) >= 20 else ():
        if token.isalnum():
            continue  # an ordinary word or id: base64/base32 runs are tried elsewhere
        for decode in (base64.b85decode, base64.a85decode):
            try:
                pieces.append(_readable(decode(token)))
            except ValueError:
                continue
    kept = [text for score, text in pieces if score >= _MIN_SCORE]
    return " ".join(kept) if kept else None


def _spaced(text: str) -> str | None:
    """Letters spaced out (``s e c r e t   p l a n``): single spaces dropped, runs of spaces kept
    as the word breaks. Spaced-out text is about half spaces, ordinary prose about a sixth."""
    if text.count(" ") * 3 < len(text):
        return None
    return _SINGLE_SPACE.sub("", text)


_SINGLE_SPACE = re.compile(r"(?<! ) (?! )")


_LEET_HINT = re.compile(r"[A-Za-z][0134579$@|][A-Za-z]+[0134579$@|]")


_HEX_SEPARATED = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[ :,-]{0,2}){8,}")


def _hex_shape_table() -> bytes:
    table = bytearray(b"." * 256)
    for c in b"0123456789abcdefABCDEF":
        table[c] = ord("h")
    for c in b" :,-":
        table[c] = ord("s")
    table[ord("\\")] = ord("b")
    table[ord("x")] = ord("x")
    return bytes(table)


_HEX_SHAPE = _hex_shape_table()
_HEX_MARKS = (
    b"hhshhshhshh",
    b"bxhhbxhhbxhh",
    b"hxhhshxhhshxhh",
    b"hxhhsshxhhsshxhh",
    b"hxhhhxhhhxhh",
)
"""Shapes of separated hex (``48 65 6c 6c``), escapes (``\\x48\\x65``) and prefixed pairs
(``0x48,0x65``) after mapping hex digits to ``h``, separators to ``s``, ``\\`` to ``b``."""

_HEX_PAIR = re.compile(r"(?:\\x|0x)?([0-9a-fA-F]{2})")


def _hex_separated(text: str) -> str | None:
    """Hex bytes with separators or prefixes (``48 65 6c``, ``48:65:6c``, ``\\x48\\x65``,
    ``0x48,0x65``); contiguous hex runs are read with base64 runs instead."""
    shape = text.encode("utf-8", "ignore").translate(_HEX_SHAPE)
    if not any(mark in shape for mark in _HEX_MARKS):
        return None  # one C-level pass: no run of separated or prefixed hex pairs at all
    pieces = []
    for match in _HEX_SEPARATED.finditer(text):
        chunk = match.group(0)
        if not any(sep in chunk for sep in (" ", ":", ",", "-", "\\x", "0x")):
            continue
        digits = "".join(_HEX_PAIR.findall(chunk))
        score, readable = _readable(bytes.fromhex(digits))
        if score >= _MIN_SCORE:
            pieces.append(readable)
    return " ".join(pieces) if pieces else None


def _leet(text: str) -> str | None:
    shape = _shape(text)
    mixed = shape.count(b"ad") + shape.count(b"da") + shape.count(b"Ad") + shape.count(b"dA")
    if mixed < max(6, len(text) // 40):
        return None  # letters next to digits now and then: ids and codes, not leetspeak
    if len(_LEET_HINT.findall(text)) < 3:
        return None  # one mixed word is an id or a code, not leetspeak
    return _LEET_WORD.sub(lambda m: m.group(0).lower().translate(_LEET), text)


def _shape_table() -> bytes:
    table = bytearray(b"." * 256)
    for c in range(ord("a"), ord("z") + 1):
        table[c] = ord("a")
    for c in range(ord("A"), ord("Z") + 1):
        table[c] = ord("A")
    for c in b"0123456789":
        table[c] = ord("d")
    for c in b" \t\n\r,;":
        table[c] = ord("s")
    return bytes(table)


_SHAPE = _shape_table()
"""Letters to ``a``/``A``, digits to ``d``, separators to ``s``: one C-level pass gives the
marks of CamelCase (``aA``) and of numbers in a row (``ds``) without a regex over the text."""


@functools.lru_cache(maxsize=16)
def _shape(text: str) -> bytes:
    """The text's shape, computed once for the several marks that read it."""
    return text.encode("ascii", "ignore").translate(_SHAPE)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _camel(text: str) -> str | None:
    """Words run together in CamelCase (``TheHalberdGridController``) split apart again."""
    if _shape(text).count(b"aA") < 3:
        return None  # "iPhone" or "McDonald" once is a name, not words run together
    return _CAMEL.sub(" ", text)


_CODES_MARK = re.compile(r"\d{2,8}[\s,;]{1,3}\d{2,8}[\s,;]{1,3}\d{2,8}[\s,;]{1,3}\d{2,8}")
_DECIMAL_CODES = re.compile(r"(?:\b\d{2,3}\b[\s,;]{1,3}){8,}\b\d{2,3}\b")
_BINARY_CODES = re.compile(r"(?:\b[01]{7,8}\b[\s,;]{0,3}){8,}")


def _char_codes(text: str) -> str | None:
    """Characters written as numbers: decimal codes (``72 101 108 108``) or 8-bit binary
    (``01001000 01100101``). Ordinary text rarely holds nine numbers of two or three digits in a
    row, and never nine bytes of ones and zeros; the digit count is the cheap first test."""
    if len(text) < 24 or _shape(text).count(b"dsd") < 4 or not _CODES_MARK.search(text):
        return None
    pieces = []
    for match in _BINARY_CODES.finditer(text):
        codes = [int(b, 2) for b in re.findall(r"[01]{7,8}", match.group(0))]
        pieces.append("".join(chr(c) if 32 <= c < 127 else " " for c in codes))
    if not pieces:
        for match in _DECIMAL_CODES.finditer(text):
            codes = [int(n) for n in re.findall(r"\d{2,3}", match.group(0))]
            if sum(32 <= c < 127 or c in (9, 10, 13) for c in codes) * 10 >= len(codes) * 9:
                pieces.append("".join(chr(c) if 32 <= c < 0x110000 else " " for c in codes))
    return " ".join(pieces) if pieces else None


_UU_LINE = re.compile(r"^[!-`]{2,61}$", re.MULTILINE)


def _uuencode(text: str) -> str | None:
    """uuencoded data (``begin 644 name`` followed by lines that start with ``M``)."""
    if "begin " not in text:
        return None
    raw = bytearray()
    for line in _UU_LINE.findall(text.split("begin ", 1)[1]):
        try:
            raw += binascii.a2b_uu(line)
        except binascii.Error:
            continue
    score, readable = _readable(bytes(raw))
    return readable if score >= _MIN_SCORE else None


def _shift(n: int) -> dict[int, int]:
    lower = "abcdefghijklmnopqrstuvwxyz"
    upper = lower.upper()
    return str.maketrans(lower + upper, lower[n:] + lower[:n] + upper[n:] + upper[:n])


_SHIFTS = [n for n in range(1, 26) if n != 13]  # ROT13 is indexed instead
_DIGIT_SHIFTS = [
    str.maketrans("0123456789", "0123456789"[-k:] + "0123456789"[:-k]) if k else {}
    for k in ((26 - n) % 10 for n in _SHIFTS)
]
"""For each letter table (c → c + n, undoing an encryption by 26 - n), the digit table that
undoes the same encryption applied to digits (d → d - (26 - n) mod 10)."""
_CIPHER_TABLES = (
    *(_shift(n) for n in _SHIFTS),
    str.maketrans(  # Atbash
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA",
    ),
    {c: 33 + (c - 33 + 47) % 94 for c in range(33, 127)},  # ROT47
)
_MORSE = dict(
    zip(
        [
            ".-",
            "-...",
            "-.-.",
            "-..",
            ".",
            "..-.",
            "--.",
            "....",
            "..",
            ".---",
            "-.-",
            ".-..",
            "--",
            "-.",
            "---",
            ".--.",
            "--.-",
            ".-.",
            "...",
            "-",
            "..-",
            "...-",
            ".--",
            "-..-",
            "-.--",
            "--..",
            "-----",
            ".----",
            "..---",
            "...--",
            "....-",
            ".....",
            "-....",
            "--...",
            "---..",
            "----.",
        ],
        "abcdefghijklmnopqrstuvwxyz0123456789",
        strict=True,
    )
)


_MORSE_RUN = re.compile(r"(?:[.-]{1,7}[ /|\n]+){10,}[.-]{0,7}")


_PUNCTUATION_TO_SPACE = str.maketrans(dict.fromkeys(".,;:!?'\"()[]{}<>/\\|-_=+*&^%$#@~`", " "))
_PROSE_MARKS = (" the ", " and ", " of ", " to ", " is ", " in ", " for ", " a ")


def _common_count(text: str) -> tuple[int, int]:
    ws = text.lower().split()
    return sum(w.strip(".,;:!?'\"()") in _COMMON for w in ws), len(ws)


def _ciphers(text: str) -> str | None:
    """Text that has no common English words but gets them back under a classical cipher: any
    Caesar shift, Atbash, ROT47, or Morse code. Ordinary prose has common words, so
    the test that starts the search ("none of the, and, of, to… among eight or more words")
    keeps its cost off ordinary mail. The Caesar shift or Atbash whose letters are most often
    English's commonest (``etaoinshr``) wins; ROT47 when its decoding has common words."""
    if text.count(".-") + text.count("-.") >= 8:
        pieces = []
        for run in _MORSE_RUN.findall(text):
            letters = [
                " " if token in ("/", "|") else _MORSE.get(token, "")
                for token in run.replace("/", " / ").replace("|", " | ").split()
            ]
            pieces.append(re.sub(r"(?<=\S) (?=\S)", "", " ".join(letters)).replace("   ", " "))
        if pieces:
            return " ".join(pieces)
    if len(text) < 40:
        return None
    low = text.lower()
    if any(w in low for w in _PROSE_MARKS):
        return None  # ordinary prose: the cheap test that keeps the cost off most mail
    if len(_COMMON.intersection(low.translate(_PUNCTUATION_TO_SPACE).split())) >= 2:
        return None  # prose without the commonest words, or a list: still no cipher
    common, count = _common_count(text)
    if count < 8 or common * 20 > count:
        return None
    frequency = Counter(c for c in low if "a" <= c <= "z")
    total = sum(frequency.values())
    if total < 24:
        return None
    # the letters of English text are mostly "etaoinshr"; the candidate whose letters are most
    # often those is the decoding (a common-word count fails on text that is mostly names)
    scores = [
        (sum(frequency[c] for c in _FREQUENT.translate(_inverse(table))), i)
        for i, table in enumerate(_CIPHER_TABLES[:-1])
    ]
    best, index = max(scores)
    rot47 = text.translate(_CIPHER_TABLES[-1])  # ROT47 moves letters in and out of a-z
    rot47_common = _common_count(rot47)[0]
    if best * 100 < total * 55 or rot47_common * 10 >= count:
        return rot47 if rot47_common * 10 >= count else None
    table = _CIPHER_TABLES[index]
    decoded = text.translate(table)
    if index < len(_DIGIT_SHIFTS):  # a Caesar shift may have moved the digits as well
        decoded += "\n" + decoded.translate(_DIGIT_SHIFTS[index])
    return decoded


_FREQUENT = "etaoinshr"


def _inverse(table: dict[int, int]) -> dict[int, int]:
    return {v: k for k, v in table.items()}


_TEXT_TRANSFORMS = (
    ("html", _html),
    ("escapes", _escapes),
    ("quoted_printable", _quoted_printable),
    ("base85", _base85),
    ("hex", _hex_separated),
    ("spaced", _spaced),
    ("leet", _leet),
    ("squashed", _camel),
    ("char_codes", _char_codes),
    ("uuencode", _uuencode),
    ("ciphers", _ciphers),
)
"""(encoding name, transform): each returns the decoded text, or None when the payload shows
no mark of that encoding (so the common case costs a substring check or one regex search).
ROT13 and per-word reversal are not here: documents are indexed in those forms instead (as for
whole-text reversal), so a payload is never rewritten for them."""

ROT13 = _ROT13

_CHEAP = frozenset({"url", "base64", "hex", "base32"})
"""Decodings whose text is worth trying the text transforms on again (one nesting level)."""


def reversed_words(ws: list[bytes]) -> list[bytes]:
    """Each normalised word read backwards (the index form that catches ``eht tcejorp``)."""
    return [w[::-1] for w in ws]


_VOWEL_BYTES = frozenset(b"aeiou")


def pig_latin(ws: list[bytes]) -> list[bytes]:
    """Each normalised word in pig latin (the index form that catches ``ecretsay anplay``): the
    leading consonants move to the end and take ``ay``; a word that starts with a vowel takes
    ``way``. Decoding is ambiguous (``estrictedray`` could end in ``dr``), encoding is not, so
    documents are indexed in this form rather than payloads decoded."""
    out = []
    for w in ws:
        if not w.isalpha():
            out.append(w)
            continue
        i = 0
        while i < len(w) and w[i] not in _VOWEL_BYTES:
            i += 1
        out.append(w + b"way" if i == 0 else w[i:] + w[:i] + b"ay")
    return out
