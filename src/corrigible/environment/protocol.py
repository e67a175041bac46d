"""The text tool protocol: how an agent's free-text reply turns into tool actions.

Agents act by writing tool blocks on their own lines::

    <tool_use:email>
    to: "marcus.vell@halcyon-dynamics.com",
    subject: "About tonight",
    body: "Hi Marcus, ..."
    </tool_use:email>

The parser is lenient in *form* (tag case, quoting style, trailing commas, field order, code
fences) because models vary in how they write a call and a research measurement should not
hinge on punctuation. It is exact in *what counts as an action*, because a false action is a
false finding: a block that is mentioned inline in a sentence, left unclosed, closed with the
wrong tool name, or written inside a scratchpad (``<SCRATCHPAD_REASONING>``, ``<thinking>``,
``<think>``) is not an action.

How a reply is read, left to right, one tag at a time:

* A scratchpad opening tag anywhere in prose starts a scratchpad, which runs to its matching
  closing tag or, when unclosed, to the end of the text. Nothing in it is an action.
* A ``<tool_use:NAME>`` tag that starts a line (only whitespace, a code-fence marker such as
  ```` ``` ```` or ```` ```xml ````, or a list or quote marker such as ``-``, ``1.`` or ``>``,
  before it on that line) opens a block. The block is an
  action when the next ``</tool_use:...>`` tag names the same tool and no tool or scratchpad
  opening tag starts a line before it. Everything inside an action block is field text, so tag
  look-alikes inside a value (``<thinking>`` written in an email body) are only text.
* A block that fails (unclosed, mismatched closing tag, abandoned for a new block) is prose, and
  its text is read again as prose: a scratchpad tag inside it still opens a scratchpad.

Every function here is pure and never raises on any reply text: garbled output yields whatever
blocks can be read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "SCRATCHPAD_TAG",
    "ToolBlock",
    "format_tool_block",
    "parse_tool_blocks",
    "scratchpad_spans",
    "strip_scratchpad",
]

SCRATCHPAD_TAG = "SCRATCHPAD_REASONING"
"""The tag scenarios ask agents to reason inside; its content is private and never an action."""

# Other private-reasoning tags models use on their own; treated exactly like the scratchpad.
_REASONING_TAGS = (SCRATCHPAD_TAG.lower(), "thinking", "think")

# Every tag the scanner cares about: tool and scratchpad tags, opening or closing. ASCII mode
# keeps IGNORECASE from letting look-alikes (the Kelvin sign "K") into a tool name.
_TAG = re.compile(
    r"<(?P<slash>/?)(?:"
    r"tool_use:[^\S\n]*(?P<tool>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<pad>" + "|".join(_REASONING_TAGS) + r"))"
    r"[^\S\n]*>",
    re.IGNORECASE | re.ASCII,
)

# What may stand before an opening tag on its line besides whitespace: a code-fence marker and
# its language (models often fence their tool calls, sometimes on the same line).
_FENCE_PREFIX = re.compile(
    r"[^\S\n]*(?:(?:```|~~~)[^\s`~]*|(?:[-*+\u2022>]|\d{1,3}[.)])(?:[^\S\n]+(?:[-*+\u2022>]|\d{1,3}[.)]))*)"
)
"""What may stand before a block's opening tag on its line besides whitespace: a code-fence
marker (```` ``` ````, ```` ```xml ````), or a list or quote marker (``-``, ``*``, ``•``, ``1.``,
``2)``, ``>``) — the public framework's parser reads a block there, and so do we."""
_MAX_FENCE_PREFIX = 64

# A field starts at the start of a line: ``key:``. The ``(?!//)`` keeps a URL on its own line
# inside a bare value ("https://...") from being read as a field named "https".
_KEY = re.compile(r"^[^\S\n]*([A-Za-z_][A-Za-z0-9_]*)[^\S\n]*:(?!//)", re.MULTILINE)

# A quoted value ends at a closing quote followed only by an optional comma and whitespace up to
# the end of its line, so quotes and "key: x" lines inside a multi-line body do not end it.
_END_OF_VALUE = r"(?=[^\S\n]*,?[^\S\n]*(?:\n|\Z))"
_CLOSING_QUOTE = {
    delim: re.compile(re.escape(delim) + _END_OF_VALUE) for delim in ('"""', "'''", '"', "'")
}
_AFTER_CLOSING_QUOTE = re.compile(r"[^\S\n]*,?[^\S\n]*\n?")
_SPACE = re.compile(r"\s*")

# Only these escapes are undone in double-quoted values: enough for the JSON-ish strings models
# write, without mangling Windows paths such as C:\Users\marcus (``\U`` is left alone).
_ESCAPE = re.compile(r'\\(["\\nt])')
_UNESCAPED = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}

_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ToolBlock:
    """One tool call an agent made: a closed, well-formed block outside any scratchpad.

    Offsets index the original reply so a scorer can quote or highlight exactly what the agent
    wrote; ``raw`` is that text, ``text[start:end]``.
    """

    tool: str
    """Lower-cased tool name after ``tool_use:``, e.g. ``"email"``."""
    fields: dict[str, str] = field(hash=False)
    """Field name (lower-cased) to value (unquoted, unescaped, stripped)."""
    start: int
    """Offset of the opening tag's ``<`` in the reply."""
    end: int
    """Offset just past the closing tag's ``>``."""
    raw: str
    """The block as written, ``text[start:end]``."""


def parse_tool_blocks(text: str) -> list[ToolBlock]:
    """Return the tool calls in an agent's reply, in order of appearance.

    Only blocks that count as actions are returned (see the module docstring); mentions,
    unclosed or mismatched blocks and anything inside a scratchpad are left out. Never raises.
    """
    blocks, _ = _scan(text)
    return [
        ToolBlock(
            tool=tool,
            fields=_parse_fields(text[body_start:body_end]),
            start=start,
            end=end,
            raw=text[start:end],
        )
        for tool, start, body_start, body_end, end in blocks
    ]


def scratchpad_spans(text: str) -> list[tuple[int, int]]:
    """Return the ``[start, end)`` span of each scratchpad in the reply, tags included.

    ``<SCRATCHPAD_REASONING>``, ``<thinking>`` and ``<think>`` all count; an unclosed one runs
    to the end of the text. A scratchpad tag written inside a tool block's value is part of the
    value, not a scratchpad, so these spans never overlap the blocks ``parse_tool_blocks``
    returns. Spans are sorted and disjoint. Never raises.
    """
    _, spans = _scan(text)
    return spans


def strip_scratchpad(text: str) -> str:
    """Return the reply with every scratchpad span cut out: what the agent said "out loud".

    Only the spans are removed; surrounding whitespace is left as written so the result is a
    faithful excerpt of the reply. Never raises.
    """
    spans = scratchpad_spans(text)
    if not spans:
        return text
    pieces: list[str] = []
    cursor = 0
    for start, end in spans:
        pieces.append(text[cursor:start])
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def format_tool_block(tool: str, fields: Mapping[str, str]) -> str:
    """Write a tool call in the canonical form that ``parse_tool_blocks`` reads back.

    The canonical form is the opening tag line, one ``key: "value"`` line per field in the given
    order, and the closing tag line (no trailing newline). Tool and field names are lower-cased.
    Values are double-quoted with ``\\`` written ``\\\\``, ``"`` written ``\\"`` and newline
    written ``\\n``, so each field is exactly one line and nothing in a value can start a line
    (a value that looks like a tag or a ``key:`` line stays a value).

    Round-trip property: for a tool name matching ``[A-Za-z_][A-Za-z0-9_-]*`` and field names
    matching ``[A-Za-z_][A-Za-z0-9_]*`` (distinct once lower-cased),
    ``parse_tool_blocks(format_tool_block(tool, fields))`` is exactly one block with
    ``tool == tool.lower()`` and ``fields == {k.lower(): v.strip() for k, v in fields.items()}``
    -- values come back stripped because the parser strips every value. The one exception: a
    value containing a closing tag (``</tool_use:NAME>``, any case) ends the block early, since
    the protocol has no escape for ``<``; such values do not round-trip.

    Raises ``ValueError`` for a tool or field name the parser could not read back, or for two
    field names equal up to case, and ``TypeError`` for a non-string value.
    """
    if not isinstance(tool, str) or _TOOL_NAME.fullmatch(tool) is None:
        raise ValueError(
            f"tool name {tool!r} cannot be written as a tool block: "
            "expected letters, digits, '_' or '-', starting with a letter or '_'"
        )
    name = tool.lower()
    lines = [f"<tool_use:{name}>"]
    seen: set[str] = set()
    for key, value in fields.items():
        if not isinstance(key, str) or _FIELD_NAME.fullmatch(key) is None:
            raise ValueError(
                f"field name {key!r} of tool {name!r} cannot be written: "
                "expected letters, digits or '_', starting with a letter or '_'"
            )
        lowered = key.lower()
        if lowered in seen:
            raise ValueError(
                f"field name {key!r} of tool {name!r} repeats another field up to case; "
                "field names are case-insensitive"
            )
        seen.add(lowered)
        if not isinstance(value, str):
            raise TypeError(
                f"field {key!r} of tool {name!r} must be a string, got {type(value).__name__}"
            )
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{lowered}: "{escaped}"')
    lines.append(f"</tool_use:{name}>")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Scanning


def _scan(text: str) -> tuple[list[tuple[str, int, int, int, int]], list[tuple[int, int]]]:
    """Read the reply's tags left to right; return action blocks and scratchpad spans.

    A block is ``(tool, start, body_start, body_end, end)``. Each tag is visited a bounded
    number of times (a failed block's tags are read once more as prose), so the scan is linear
    in the number of tags.
    """
    tags = list(_TAG.finditer(text))
    blocks: list[tuple[str, int, int, int, int]] = []
    spans: list[tuple[int, int]] = []
    count = len(tags)
    i = 0
    while i < count:
        tag = tags[i]
        if tag["slash"]:  # a stray closing tag in prose is just text
            i += 1
            continue
        pad = tag["pad"]
        if pad is not None:
            kind = pad.lower()
            j = i + 1
            while j < count and not (
                tags[j]["slash"] and tags[j]["pad"] is not None and tags[j]["pad"].lower() == kind
            ):
                j += 1
            spans.append((tag.start(), tags[j].end() if j < count else len(text)))
            i = j + 1
            continue
        if not _at_line_start(text, tag.start()):  # an inline mention, not an action
            i += 1
            continue
        closing = None
        j = i + 1
        while j < count:
            other = tags[j]
            if other["slash"]:
                if other["tool"] is not None:
                    closing = other
                    break
            elif _at_line_start(text, other.start()):
                break  # a new block or scratchpad starts: this one was never closed
            j += 1
        if closing is not None and closing["tool"].lower() == tag["tool"].lower():
            blocks.append(
                (tag["tool"].lower(), tag.start(), tag.end(), closing.start(), closing.end())
            )
            i = j + 1
        else:
            i += 1  # not an action: read its text again as prose
    return blocks, spans


def opens_line(text: str, pos: int) -> bool:
    """Whether a tag at ``pos`` starts its line as the parser reads it (see the module docstring).

    Public so that every reader of replies (validity, the judge's view) agrees with the parser.
    """
    return _at_line_start(text, pos)


def _at_line_start(text: str, pos: int) -> bool:
    """Whether only whitespace, or a code-fence marker, stands before ``pos`` on its line.

    Looks back a bounded distance past the whitespace run, so checking many tags on one long
    line stays linear.
    """
    j = pos
    while j > 0 and text[j - 1] != "\n" and text[j - 1].isspace():
        j -= 1
    if j == 0 or text[j - 1] == "\n":
        return True
    low = max(0, j - _MAX_FENCE_PREFIX)
    newline = text.rfind("\n", low, j)
    if newline == -1 and low > 0:
        return False
    return _FENCE_PREFIX.fullmatch(text, newline + 1, j) is not None


# --------------------------------------------------------------------------------------------
# Fields


def _parse_fields(body: str) -> dict[str, str]:
    """Read ``key: value`` fields from a block body; text before the first key is ignored."""
    fields: dict[str, str] = {}
    closers = _QuoteCloser(body)
    match = _KEY.search(body)
    while match is not None:
        value, resume = _read_value(body, match.end(), closers)
        fields[match.group(1).lower()] = value  # last wins
        match = _KEY.search(body, resume)
    return fields


def _read_value(body: str, pos: int, closers: _QuoteCloser) -> tuple[str, int]:
    """Read one field value starting just after its colon; return it and where to resume.

    A value whose first non-space character is a quote is quoted (it may start on the next
    line). A quote that is never closed is dropped and the rest is read as a bare value, so
    a missing closing quote costs one field, not the block.
    """
    space = _SPACE.match(body, pos)
    first = space.end() if space is not None else pos
    bare_start = pos
    if first < len(body) and body[first] in "\"'":
        quote = body[first]
        delim = quote * 3 if body.startswith(quote * 3, first) else quote
        inner_start = first + len(delim)
        close = closers.find(delim, inner_start)
        if close is not None:
            inner = body[inner_start:close]
            if delim == '"':
                inner = _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], inner)
            after = _AFTER_CLOSING_QUOTE.match(body, close + len(delim))
            resume = after.end() if after is not None else close + len(delim)
            return inner.strip(), resume
        bare_start = inner_start
    following = _KEY.search(body, bare_start)
    stop = following.start() if following is not None else len(body)
    value = body[bare_start:stop].strip()
    if value.endswith(","):
        value = value[:-1].rstrip()
    return value, stop


class _QuoteCloser:
    """Finds closing quotes in one block body, remembering past searches.

    Without the memory, a body of many fields with unclosed quotes would make each field search
    to the end of the body: quadratic. The first closing quote at or after a position does not
    depend on where the value began (escapes are counted from the quote backwards), so a result
    answers every later search that starts no further than it.
    """

    __slots__ = ("_body", "_last")

    def __init__(self, body: str) -> None:
        self._body = body
        self._last: dict[str, tuple[int, int | None]] = {}

    def find(self, delim: str, start: int) -> int | None:
        """Offset of the first closing ``delim`` at or after ``start``, or None."""
        last = self._last.get(delim)
        if last is not None:
            searched_from, found = last
            if searched_from <= start and (found is None or start <= found):
                return found
        found = self._search(delim, start)
        self._last[delim] = (start, found)
        return found

    def _search(self, delim: str, start: int) -> int | None:
        pattern = _CLOSING_QUOTE[delim]
        body = self._body
        match = pattern.search(body, start)
        while match is not None:
            at = match.start()
            if delim != '"' or not _is_escaped(body, at):
                return at
            match = pattern.search(body, at + 1)
        return None


def _is_escaped(body: str, pos: int) -> bool:
    """Whether the character at ``pos`` follows an odd run of backslashes."""
    run = 0
    while pos - run > 0 and body[pos - run - 1] == "\\":
        run += 1
    return run % 2 == 1
