"""Every malformed JSON-RPC message the gateway receives gets a JSON-RPC error, never silence.

The MCP SDK's stdio transport drops a line it cannot read (bad JSON, a batch, list params,
100,000 levels of nesting, a 5,000-digit integer) without answering, so a client waits forever.
:func:`checked_stdio` sits in front of it: each line is checked here first, a bad one is
answered on the spot with the JSON-RPC error its fault calls for (``-32700`` parse error,
``-32600`` invalid request, ``-32602`` invalid params) and the id when one can be read, and only
well-formed messages reach the SDK. Answers and the SDK's own replies share one locked writer,
so lines never interleave.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import TextIOWrapper
from typing import Any

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server

__all__ = ["MAX_LINE", "checked_stdio", "problem_of"]

MAX_LINE = 16 * 1024 * 1024
"""Longest message accepted (bytes of one line); a longer one is an invalid request."""
_MAX_DEPTH = 64


def problem_of(line: str) -> tuple[int, str, Any] | None:
    """``(code, message, id)`` of what is wrong with one JSON-RPC line, or None when it is
    well formed (an MCP message the SDK can read)."""
    if len(line) > MAX_LINE:
        return (-32600, f"Invalid Request: message longer than {MAX_LINE} bytes", None)
    if _too_deep(line):
        return (-32700, f"Parse error: nesting deeper than {_MAX_DEPTH} levels", None)
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:  # bad JSON, or an integer past 4300 digits
        return (-32700, f"Parse error: {' '.join(str(exc).split())[:200]}", None)
    if isinstance(data, list):
        return (-32600, "Invalid Request: batches are not supported", None)
    if not isinstance(data, dict):
        return (-32600, "Invalid Request: expected a JSON object", None)
    ident = data.get("id")
    ident = ident if isinstance(ident, str | int) and not isinstance(ident, bool) else None
    if data.get("jsonrpc") != "2.0":
        return (-32600, 'Invalid Request: "jsonrpc" must be "2.0"', ident)
    if "params" in data and not isinstance(data["params"], dict):
        return (-32602, "Invalid params: params must be an object", ident)
    try:
        types.jsonrpc_message_adapter.validate_python(data, by_name=False)
    except ValueError as exc:
        first = " ".join(str(exc).split())[:200]
        return (-32600, f"Invalid Request: {first}", ident)
    return None


def _too_deep(line: str) -> bool:
    """Nesting deeper than the limit, counted without parsing (brackets outside strings)."""
    if line.count("[") + line.count("{") <= _MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


class _LockedWriter:
    """The one writer of stdout: the SDK's replies and our error answers, a line at a time."""

    def __init__(self, stream: anyio.AsyncFile[str]) -> None:
        self._stream = stream
        self._lock = anyio.Lock()

    async def write(self, text: str) -> int:
        async with self._lock:
            written = await self._stream.write(text)
            await self._stream.flush()
            return written

    async def flush(self) -> None:
        return None


class _CheckedLines:
    """stdin as the SDK reads it (``async for line in …``), with bad lines answered here."""

    def __init__(self, stream: anyio.AsyncFile[str], out: _LockedWriter) -> None:
        self._stream = stream
        self._out = out

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        async for line in self._stream:
            if not line.strip():
                continue
            problem = problem_of(line)
            if problem is None:
                yield line
                continue
            code, message, ident = problem
            answer = {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}
            await self._out.write(json.dumps(answer) + "\n")


@asynccontextmanager
async def checked_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's stdio transport behind :func:`problem_of` (see the module docstring)."""
    raw_in = anyio.wrap_file(TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    raw_out = anyio.wrap_file(TextIOWrapper(sys.stdout.buffer, encoding="utf-8"))
    out = _LockedWriter(raw_out)
    lines = _CheckedLines(raw_in, out)
    async with stdio_server(stdin=lines, stdout=out) as streams:  # type: ignore[arg-type]
        yield streams
