"""Evidence highlighting: find a detector's quotes and actions in a reply and mark them for the page."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from corrigible.environment.protocol import parse_tool_blocks, scratchpad_spans
from corrigible.scoring.verdict import Evidence

__all__ = [
    "MAX_TEXT_CHARS",
    "ReplyPart",
    "Segment",
    "cut_long",
    "evidence_spans",
    "highlight",
    "reply_parts",
]


@dataclass(frozen=True)
class Segment:
    """A piece of displayed text; ``marked`` pieces are evidence and get ``<mark>``."""

    text: str
    marked: bool = False


@dataclass(frozen=True)
class ReplyPart:
    """A stretch of a reply: said out loud, or inside the private scratchpad."""

    segments: list[Segment]
    scratchpad: bool
    chars: int = 0

    @property
    def marked(self) -> bool:
        return any(s.marked for s in self.segments)


# -- evidence highlighting ------------------------------------------------------------------------


MAX_TEXT_CHARS = 12_000
"""A reply or message longer than this is cut in the page (the run directory keeps it all)."""

_CUT_PUNCT = " ,.;:!?()[]{}\"'"


def _quote_patterns(quote: str) -> tuple[list[re.Pattern[str]], bool, bool]:
    """Patterns for a detector's quote, strictest first, and whether each end was cut.

    Detectors normalise whitespace and add "…" where they cut the context, and some quote
    normalised words (``code=4429`` for ``code: "4429"``), so a quote is looked for first with
    any whitespace between its tokens, then as its words with any non-word run between them.
    """
    text = quote.strip()
    cut_start, cut_end = text.startswith("…"), text.endswith("…")
    core = text.strip("…").strip()
    if cut_start:
        core = core.lstrip(_CUT_PUNCT)
    if cut_end:
        core = core.rstrip(_CUT_PUNCT)
    tokens = core.split()
    if not tokens:
        return [], cut_start, cut_end
    patterns = [re.compile(r"\s+".join(re.escape(t) for t in tokens), re.IGNORECASE)]
    words = re.findall(r"\w+", core)
    if words:
        patterns.append(re.compile(r"\W+".join(re.escape(w) for w in words), re.IGNORECASE))
    return patterns, cut_start, cut_end


def _widen(text: str, start: int, end: int, cut_start: bool, cut_end: bool) -> tuple[int, int]:
    """Where a detector cut its context mid-word ("…Harb…"), mark the whole word."""
    while cut_start and start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while cut_end and end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def _find_quote(text: str, quote: str, avoid: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The span of ``quote`` in ``text``, preferring one outside the ``avoid`` spans.

    The private scratchpad often paraphrases what the agent then did; the evidence is the act,
    so a match outside the scratchpad wins.
    """
    patterns, cut_start, cut_end = _quote_patterns(quote)
    for pattern in patterns:
        first: tuple[int, int] | None = None
        for match in pattern.finditer(text):
            if match.end() <= match.start():
                continue
            span = _widen(text, match.start(), match.end(), cut_start, cut_end)
            if not any(a <= span[0] < b for a, b in avoid):
                return span
            first = first or span
        if first is not None:
            return first
    return None


def _action_block(text: str, evidence: Evidence) -> tuple[int, int] | None:
    """The tool block of an action in a text-protocol reply: the seq-th block if it is of that
    tool (one turn, one block per action), else the first block of that tool."""
    blocks = parse_tool_blocks(text)
    if evidence.action_seq is not None and 0 < evidence.action_seq <= len(blocks):
        block = blocks[evidence.action_seq - 1]
        if evidence.tool is None or block.tool == evidence.tool:
            return block.start, block.end
    for block in blocks:
        if block.tool == evidence.tool:
            return block.start, block.end
    return None


def evidence_spans(
    text: str, evidence: Sequence[Evidence], *, actions: bool
) -> tuple[list[tuple[int, int]], set[int]]:
    avoid = scratchpad_spans(text)
    spans: list[tuple[int, int]] = []
    found: set[int] = set()
    for i, ev in enumerate(evidence):
        span = None
        if actions and ev.kind == "action" and ev.tool:
            span = _action_block(text, ev)
        if span is None and ev.quote:
            span = _find_quote(text, ev.quote, avoid)
        if span is not None:
            spans.append(span)
            found.add(i)
    return spans, found


def highlight(
    text: str, evidence: Iterable[Evidence], *, actions: bool = True
) -> tuple[list[Segment], set[int]]:
    """Split ``text`` into segments with each piece of evidence marked.

    Quotes are found where the detector saw them; with ``actions``, an action's tool block is
    marked too. Returns the segments and the indexes (into ``evidence``) that were found.
    """
    spans, found = evidence_spans(text, list(evidence), actions=actions)
    return _segments(text, spans), found


def _segments(text: str, spans: Iterable[tuple[int, int]], offset: int = 0) -> list[Segment]:
    """``text`` cut into plain and marked pieces; ``spans`` index the text shifted by ``offset``."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(start - offset, 0), min(end - offset, len(text))
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[Segment] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            out.append(Segment(text[cursor:start]))
        out.append(Segment(text[start:end], marked=True))
        cursor = end
    if cursor < len(text):
        out.append(Segment(text[cursor:]))
    return out


def cut_long(text: str) -> tuple[str, str]:
    if len(text) <= MAX_TEXT_CHARS:
        return text, ""
    rest = len(text) - MAX_TEXT_CHARS
    return text[:MAX_TEXT_CHARS], f"cut here: {rest:,} more characters are in the run directory"


def reply_parts(text: str, spans: Sequence[tuple[int, int]]) -> list[ReplyPart]:
    """The reply as alternating visible and scratchpad parts, each with its marks.

    The private scratchpad is usually most of a reply and is never the action, so the page
    folds it away (open when evidence lies inside) and keeps what the agent did in view.
    """
    parts: list[ReplyPart] = []
    cursor = 0
    for start, end in [*scratchpad_spans(text), (len(text), len(text))]:
        # blank lines around the scratchpad would only pad the boxes
        a, b = cursor, start
        while a < b and text[a] in "\r\n":
            a += 1
        while b > a and text[b - 1] in " \t\r\n":
            b -= 1
        if b > a:
            parts.append(ReplyPart(_segments(text[a:b], spans, a), scratchpad=False))
        if end > start:
            segments = _segments(text[start:end], spans, start)
            parts.append(ReplyPart(segments, scratchpad=True, chars=end - start))
        cursor = max(cursor, end)
    return parts
