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

What is **not** caught: pieces shorter than M words; fragments shorter than N words (unless the
whole document is shorter); synonyms, translation, summaries and reordered words beyond the key
facts; encodings other than the ones above (ROT13, spaced-out letters, base32, compression,
encryption, a reversed base64 string, hex with separators); a fragment split across *different*
sinks; look-alike letters outside the small Cyrillic/Greek table; number words of a hundred or
more. Content that was never observed through :meth:`ProvenanceTracker.add` is unknown to the
tracker.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress

from corrigible.containment.guard._encodings import (
    DEFAULT_ENCODINGS,
    ROT13,
    decoded_variants,
    reversed_words,
)
from corrigible.text.facts import KeyFact, extract_key_facts
from corrigible.text.numbers import words_to_digits
from corrigible.text.words import NUMBER_WORDS, raw_words, words

# -- settings and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenanceSettings:
    """How strict the comparison is. The policy's ``provenance:`` section builds one."""

    min_words: int = 8
    """N: a contiguous stretch of this many document words carries the document."""
    min_piece_words: int = 4
    """M: the shortest shared piece that counts (and the index's gram length)."""
    encodings: tuple[str, ...] = DEFAULT_ENCODINGS
    max_decode_depth: int = 2
    key_facts: tuple[KeyFact, ...] = ()
    fact_threshold: int = 2
    auto_key_facts: bool = True
    """Also take candidate key facts from each tracked item itself (codes, measured numbers,
    amounts: :func:`corrigible.text.extract_key_facts`), so a paraphrase that keeps them is
    caught without a hand-made list."""

    def __post_init__(self) -> None:
        if self.min_piece_words < 2 or self.min_words < self.min_piece_words:
            raise ValueError("need 2 <= min_piece_words <= min_words")


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
        if self._heads is not None:
            self._heads.update(dict.fromkeys(zip(*(ws[i:] for i in range(m - 1)), strict=False)))
        return segment

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
        if len(ws) >= m and self._grams:
            for s in self._gram_starts(ws):
                fresh.extend(range(s, s + m))
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

    def _gram_starts(self, ws: list[bytes]) -> Iterator[int]:
        """Corpus positions where an M-gram of ``ws`` starts, each once per matching M-gram.

        Every M-gram of the payload is looked up, but not one by one: an M-gram that starts at
        position j holds the (M-1)-gram that starts at the even position j or j + 1, so only the
        (M-1)-grams at even positions are looked up in :attr:`_heads` — half the lookups, in C
        (``zip``, ``map``, ``compress``) — and each hit is confirmed by looking up the two M-grams
        that may hold it. Common phrases hit now and then; a confirmation costs two dict lookups,
        however often the phrase occurs in the documents.
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
        for i in compress(range(0, len(ws), 2), map(heads.__contains__, halves)):
            for j in (i - 1, i):
                if 0 <= j <= last:
                    starts = grams.get(tuple(ws[j : j + m]))
                    if starts is not None:
                        yield from starts

    # -- deciding -------------------------------------------------------------------------------

    def findings(
        self, scan: Scan, sink: str, labels: frozenset[str] | None = None
    ) -> list[Finding]:
        """What ``scan`` carries to ``sink``, counting what already went there (split calls).

        ``labels``: only documents with one of these labels count (None: every tracked one).
        """
        if scan.empty:
            return []
        state = self._sinks.get(sink)
        before: set[int] | frozenset[int] = state.positions if state else _EMPTY
        out: list[Finding] = []
        n = self.settings.min_words
        positions = sorted(scan.positions)
        # runs of consecutive positions are where ``position - index`` stays the same: found by
        # bisection, so forwarding a whole document costs a few C-level passes, not a loop
        offsets = list(map(operator.sub, positions, range(len(positions))))
        count = len(positions)
        via = scan.via.get
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
            doc = self.documents[seg.doc]
            if labels is not None and doc.labels.isdisjoint(labels):
                continue
            if hi - lo < min(n, seg.end - seg.start):
                continue
            stretch = range(lo, hi)
            if before and before.issuperset(stretch):
                continue  # already sent (and let through) before: not this call's doing
            how = dict.fromkeys(filter(None, map(via, stretch)))
            if seg.how:
                how[seg.how] = None
            if before and not before.isdisjoint(stretch):
                how["split across calls"] = None
            out.append(
                Finding(
                    sink=sink,
                    document=doc,
                    words=hi - lo,
                    how=tuple(how),
                    labels=doc.labels,
                )
            )
        facts = self._fact_finding(scan, sink, state, labels)
        if facts is not None:
            out.append(facts)
        return out

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

    def commit(self, scan: Scan, sinks: Iterable[str]) -> None:
        """Record that the call went out to ``sinks`` (call after a decision that lets it pass)."""
        for sink in sinks:
            state = self._sinks.get(sink)
            if state is None:
                state = self._sinks[sink] = _Sink()
            if scan.positions:
                state.positions |= scan.positions
            if scan.facts:
                state.facts |= scan.facts
            state.calls += 1
