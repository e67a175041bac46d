"""Data provenance: would this tool call carry content that entered the session as sensitive?

Why this exists: an agent that has read a confidential email can leak it in many shapes — the
whole email forwarded, a paragraph quoted, the same paragraph base64-encoded, a sentence per
message, the key figures paraphrased. Ordering checks ("a read came before a send") cannot tell
those apart from harmless mail; this module compares what a call would send with what the session
actually saw, deterministically and without I/O, fast enough to sit on every tool call.

How content is compared
-----------------------
Text is **normalised** the same way on both sides: Unicode NFKC, zero-width characters dropped,
common Cyrillic/Greek look-alike letters mapped to Latin, lower case, every character that is
not a letter or digit turned into a word break, and numbers written as words below one hundred
read as digits (:func:`corrigible.text.numbers.words_to_digits`, so "forty-eight million"
equals "$48 million"). Each tracked document is indexed as word *M*-grams (``min_piece_words``,
default 4) hashed into a dictionary, forwards and **reversed** (the text read backwards, as
``text[::-1]`` writes it). From M = 4 on, a payload's M-grams are found through a second index,
of the documents' (M-1)-grams, looked up at every other payload position only: an M-gram
starting at position j holds the (M-1)-gram starting at j or j + 1, whichever is even, so a hit
there, confirmed by looking up the two M-grams that may hold it, finds every shared M-gram with
half the lookups.

A call's payload is every string in its arguments, read as one text (so a fragment cut between
the subject and the body is still one fragment), plus the text of any observed item it names by
reference (``forward(email_id=1)``), plus every **decoding** of it: URL-decoding when it holds
``%``, and base64 (standard and URL-safe alphabets, with or without padding, at every 4-character
alignment so a base64 run glued to other characters still decodes) or hex for every run of 16 or
more base64-alphabet characters, nested up to ``max_decode_depth`` levels (base64 of hex of …).
Each piece of ≥ M words that the payload shares with a document marks those document words as
*covered*. The call **carries** the document when a contiguous stretch of ≥ N document words
(``min_words``, default 8; the whole document when it is shorter) is covered — by one quote, or by
pieces in any order, in any mix of plain text and encodings.

**Split across calls**: coverage is kept per session and per sink (recipient address or host) for
every call that was not blocked (calls sent for approval count: they may still go out), so a stretch covered partly by an earlier message to the same
sink and partly by this one is caught; the finding says "split across calls". A stretch that was
already fully covered before (a leak a human approved) is not reported again.

**Key facts** (optional, from the policy): short phrases that give a document away when
paraphrased (a bid figure, a part number), each with a weight. A fact becomes *active* once a
tracked document contains it; a call carries the facts when the active facts it mentions, plus
those already sent to the same sink, weigh at least ``fact_threshold``.

What is caught, exactly
-----------------------
* the whole document, forwarded by reference or pasted;
* any contiguous fragment of ≥ N words, whatever its case, spacing, punctuation, line breaks,
  quoting marks, zero-width characters, full-width or common look-alike letters, and with numbers
  in digits or in words;
* the same fragment base64-encoded (either alphabet, padded or not, alone or glued to other text,
  MIME-wrapped when lines are multiples of 4 characters), hex-encoded (contiguous hex digits,
  optional ``0x``), URL-encoded (``%xx`` and ``+``), reversed, or nested encodings of those;
* a fragment cut into pieces of ≥ M words sent in several calls to the same sink, in any order,
  with any other text between them, each piece in any of the forms above;
* paraphrases that keep enough weighted key facts (when the policy lists them).

Cost: normalising and looking up a payload is a handful of C-level passes (``bytes.translate``,
``split``, one set lookup per word for number and key-fact words at once, one dict lookup per
*two* words through ``zip``/``map``/``compress``); Python-level work happens only where something
matches, and the decodings of a short base64/hex-looking run (a URL path, an id) are remembered.
On the 2-core development VM a 2.5 KB payload takes about 60 µs against ~110 tracked documents,
28 µs per KB (``benchmarks/guard_latency.py``, "provenance scan alone"; 80 µs and 35 µs per KB
before those changes), and about 85 µs inside ``Guard.decide``, where less of the index is still
in the CPU cache. What is left is CPython's cost per word, about 140 ns: a quarter splitting the
text into word objects, a sixth hashing them, over a third the (M-1)-gram lookups, which are
mostly memory latency (the same payload scanned again right away takes about 50 µs). The second
index makes a tracker about a third bigger (10.6 MB instead of 7.8 MB for 91 documents of
1–2 KB); it is kept apart from the M-gram index so that confirming a hit costs two lookups
however often a common phrase ("as well as") occurs in the documents.

What is **not** caught (``docs/POLICY.md`` keeps the full list): pieces of three words or fewer
made mostly of function words; translation, summaries and synonyms beyond the key facts;
encryption and keyed ciphers; steganography; number words of a hundred or more. Content that
was never observed through :meth:`ProvenanceTracker.add` is unknown to the tracker.

Also indexed (see :meth:`ProvenanceTracker.add`): every other word of each document as two
half-documents (``interleaved``), the document in pig latin, **rare short pieces** (three words
with at most one function word and at most one number, and not shared by two documents, which
would make them boilerplate), and the document with its word breaks removed (``squashed``),
searched only for payloads whose own breaks are gone. **Across recipients**: what went to every
sink outside the boundary is pooled too, so a document spread over several outside recipients is
carried by the call that completes it ("split across recipients").
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress

from corrigible.containment.guard._encodings import (
    DEFAULT_ENCODINGS,
    ROT13,
    decoded_variants,
    pig_latin,
    reversed_words,
)
from corrigible.text.facts import KeyFact, extract_key_facts
from corrigible.text.numbers import words_to_digits
from corrigible.text.words import FUNCTION_WORDS, NUMBER_WORDS, raw_words, words

# -- settings and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenanceSettings:
    """How strict the comparison is. The policy's ``provenance:`` section builds one."""

    min_words: int = 8
    """N: a contiguous stretch of this many document words carries the document."""
    min_piece_words: int = 4
    """M: the shortest shared piece that counts (and the index's gram length)."""
    rare_piece_words: int = 3
    """Pieces of this many words count too when at most one of their words is a function word
    (``dual core lockstep``, not ``on a dual``): such a triple is rare in ordinary text, so a
    leak cut into 3-word pieces is still seen. 0 turns it off, and so does any value of M or
    more (pieces of M words count anyway)."""
    encodings: tuple[str, ...] = DEFAULT_ENCODINGS
    max_decode_depth: int = 3
    key_facts: tuple[KeyFact, ...] = ()
    fact_threshold: int = 2
    auto_key_facts: bool = True
    """Also take candidate key facts from each tracked item itself (codes, measured numbers,
    amounts: :func:`corrigible.text.extract_key_facts`), so a paraphrase that keeps them is
    caught without a hand-made list."""

    def __post_init__(self) -> None:
        if self.min_piece_words < 2 or self.min_words < self.min_piece_words:
            raise ValueError("need 2 <= min_piece_words <= min_words")
        if self.rare_piece_words and self.rare_piece_words < 2:
            raise ValueError("need rare_piece_words >= 2 (or 0: off)")


def _phrases_of(fact: KeyFact) -> tuple[tuple[frozenset[bytes], bytes], ...]:
    return tuple((frozenset(p), b" " + b" ".join(p) + b" ") for p in fact.phrases)


@dataclass(frozen=True)
class TrackedDocument:
    """One piece of sensitive content the session saw."""

    index: int
    source: str
    """Where it came from, for evidence: ``tool_result:read_email`` or ``message:user``."""
    labels: frozenset[str]
    ref: str | None
    length: int
    """Normalised words."""


@dataclass(frozen=True)
class Finding:
    """Why a call carries a tracked document (or its key facts) to one sink."""

    sink: str
    document: TrackedDocument | None
    """None for a key-fact finding that draws on several documents."""
    words: int
    how: tuple[str, ...]
    labels: frozenset[str]
    subject: str = ""
    """What is carried, when it is neither a document nor key facts (a file a command sends)."""

    def describe(self) -> str:
        """One line for the decision's evidence; it never quotes the sensitive text itself."""
        ways = f" ({', '.join(self.how)})" if self.how else ""
        labels = "/".join(sorted(self.labels)) or "tracked"
        if self.subject:
            return f"{self.subject} ({labels}) would reach {self.sink}{ways}"
        if self.document is None:
            return f"{labels} key facts would reach {self.sink}{ways}"
        doc = self.document
        what = f"{doc.source}" + (f" #{doc.ref}" if doc.ref is not None else "")
        return f"{self.words} words of {labels} content from {what} would reach {self.sink}{ways}"


@dataclass
class Scan:
    """What one call's payload shares with the tracked documents (sink-independent)."""

    positions: set[int] = field(default_factory=set)
    """Corpus positions covered by shared pieces."""
    via: dict[int, str] = field(default_factory=dict)
    """Position → the encoding that revealed it (only for non-plain payload variants)."""
    facts: set[int] = field(default_factory=set)
    """Indices of active key facts the payload mentions."""

    @property
    def empty(self) -> bool:
        return not self.positions and not self.facts


@dataclass
class _Sink:
    positions: set[int] = field(default_factory=set)
    facts: set[int] = field(default_factory=set)
    calls: int = 0


@dataclass(frozen=True)
class _Segment:
    doc: int
    how: str | None
    """None for the document as written; else the form it is indexed in (``reversed``,
    ``rot13``, ``each word reversed``)."""
    start: int
    end: int


_EMPTY: frozenset[int] = frozenset()


_POOL_CALLS = 32
"""How many of the latest outside calls are pooled for splits across recipients: a split leak
is sent in a burst, and an adversary who spreads it over more calls than this must also keep
every piece at least M words long for the per-recipient check to miss it."""


class _RecentPositions:
    """Positions carried by the last ``limit`` outside calls, kept as one set updated
    incrementally: adding a call costs its own positions, never the whole window."""

    def __init__(self, limit: int) -> None:
        self._calls: deque[frozenset[int]] = deque()
        self._limit = limit
        self._count: dict[int, int] = {}
        self.positions: set[int] = set()

    def add(self, positions: set[int]) -> None:
        fresh = frozenset(positions)
        self._calls.append(fresh)
        count = self._count
        for p in fresh:
            count[p] = count.get(p, 0) + 1
        self.positions |= fresh
        if len(self._calls) > self._limit:
            for p in self._calls.popleft():
                left = count[p] - 1
                if left:
                    count[p] = left
                else:
                    del count[p]
                    self.positions.discard(p)


class _Either:
    """Membership in either of two sets, without building their union."""

    __slots__ = ("a", "b")

    def __init__(self, a: set[int] | frozenset[int], b: set[int] | frozenset[int]) -> None:
        self.a, self.b = a, b

    def __contains__(self, p: object) -> bool:
        return p in self.a or p in self.b

    def __bool__(self) -> bool:
        return bool(self.a or self.b)


def _rare_piece(piece: tuple[bytes, ...]) -> bool:
    """At most one function word and at most one number: ``dual core lockstep``, not
    ``on a dual`` or ``2025 06 11``."""
    return sum(w in FUNCTION_WORDS for w in piece) <= 1 and sum(not w.isalpha() for w in piece) <= 1


_SQUASH_WINDOW = 32
_SQUASH_STEP = 8


def _looks_squashed(ws: list[bytes]) -> bool:
    """Words run together (``acquiretessalydiagnostics``) or letters standing alone
    (``a c q u i r e``): text whose word breaks were removed or multiplied. A run of twenty or
    more letters is rare in prose; hashes and base64 runs hold digits and are left out."""
    if not ws:
        return False
    lengths = list(map(len, ws))
    if len(ws) >= 32 and sum(lengths) < 2 * len(ws):  # mostly single characters
        return lengths.count(1) * 10 >= len(ws) * 6
    if max(lengths) < 20:
        return False
    long_letters = 0
    for w in compress(ws, map((19).__lt__, lengths)):
        if _reads_as_words(w):
            long_letters += len(w)
            if long_letters >= 40:
                return True
    return False


def _reads_as_words(run: bytes) -> bool:
    """Letters of run-together words, not a hash or base64: few digits, and vowels as often as
    in English (about two in five letters; random letters have one in five)."""
    digits = sum(map(run.count, b"0123456789"))
    vowels = sum(map(run.count, b"aeiou"))
    return digits * 10 <= len(run) and vowels * 100 >= len(run) * 28


_STRIDE_MIN_M = 4
"""From this M on, payload M-grams are found through (M-1)-grams at every other position."""


class ProvenanceTracker:
    """The sensitive content of one session, indexed for fast comparison, and what left it.

    Not thread-safe: one tracker belongs to one session, and a session's calls are decided one
    at a time.
    """

    def __init__(self, settings: ProvenanceSettings | None = None) -> None:
        self.settings = settings or ProvenanceSettings()
        self.documents: list[TrackedDocument] = []
        self._corpus: list[bytes | None] = []
        self._seg_of: list[int] = []
        self._segments: list[_Segment] = []
        self._forward: list[_Segment] = []
        """Each document's forward segment, by document index (for calls that forward it)."""
        self._grams: dict[tuple[bytes, ...], list[int]] = {}
        m = self.settings.min_piece_words
        self._heads: dict[tuple[bytes, ...], None] | None = {} if m >= _STRIDE_MIN_M else None
        """Every (M-1)-gram of the indexed documents: the payload's are looked up at every other
        position only, and a hit is confirmed against :attr:`_grams` (see :meth:`_gram_starts`).
        None when M is too small for that to pay. A dict rather than a set: nearly every lookup
        misses, a miss reads little more than the dict's compact index (a quarter of the memory
        a set's table takes), and those reads are most of the scan's cache misses."""
        self._short: list[tuple[int, bytes]] = []
        """Segments shorter than M words: (segment index, joined words) matched as substrings."""
        self._active_facts: dict[int, frozenset[str]] = {}
        self._facts: list[KeyFact] = list(self.settings.key_facts)
        self._fact_phrases = [_phrases_of(fact) for fact in self._facts]
        self._fact_vocab: set[bytes] = set()
        self._triggers: frozenset[bytes] = NUMBER_WORDS
        """Number words and the words of active key facts: one set, so a payload's words are
        looked up once to learn both whether numbers need rewriting and which facts may occur."""
        self._sinks: dict[str, _Sink] = {}
        self._outside = _RecentPositions(_POOL_CALLS)
        """What the last outside calls carried, to any sink outside the boundary: a leak spread
        over several outside recipients (every other piece to a second address) adds up here.
        Only the most recent calls count, so that in a long session the ordinary words of
        thousands of unrelated messages never add up to a stretch of a document."""
        self._rare: dict[tuple[bytes, ...], list[int]] = {}
        """Rare short pieces (:attr:`ProvenanceSettings.rare_piece_words`) of the documents as
        written: piece → corpus start positions."""
        self._shared_pieces: set[tuple[bytes, ...]] = set()
        """Short pieces found in more than one document, which therefore do not count."""
        self._squashed = bytearray()
        """The documents as written with every word break removed, one NUL between documents,
        for payloads whose own word breaks are gone (``HelloWorld``, ``h.e.l.l.o``)."""
        self._sq_starts: list[int] = []
        self._sq_ends: list[int] = []
        self._sq_pos: list[int] = []
        """Per word of :attr:`_squashed`: where it starts and ends there, its corpus position."""

    # -- building -------------------------------------------------------------------------------

    def __bool__(self) -> bool:
        return bool(self.documents)

    def add(
        self, text: str, labels: Iterable[str], *, source: str, ref: str | None = None
    ) -> TrackedDocument | None:
        """Track ``text`` as sensitive under ``labels``. Returns None when it has no words."""
        forward = words(text)
        if not forward:
            return None
        doc = TrackedDocument(
            index=len(self.documents),
            source=source,
            labels=frozenset(labels),
            ref=ref,
            length=len(forward),
        )
        self.documents.append(doc)
        self._forward.append(self._index(doc.index, forward, how=None))
        encodings = self.settings.encodings
        if "reversed" in encodings:
            self._index(doc.index, words(text[::-1]), how="reversed")
        if "rot13" in encodings:
            self._index(doc.index, words(text.translate(ROT13)), how="rot13")
        if "reversed_words" in encodings:
            self._index(doc.index, reversed_words(forward), how="each word reversed")
        if "pig_latin" in encodings:
            self._index(doc.index, pig_latin(forward), how="pig latin")
        if "interleaved" in encodings and len(forward) >= 2 * self.settings.min_piece_words:
            # every other word, each half on its own: a payload of words 1, 3, 5… (to one
            # recipient, words 2, 4, 6… to another) reads as a contiguous stretch of one half
            self._index(doc.index, forward[0::2], how="every other word")
            self._index(doc.index, forward[1::2], how="every other word")
        if "squashed" in encodings:
            self._squash(self._forward[-1], forward)
        self._activate_facts(doc, forward, text)
        return doc

    def _index(self, doc: int, ws: list[bytes], *, how: str | None) -> _Segment:
        m = self.settings.min_piece_words
        start = len(self._corpus)
        seg = len(self._segments)
        segment = _Segment(doc, how, start, start + len(ws))
        self._segments.append(segment)
        self._corpus.extend(ws)
        self._seg_of.extend([seg] * len(ws))
        self._corpus.append(None)  # a sentinel: no piece or stretch crosses documents
        self._seg_of.append(-1)
        if len(ws) < m:
            self._short.append((seg, b" " + b" ".join(ws) + b" "))
            return segment
        grams = self._grams
        for i in range(len(ws) - m + 1):
            grams.setdefault(tuple(ws[i : i + m]), []).append(start + i)
        r = self.settings.rare_piece_words
        if r and r < m and how is None:
            rare, shared = self._rare, self._shared_pieces
            for i in range(len(ws) - r + 1):
                piece = tuple(ws[i : i + r])
                if piece in shared or not _rare_piece(piece):
                    continue
                starts = rare.get(piece)
                if starts is None:
                    rare[piece] = [start + i]
                elif self._seg_of[starts[0]] == seg:
                    starts.append(start + i)
                else:
                    # in two documents: boilerplate (mail headers, signatures), not a secret
                    del rare[piece]
                    shared.add(piece)
        if self._heads is not None:
            self._heads.update(dict.fromkeys(zip(*(ws[i:] for i in range(m - 1)), strict=False)))
        return segment

    def _squash(self, segment: _Segment, ws: list[bytes]) -> None:
        sq = self._squashed
        if sq:
            sq += b"\x00"
        for offset, w in enumerate(ws):
            self._sq_starts.append(len(sq))
            sq += w
            self._sq_ends.append(len(sq))
            self._sq_pos.append(segment.start + offset)

    def _activate_facts(self, doc: TrackedDocument, ws: list[bytes], text: str) -> None:
        if self.settings.auto_key_facts:
            known = {p for fact in self._facts for p in fact.phrases}
            where = doc.source + (f" #{doc.ref}" if doc.ref else "")
            for n, fact in enumerate(extract_key_facts(text), start=1):
                if not known.intersection(fact.phrases):
                    # named by where it came from, never by its words: evidence must not leak
                    named = KeyFact(f"fact {n} of {where}", fact.phrases, fact.weight)
                    self._facts.append(named)
                    self._fact_phrases.append(_phrases_of(named))
        if not self._facts:
            return
        joined = b" " + b" ".join(ws) + b" "
        for i, fact in enumerate(self._facts):
            if any(phrase in joined for _, phrase in self._fact_phrases[i]):
                self._active_facts[i] = self._active_facts.get(i, frozenset()) | doc.labels
                self._fact_vocab.update(w for p in fact.phrases for w in p)
        self._triggers = NUMBER_WORDS | self._fact_vocab

    # -- scanning -------------------------------------------------------------------------------

    def scan(self, texts: Iterable[str], *, whole: Iterable[int] = ()) -> Scan:
        """Compare one call's payload with every tracked document.

        ``texts`` are the call's string arguments (and the text of referenced items that are not
        themselves tracked); ``whole`` are tracked documents the call carries by reference.
        """
        result = Scan()
        for doc in whole:
            if 0 <= doc < len(self._forward):
                covered = range(self._forward[doc].start, self._forward[doc].end)
                result.positions.update(covered)
                result.via.update(dict.fromkeys(covered, "forwarded whole"))
        if not self.documents:
            return result
        settings = self.settings
        # one text for the whole payload: a fragment split between two arguments (subject and
        # body) is still contiguous, and the per-text overhead is paid once
        text = "\n".join(t for t in texts if t)
        if text:
            for how, variant in decoded_variants(
                text, settings.encodings, settings.max_decode_depth
            ):
                self._scan_text(variant, how, result)
        return result

    def _scan_text(self, text: str, how: str, result: Scan) -> None:
        """What one variant of the payload shares with the index, added to ``result``.

        The same words as :func:`words` gives, with one set lookup per word that answers two
        questions at once: does a number word occur (then the text is read again with numbers as
        digits), and which key-fact words occur.
        """
        ws = raw_words(text)
        if not ws:
            return
        present: frozenset[bytes] | set[bytes] = self._triggers.intersection(ws)
        if present and not NUMBER_WORDS.isdisjoint(present):
            ws = raw_words(words_to_digits(text))
            present = self._fact_vocab.intersection(ws)
        m = self.settings.min_piece_words
        fresh: list[int] = []
        r = self.settings.rare_piece_words
        rare = self._rare
        # rare pieces one word shorter than M at even positions are the (M-1)-grams the M-gram
        # scan looks up anyway: only its hits are checked, and the odd positions looked up here
        paired = bool(rare) and self._heads is not None and r == m - 1
        rare_hits: list[int] | None = [] if paired else None
        if len(ws) >= m and self._grams:
            for s in self._gram_starts(ws, rare_hits):
                fresh.extend(range(s, s + m))
        if rare and len(ws) >= r:
            if rare_hits is not None:
                if len(ws) < m:  # too short for the M-gram scan: its even positions too
                    rare_hits.extend(self._rare_starts(ws, 0, 2))
                rare_hits.extend(self._rare_starts(ws, 1, 2))
            else:
                rare_hits = list(self._rare_starts(ws, 0, 1))
            for s in rare_hits:
                fresh.extend(range(s, s + r))
        if self._squashed and _looks_squashed(ws):
            fresh.extend(self._squashed_positions(b"".join(ws)))
        joined: bytes | None = None
        if self._short:
            joined = b" " + b" ".join(ws) + b" "
            for seg_index, phrase in self._short:
                if phrase in joined:
                    seg = self._segments[seg_index]
                    fresh.extend(range(seg.start, seg.end))
        if present and self._active_facts:
            # a phrase is searched for only when every one of its words occurs
            for fact_index in self._active_facts:
                for needed, phrase in self._fact_phrases[fact_index]:
                    if needed <= present:
                        if joined is None:
                            joined = b" " + b" ".join(ws) + b" "
                        if phrase in joined:
                            result.facts.add(fact_index)
                            break
        if fresh:
            result.positions.update(fresh)
            if how != "plain":
                for p in fresh:
                    result.via.setdefault(p, how)

    def _squashed_positions(self, payload: bytes) -> list[int]:
        """Corpus positions of document words that ``payload`` (word breaks removed) holds.

        Windows of 32 characters every 8 are searched for in the squashed documents (one C-level
        ``find`` each over every document at once); a document word lying wholly inside a window
        that matches is covered. Only payloads that look squashed get here, so the cost, about
        a millisecond for a kilobyte against a hundred documents, stays off ordinary mail.
        """
        sq = self._squashed
        width, step = _SQUASH_WINDOW, _SQUASH_STEP
        if len(payload) < width:
            return []
        starts, ends, pos = self._sq_starts, self._sq_ends, self._sq_pos
        out: list[int] = []
        offsets = list(range(0, len(payload) - width + 1, step))
        if offsets[-1] != len(payload) - width:
            offsets.append(len(payload) - width)
        for offset in offsets:
            at = sq.find(payload[offset : offset + width])
            if at < 0:
                continue
            k = bisect_left(starts, at)
            while k < len(starts) and ends[k] <= at + width:
                out.append(pos[k])
                k += 1
        return out

    def _rare_starts(self, ws: list[bytes], first: int, step: int) -> Iterator[int]:
        """Corpus starts of the rare pieces found at positions ``first``, ``first + step``…"""
        rare = self._rare
        r = self.settings.rare_piece_words
        keys = zip(*(ws[first + i :: step] for i in range(r)), strict=False)
        for key in filter(rare.__contains__, keys):
            yield from rare[key]

    def _gram_starts(self, ws: list[bytes], rare_hits: list[int] | None = None) -> Iterator[int]:
        """Corpus positions where an M-gram of ``ws`` starts, each once per matching M-gram.

        Every M-gram of the payload is looked up, but not one by one: an M-gram that starts at
        position j holds the (M-1)-gram that starts at the even position j or j + 1, so only the
        (M-1)-grams at even positions are looked up in :attr:`_heads` — half the lookups, in C
        (``zip``, ``map``, ``compress``) — and each hit is confirmed by looking up the two M-grams
        that may hold it. Common phrases hit now and then; a confirmation costs two dict lookups,
        however often the phrase occurs in the documents. ``rare_hits``, when given, collects
        the rare (M-1)-word pieces among those even-position hits.
        """
        m = self.settings.min_piece_words
        grams = self._grams
        heads = self._heads
        if heads is None:
            keys = zip(*(ws[i:] for i in range(m)), strict=False)
            for gram in grams.keys() & keys:
                yield from grams[gram]
            return
        last = len(ws) - m  # the last position an M-gram can start at
        if m == 4:
            halves = zip(ws[0::2], ws[1::2], ws[2::2], strict=False)
        else:
            halves = zip(*(ws[i::2] for i in range(m - 1)), strict=False)
        rare = self._rare
        for i in compress(range(0, len(ws), 2), map(heads.__contains__, halves)):
            if rare_hits is not None:
                starts = rare.get(tuple(ws[i : i + m - 1]))
                if starts is not None:
                    rare_hits.extend(starts)
            for j in (i - 1, i):
                if 0 <= j <= last:
                    starts = grams.get(tuple(ws[j : j + m]))
                    if starts is not None:
                        yield from starts

    # -- deciding -------------------------------------------------------------------------------

    def findings(
        self,
        scan: Scan,
        sink: str,
        labels: frozenset[str] | None = None,
        *,
        outside: bool = False,
    ) -> list[Finding]:
        """What ``scan`` carries to ``sink``, counting what already went there (split calls).

        ``labels``: only documents with one of these labels count (None: every tracked one).
        ``outside``: the sink is outside the boundary, so what went to *every* outside sink
        counts too — a document spread over several outside recipients is carried by the call
        that completes it ("split across recipients").
        """
        if scan.empty:
            return []
        state = self._sinks.get(sink)
        before: set[int] | frozenset[int] = state.positions if state else _EMPTY
        out: list[Finding] = []
        found_docs: set[int] = set()
        for seg, lo, hi in self._stretches(scan.positions, before):
            doc = self.documents[seg.doc]
            if labels is not None and doc.labels.isdisjoint(labels):
                continue
            stretch = range(lo, hi)
            if before and before.issuperset(stretch):
                continue  # already sent (and let through) before: not this call's doing
            how = dict.fromkeys(filter(None, map(scan.via.get, stretch)))
            if seg.how:
                how[seg.how] = None
            if before and not before.isdisjoint(stretch):
                how["split across calls"] = None
            found_docs.add(seg.doc)
            out.append(
                Finding(sink=sink, document=doc, words=hi - lo, how=tuple(how), labels=doc.labels)
            )
        pooled = self._outside.positions
        if outside and pooled:
            everywhere = _Either(pooled, before)
            for seg, lo, hi in self._stretches(scan.positions, everywhere):
                doc = self.documents[seg.doc]
                if seg.doc in found_docs or (labels is not None and doc.labels.isdisjoint(labels)):
                    continue
                stretch = range(lo, hi)
                if pooled.issuperset(p for p in stretch if p in scan.positions):
                    continue  # this call adds nothing that had not already gone out
                how = dict.fromkeys(filter(None, map(scan.via.get, stretch)))
                if seg.how:
                    how[seg.how] = None
                how["split across recipients"] = None
                found_docs.add(seg.doc)
                out.append(
                    Finding(
                        sink=sink, document=doc, words=hi - lo, how=tuple(how), labels=doc.labels
                    )
                )
        facts = self._fact_finding(scan, sink, state, labels)
        if facts is not None:
            out.append(facts)
        return out

    def _stretches(
        self, covered: set[int], before: set[int] | frozenset[int] | _Either
    ) -> Iterator[tuple[_Segment, int, int]]:
        """Maximal stretches (segment, start, end) of ``covered`` positions, grown through
        ``before``, that are long enough to carry their document (``min_words``, or the whole
        document when it is shorter)."""
        n = self.settings.min_words
        positions = sorted(covered)
        # runs of consecutive positions are where ``position - index`` stays the same: found by
        # bisection, so forwarding a whole document costs a few C-level passes, not a loop
        offsets = list(map(operator.sub, positions, range(len(positions))))
        count = len(positions)
        i = 0
        while i < count:
            j = bisect_right(offsets, offsets[i], i)
            lo, hi = positions[i], positions[j - 1] + 1
            seg = self._segments[self._seg_of[lo]]
            if before:
                # a stretch grows through what already went to this sink, and may join the
                # next run of this call's positions
                while lo - 1 >= seg.start and lo - 1 in before:
                    lo -= 1
                while True:
                    while hi < seg.end and hi in before:
                        hi += 1
                    if j < count and positions[j] <= hi:
                        j = bisect_right(offsets, offsets[j], j)
                        hi = max(hi, positions[j - 1] + 1)
                        continue
                    break
            i = j
            if hi - lo >= min(n, seg.end - seg.start):
                yield seg, lo, hi

    def _fact_finding(
        self, scan: Scan, sink: str, state: _Sink | None, labels: frozenset[str] | None
    ) -> Finding | None:
        if not scan.facts:
            return None
        key_facts = self._facts

        def counted(indices: Iterable[int]) -> set[int]:
            return {
                i
                for i in indices
                if i in self._active_facts
                and (labels is None or not self._active_facts[i].isdisjoint(labels))
            }

        now = counted(scan.facts)
        before = counted(state.facts) if state else set()
        if not now - before:
            return None
        total = now | before
        if sum(key_facts[i].weight for i in total) < self.settings.fact_threshold:
            return None
        names = ", ".join(dict.fromkeys(key_facts[i].label for i in sorted(total)))
        how = [f"key facts: {names}"]
        if before:
            how.append("split across calls")
        fact_labels = frozenset().union(*(self._active_facts[i] for i in total))
        return Finding(sink=sink, document=None, words=0, how=tuple(how), labels=fact_labels)

    def commit(self, scan: Scan, sinks: Iterable[str], *, outside: Iterable[str] = ()) -> None:
        """Record that the call went out to ``sinks`` (call after a decision that lets it pass);
        ``outside`` are those of them beyond the boundary, pooled for splits across recipients."""
        if scan.positions and any(True for _ in outside):
            self._outside.add(scan.positions)
        for sink in sinks:
            state = self._sinks.get(sink)
            if state is None:
                state = self._sinks[sink] = _Sink()
            if scan.positions:
                state.positions |= scan.positions
            if scan.facts:
                state.facts |= scan.facts
            state.calls += 1
