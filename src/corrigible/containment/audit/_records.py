"""Audit records and their exact encoding: canonical JSON, argument hashes, the chain hash.

The formulas are in :mod:`corrigible.containment.audit`'s docstring, so a log can be checked without
this package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _json_str  # type: ignore[attr-defined]
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corrigible.errors import AuditError, describe_validation_error

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1."""

CHECKPOINT_FORMAT: Literal["corrigible-audit-checkpoint/1"] = "corrigible-audit-checkpoint/1"

AuditDecision = Literal["allow", "block", "require_approval", "approved", "denied", "incident"]
"""What the guard (or a human) decided about one tool call."""

RECORD_COLUMNS = (
    "seq",
    "timestamp",
    "agent_id",
    "tool",
    "arguments_sha256",
    "decision",
    "rule_id",
    "reason",
    "policy_version",
    "approver",
    "context_version",
    "prev_hash",
    "hash",
)
"""Storage column order; :class:`ChainScanner` expects rows as tuples in this order."""

CHECKPOINT_COLUMNS = ("seq", "hash", "timestamp", "log_id", "key_id", "public_key", "signature")
"""The columns of the ``checkpoints`` table besides its row id, in storage order."""

LOG_FORMAT = "corrigible-audit-log"
"""The ``format`` value in every store's ``meta`` table."""

LOG_SCHEMA_VERSION = 1
"""The schema (tables ``meta``, ``records``, ``checkpoints``) every store uses, as ``meta`` records it."""

_HEX64 = r"^[0-9a-f]{64}$"
_UTC_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"
_MAX_LISTED = 20
"""Findings listed in a report; further ones are only counted (a rewritten log of a million
records would otherwise print a million lines)."""


# --------------------------------------------------------------------------------------------
# canonical encoding and hashing


def utc_now() -> str:
    """The current time as the log writes it: UTC, ISO 8601, microseconds, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_json(obj: Any) -> bytes:
    """The one byte string that every hash and signature here is computed over."""
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise AuditError(f"value is not canonical JSON: {exc}") from None
    return text.encode("ascii")


def hash_arguments(arguments: Mapping[str, Any]) -> str:
    """SHA-256 of the arguments' canonical JSON: ties a record to a call without keeping it."""
    return hashlib.sha256(canonical_json(dict(arguments))).hexdigest()


def record_body(
    seq: int,
    timestamp: str,
    agent_id: str,
    tool: str,
    arguments_sha256: str,
    decision: str,
    rule_id: str,
    reason: str,
    policy_version: str,
    approver: str | None,
    context_version: str | None,
    prev_hash: str,
) -> bytes:
    """``canonical_json`` of a record without its hash, written out by hand for speed.

    Verification runs this once per record (a million in well under 10 s), so it avoids the
    generic encoder's key sorting; ``tests/containment`` checks it byte for byte against
    :func:`canonical_json`. A non-string where a string belongs raises ``TypeError``.
    """
    if type(seq) is not int:
        raise TypeError(f"seq must be an integer, not {type(seq).__name__}")
    s = _json_str
    return (
        f'{{"agent_id":{s(agent_id)},'
        f'"approver":{"null" if approver is None else s(approver)},'
        f'"arguments_sha256":{s(arguments_sha256)},'
        f'"context_version":{"null" if context_version is None else s(context_version)},'
        f'"decision":{s(decision)},"policy_version":{s(policy_version)},'
        f'"prev_hash":{s(prev_hash)},"reason":{s(reason)},"rule_id":{s(rule_id)},'
        f'"seq":{int.__repr__(seq)},"timestamp":{s(timestamp)},"tool":{s(tool)}}}'
    ).encode("ascii")


def chain_hash(prev_hash: str, body: bytes) -> str:
    """``sha256(prev_hash || body)`` as lower-case hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


# --------------------------------------------------------------------------------------------
# records


class AuditEntry(BaseModel):
    """What a caller hands the log about one decision; the log adds seq and the chain.

    ``timestamp`` is stamped when the entry is created — the moment of the decision — so that
    a caller who buffers entries and writes them with :meth:`AuditLog.append_many` keeps the
    real decision times.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str = Field(min_length=1)
    arguments_sha256: str = Field(pattern=_HEX64)
    decision: AuditDecision
    rule_id: str = Field(min_length=1)
    reason: str
    policy_version: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    approver: str | None = Field(default=None, min_length=1)
    context_version: str | None = None
    timestamp: str = Field(default_factory=utc_now, pattern=_UTC_ISO)

    @model_validator(mode="after")
    def _approval_names_a_human(self) -> AuditEntry:
        # An approval without an approver would be an unattributable bypass of the guard.
        # Denials may have none: a timed-out approval is denied by no one.
        if self.decision == "approved" and self.approver is None:
            raise ValueError("an 'approved' decision must name its approver")
        return self

    @classmethod
    def for_call(
        cls,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: AuditDecision,
        rule_id: str,
        reason: str,
        policy_version: str,
        agent_id: str,
        approver: str | None = None,
        context_version: str | None = None,
    ) -> AuditEntry:
        """An entry for one tool call; the arguments are hashed here and then dropped."""
        try:
            return cls(
                tool=tool,
                arguments_sha256=hash_arguments(arguments),
                decision=decision,
                rule_id=rule_id,
                reason=reason,
                policy_version=policy_version,
                agent_id=agent_id,
                approver=approver,
                context_version=context_version,
            )
        except ValidationError as exc:
            raise AuditError(f"audit entry: {describe_validation_error(exc)}") from None


class AuditRecord(BaseModel):
    """One link of the chain, exactly as stored. ``hash`` covers every other field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    timestamp: str = Field(pattern=_UTC_ISO)
    agent_id: str
    tool: str
    arguments_sha256: str = Field(pattern=_HEX64)
    decision: AuditDecision
    rule_id: str
    reason: str
    policy_version: str
    approver: str | None = None
    context_version: str | None = None
    prev_hash: str = Field(pattern=_HEX64)
    hash: str = Field(pattern=_HEX64)

    def computed_hash(self) -> str:
        """The hash these fields should have; differs from ``hash`` when the record was edited."""
        return chain_hash(self.prev_hash, record_body(*self.as_row()[:-1]))

    def as_row(self) -> tuple[Any, ...]:
        """The record as a storage row, in :data:`RECORD_COLUMNS` order."""
        return tuple(getattr(self, name) for name in RECORD_COLUMNS)

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> AuditRecord:
        try:
            return cls.model_validate(dict(zip(RECORD_COLUMNS, row, strict=True)))
        except (ValidationError, ValueError) as exc:
            raise AuditError(f"malformed audit record: {describe_validation_error(exc)}") from None


class AuditSink(Protocol):
    """What the gateway, the approvals queue and sweeps need from an audit log: ``append``, as
    every :class:`AuditStore` (SQLite, PostgreSQL) has it. Tests may pass a list-backed fake."""

    def append(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: AuditDecision,
        rule_id: str,
        reason: str,
        policy_version: str,
        agent_id: str,
        approver: str | None = None,
        context_version: str | None = None,
    ) -> object: ...
