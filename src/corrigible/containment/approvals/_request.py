"""One approval request and its outcome, and the checks on what a human types (approver, note)."""

from __future__ import annotations

import contextlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from corrigible.containment import audit as _audit
from corrigible.errors import (
    ApprovalInputError,
)

Status = Literal["pending", "approved", "denied", "expired"]
"""Where a request stands. Only ``pending`` can change, and only once."""

MAX_APPROVER = 200
"""Longest approver name accepted (characters)."""
MAX_NOTE = 2000
"""Longest note accepted (characters)."""
# -- values ---------------------------------------------------------------------------------------


class ApprovalRequest(BaseModel):
    """One call waiting for a human, as stored and as shown to the approver.

    ``status`` is as of the moment the request was read: a request still ``pending`` in the
    database but past ``expires_at`` reads as ``expired`` (nobody can approve it any more),
    even before its waiter has marked it so.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    tool: str = Field(min_length=1)
    arguments: dict[str, Any]
    arguments_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rule_id: str = Field(min_length=1)
    reason: str
    policy_version: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    context_version: str | None = None
    created_at: str
    expires_at: str
    status: Status = "pending"
    approver: str | None = None
    note: str | None = None
    decided_at: str | None = None


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    """What the waiting side learns: run the call only if ``approved``.

    ``reason`` is the sentence written to the audit log (who decided, or that nobody did in
    time); it is safe to show to the agent.
    """

    approved: bool
    status: Literal["approved", "denied", "expired"]
    approver: str | None
    note: str | None
    request_id: str
    reason: str = ""


ApprovalAudit = _audit.AuditSink
"""The one method the queue needs from an audit log (SQLite's ``AuditLog``, PostgreSQL's)."""


# -- helpers --------------------------------------------------------------------------------------


def _iso(unix: float) -> str:
    """UTC ISO 8601 with microseconds and ``Z``, as the audit log writes its timestamps."""
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def seconds_text(seconds: float) -> str:
    """``30``, ``0.5``, ``2.25``: a duration for a sentence, without trailing zeros."""
    text = f"{seconds:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _clean_name(value: object, what: str, limit: int) -> str:
    """A name or note as it will be stored: stripped, non-empty, no control characters.

    Control characters are refused rather than removed: an approver name or note ends up in
    one-line terminal output and in the audit log, where a newline or an escape sequence could
    forge a line.
    """
    if not isinstance(value, str):
        raise ApprovalInputError(f"{what} must be a string, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ApprovalInputError(f"{what} must not be empty: name the human who decides")
    if len(text) > limit:
        raise ApprovalInputError(f"{what} is {len(text)} characters long; at most {limit}")
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\t":
            raise ApprovalInputError(
                f"{what} contains the control character U+{ord(ch):04X}; use printable text"
            )
    return text


def check_approver(approver: object) -> str:
    """The approver's name as stored; :class:`ApprovalInputError` if it names nobody."""
    return _clean_name(approver, "approver", MAX_APPROVER)


def check_note(note: object) -> str | None:
    """The note as stored (``None`` for none or blank)."""
    if note is None or (isinstance(note, str) and not note.strip()):
        return None
    text = _clean_name(note, "note", MAX_NOTE).replace("\t", " ")
    return text


def _new_id() -> str:
    """Twelve hex digits (48 random bits): short enough to type, too many to guess."""
    return secrets.token_hex(6)


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (arguments may carry secrets)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
