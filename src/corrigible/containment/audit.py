"""The tamper-evident audit log: records, the hash chain, signed checkpoints and their keys.

Why a hash chain *and* signatures. Every guard decision becomes an :class:`AuditRecord` whose
``hash`` covers its own fields and the previous record's hash, so editing, inserting, deleting or
reordering any record breaks the chain at that point. A chain alone has no secret, though:
whoever can write the file can recompute it from the first changed record onwards, or cut off
the tail. Periodic :class:`Checkpoint` s, signed with Ed25519, pin "record *seq* has hash *h*";
one copied somewhere the agent and the log's host cannot reach (:meth:`AuditLog.export_checkpoint`)
turns a consistent rewrite or a truncation into a detectable mismatch.

The exact formulas, so that anyone can check a log without this package:

* ``canonical JSON``: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
  ensure_ascii=True, allow_nan=False)`` encoded as ASCII;
* ``arguments_sha256 = sha256(canonical_json(arguments))`` — arguments are *never* stored, they
  may carry secrets (note that a hash of a low-entropy value, such as a 4-digit code, can be
  found by trying every value: the hash proves which call it was, it does not hide a guessable
  argument);
* ``hash = sha256(prev_hash + canonical_json(record without "hash"))``, ``prev_hash`` being the
  64 lower-case hex characters of the previous record's hash (ASCII), and 64 zeros for seq 1;
* a checkpoint's signature is Ed25519 over ``canonical_json(checkpoint without "signature")``;
  ``key_id = "ed25519:" + sha256(raw public key)[:16 hex]``.

This module is storage-neutral. :class:`AuditStore` holds the chain logic once (sequence, links,
automatic and on-demand checkpoints) on top of a few storage primitives; the stores are
:mod:`corrigible.containment.audit_sqlite` (embedded, the default) and
:mod:`corrigible.containment.audit_postgres` (several processes or hosts, same schema).
:class:`AuditWriter` batches appends to any store in the background; :class:`ChainScanner` is the
single-pass verifier every backend feeds with rows, and :func:`conclude_verification` turns a
finished scan and the checkpoints into the one :class:`VerifyReport` both backends return.
"""

from __future__ import annotations

import abc
import base64
import binascii
import contextlib
import hashlib
import json
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _json_str  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, Literal, Protocol, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corrigible._files import atomic_write_text, prepare_output
from corrigible.errors import AuditError, describe_validation_error

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1."""

CHECKPOINT_FORMAT: Literal["corrigible-audit-checkpoint/1"] = "corrigible-audit-checkpoint/1"

Decision = Literal["allow", "block", "require_approval", "approved", "denied", "incident"]
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


class AuditInputError(AuditError):
    """The log or checkpoint given to verify is unusable: missing, unreadable, not an audit log."""

    exit_code = 2


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
    decision: Decision
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
        decision: Decision,
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
    decision: Decision
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
        decision: Decision,
        rule_id: str,
        reason: str,
        policy_version: str,
        agent_id: str,
        approver: str | None = None,
        context_version: str | None = None,
    ) -> object: ...


# --------------------------------------------------------------------------------------------
# keys


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: ``ed25519:`` and 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_path(private_key_path: Path) -> Path:
    """Where :func:`generate_key` puts the public half: the private key's name plus ``.pub``."""
    return private_key_path.with_name(private_key_path.name + ".pub")


def generate_key(path: Path) -> Path:
    """Write a new Ed25519 signing key (PKCS#8 PEM, mode 0600) and its public key beside it.

    Refuses to overwrite an existing key: replacing the signing key of a log in use would make
    every later checkpoint fail against a pinned public key. Returns the public key's path
    (``<path>.pub``, PEM), which is what verifiers need and may be shared freely.
    """
    path = Path(path)
    prepare_output(path)
    if path.exists():
        raise AuditError(f"{path}: a key file already exists; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # not atomic_write_text: that leaves files 0644, and a private key must never be readable
    # by others, not even for an instant. mkstemp creates the file 0600.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub_path = public_key_path(path)
    atomic_write_text(pub_path, public.decode("ascii"))
    return pub_path


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read a private key written by :func:`generate_key`; refuse one others can read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError(f"{path}: cannot read signing key ({exc.strerror})") from None
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        raise AuditError(f"{path}: is a public key; signing needs the private key beside it")
    if os.name == "posix" and mode & 0o077:
        raise AuditError(
            f"{path}: signing key is readable by others (mode {mode & 0o777:04o}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{path}: not an Ed25519 key ({type(key).__name__})")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a trusted public key: PEM (as :func:`generate_key` writes) or base64 raw bytes.

    The base64 form is the ``public_key`` field of a checkpoint, so a key can be pinned by
    pasting it from one checkpoint the verifier already trusts.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditInputError(f"{path}: cannot read public key ({exc.strerror})") from None
    try:
        if b"-----BEGIN" in data:
            key: Any = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise AuditInputError(f"{path}: not a public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditInputError(f"{path}: not an Ed25519 public key ({type(key).__name__})")
    return key


def as_signing_key(key: Ed25519PrivateKey | Path | str) -> Ed25519PrivateKey:
    return key if isinstance(key, Ed25519PrivateKey) else load_signing_key(Path(key))


def as_public_key(key: Ed25519PublicKey | Path | str) -> Ed25519PublicKey:
    return key if isinstance(key, Ed25519PublicKey) else load_public_key(Path(key))


# --------------------------------------------------------------------------------------------
# checkpoints


class Checkpoint(BaseModel):
    """A signed statement "record *seq* of log *log_id* has hash *hash*".

    It carries its public key so that it can be checked anywhere, but a key inside the thing
    being checked proves nothing against someone who re-signs with a key of their own: pin the
    trusted key (``verify(..., public_key=...)``) to close that door.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["corrigible-audit-checkpoint/1"] = CHECKPOINT_FORMAT
    log_id: str = Field(min_length=1)
    seq: int = Field(ge=1)
    hash: str = Field(pattern=_HEX64)
    timestamp: str = Field(pattern=_UTC_ISO)
    key_id: str = Field(pattern=r"^ed25519:[0-9a-f]{16}$")
    public_key: str
    signature: str

    def signed_bytes(self) -> bytes:
        """What the signature covers: every field but the signature, canonically encoded."""
        return canonical_json(self.model_dump(exclude={"signature"}))

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, *, log_id: str, seq: int, hash: str) -> Checkpoint:
        public = key.public_key()
        unsigned = cls(
            log_id=log_id,
            seq=seq,
            hash=hash,
            timestamp=utc_now(),
            key_id=key_id(public),
            public_key=base64.b64encode(_raw(public)).decode("ascii"),
            signature="",
        )
        signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
        return unsigned.model_copy(update={"signature": signature})

    def problem(self, trusted: Ed25519PublicKey | None = None) -> str | None:
        """Why this checkpoint cannot be trusted, or None when its signature holds.

        With ``trusted`` given, the checkpoint must also be signed by that very key.
        """
        try:
            raw = base64.b64decode(self.public_key, validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
            signature = base64.b64decode(self.signature, validate=True)
        except (ValueError, binascii.Error):
            return "its public key or signature is not valid base64 Ed25519 data"
        if key_id(public) != self.key_id:
            return f"its key id {self.key_id} does not name its public key ({key_id(public)})"
        if trusted is not None and _raw(trusted) != raw:
            return f"it is signed by key {self.key_id}, not by the trusted key {key_id(trusted)}"
        try:
            public.verify(signature, self.signed_bytes())
        except InvalidSignature:
            return f"its signature does not verify with key {self.key_id} (forged or altered)"
        return None

    def write(self, path: Path) -> None:
        """Save as JSON (atomically) — for a copy kept where the log's host cannot write."""
        atomic_write_text(Path(path), self.model_dump_json(indent=2) + "\n")


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint file; an unreadable or malformed one is unusable input (exit 2)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditInputError(f"{path}: cannot read checkpoint ({exc})") from None
    try:
        return Checkpoint.model_validate_json(text)
    except ValidationError as exc:
        raise AuditInputError(
            f"{path}: not a checkpoint file: {describe_validation_error(exc)}"
        ) from None


# --------------------------------------------------------------------------------------------
# verification

FindingKind = Literal[
    "edited",
    "renumbered",
    "missing",
    "out_of_order",
    "broken_link",
    "malformed",
    "bad_signature",
    "checkpoint_mismatch",
    "truncated",
    "foreign_checkpoint",
]


class Finding(BaseModel):
    """One piece of evidence of tampering, at a record (``seq``) or about the log as a whole."""

    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    seq: int | None
    message: str

    def line(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "log"
        return f"{where}: {self.message}"


class VerifyReport(BaseModel):
    """The outcome of one verification pass."""

    model_config = ConfigDict(frozen=True)

    path: str
    ok: bool
    records: int
    """Records read and checked."""
    last_seq: int
    checkpoints_verified: int
    """Signed checkpoints (stored and external) whose signature holds and whose hash matches."""
    signed_through: int
    """Highest seq vouched for by a valid checkpoint; 0 when none."""
    external_checkpoint_seq: int | None
    key_source: Literal["pinned", "checkpoint", "none"]
    """Which key the signatures were checked with: the pinned one, or each checkpoint's own."""
    key_ids: list[str]
    findings: list[Finding]
    findings_omitted: int
    """Findings beyond the first ones listed (counted, not kept)."""
    notes: list[str]
    elapsed_s: float

    @property
    def first_problem(self) -> Finding | None:
        return self.findings[0] if self.findings else None


class ChainScanner:
    """Checks a log in one ordered pass: each row's hash, its link, and seq contiguity.

    Feed rows in ``seq`` order (tuples in :data:`RECORD_COLUMNS` order) with :meth:`scan`,
    possibly in several calls, then :meth:`report`. Only the hashes at ``watch`` seqs (the
    checkpoints' seqs) are remembered, so memory stays flat however long the log.

    After a problem the scanner resynchronises on the stored values, so each independent change
    is reported once rather than cascading: an edited record is one finding, a deleted one is
    one gap, and a run of records renumbered by the same offset (what inserting or deleting a
    record and renumbering the rest leaves behind) is one finding.
    """

    def __init__(self, watch: Iterable[int] = ()) -> None:
        self._watch = set(watch)
        self.seen: dict[int, str] = {}
        self.records = 0
        self.last_seq = 0
        self._expected = 1
        self._prev = GENESIS_HASH
        self._findings: list[Finding] = []
        self._omitted = 0
        self._run: tuple[int, int, int] | None = None  # (first seq, last seq, shift)

    def _add(self, kind: FindingKind, seq: int | None, message: str) -> None:
        if len(self._findings) < _MAX_LISTED:
            self._findings.append(Finding(kind=kind, seq=seq, message=message))
        else:
            self._omitted += 1

    def scan(self, rows: Iterable[tuple[Any, ...]]) -> None:
        watch, seen = self._watch, self.seen
        expected, prev, count, last = self._expected, self._prev, self.records, self.last_seq
        sha256, s = hashlib.sha256, _json_str
        for row in rows:
            count += 1
            seq, ts, agent, tool, args, decision, rule, reason, policy, appr, ctx, ph, stored = row
            if type(seq) is not int:
                self._close_run()
                self._add("malformed", None, f"row {count} has a non-integer seq {seq!r}")
                continue
            if seq in watch:
                seen[seq] = stored
            gap = seq != expected
            if gap:
                self._gap(seq, expected)
            try:
                # record_body(), inlined: this line runs a million times per million records
                intact = (
                    sha256(
                        (
                            f'{ph}{{"agent_id":{s(agent)},'
                            f'"approver":{"null" if appr is None else s(appr)},'
                            f'"arguments_sha256":{s(args)},'
                            f'"context_version":{"null" if ctx is None else s(ctx)},'
                            f'"decision":{s(decision)},"policy_version":{s(policy)},'
                            f'"prev_hash":{s(ph)},"reason":{s(reason)},"rule_id":{s(rule)},'
                            f'"seq":{int.__repr__(seq)},"timestamp":{s(ts)},"tool":{s(tool)}}}'
                        ).encode("ascii")
                    ).hexdigest()
                    == stored
                )
            except (TypeError, UnicodeEncodeError) as exc:
                self._close_run()
                self._add("malformed", seq, f"a field has the wrong type ({exc})")
            else:
                if intact:
                    if self._run is not None:
                        self._close_run()
                    if ph != prev and not gap:
                        self._add(
                            "broken_link",
                            seq,
                            f"prev_hash does not match the hash of record {seq - 1}: a record "
                            "was inserted, replaced or moved before it",
                        )
                else:
                    self._mismatch(row, gap, ph == prev)
            prev = stored if isinstance(stored, str) else ""
            expected = seq + 1
            last = seq
        self._expected, self._prev, self.records, self.last_seq = expected, prev, count, last

    def _gap(self, seq: int, expected: int) -> None:
        self._close_run()
        if seq > expected:
            span = (
                f"record {expected} is"
                if seq == expected + 1
                else f"records {expected}–{seq - 1} are"
            )
            self._add("missing", seq, f"{span} missing before it (deleted)")
        else:
            self._add("out_of_order", seq, f"seq {seq} appears again after seq {expected - 1}")

    def _mismatch(self, row: tuple[Any, ...], gap: bool, linked: bool) -> None:
        """A record whose content does not give its hash: renumbered, or edited/moved."""
        seq = row[0]
        # past the listing cap every further finding is only counted: skip the search for an
        # offset, so that verifying a wholly corrupted log stays as fast as a clean one
        listing = self._run is not None or len(self._findings) < _MAX_LISTED
        shift = None if gap or not listing else self._shift(row)
        if shift is None:
            self._close_run()
            self._add(
                "edited",
                seq,
                "content does not match its hash: a field was edited, "
                "or the record was moved here from elsewhere in the log",
            )
            return
        run = self._run
        if run is not None and run[2] == shift and run[1] == seq - 1 and linked:
            self._run = (run[0], seq, shift)
        else:
            # the first record of a run may have a broken link: that is where rows were
            # inserted or deleted
            self._close_run()
            self._run = (seq, seq, shift)

    def _shift(self, row: tuple[Any, ...]) -> int | None:
        """The offset by which this row's seq differs from the seq it was hashed with, if small."""
        candidates = [self._run[2]] if self._run else []
        candidates += [s for s in (1, -1, 2, -2) if s not in candidates]
        for shift in candidates:
            original = row[0] - shift
            if original < 1:
                continue
            try:
                body = record_body(original, *row[1:12])
                if chain_hash(row[11], body) == row[12]:
                    return shift
            except (TypeError, AttributeError, UnicodeEncodeError):
                return None
        return None

    def _close_run(self) -> None:
        if self._run is None:
            return
        first, last, shift = self._run
        self._run = None
        if first == last:
            what = f"this record was hashed as seq {first - shift}"
        else:
            what = f"records {first}–{last} were hashed as seqs {first - shift}–{last - shift}"
        self._add(
            "renumbered",
            first,
            f"{what}: records were inserted, deleted or moved before it and the rest renumbered",
        )

    def finish(self) -> None:
        self._close_run()

    def add(self, kind: FindingKind, seq: int | None, message: str) -> None:
        """Add a finding from outside the scan (checkpoint checks)."""
        self._add(kind, seq, message)

    @property
    def findings(self) -> list[Finding]:
        return list(self._findings)

    @property
    def omitted(self) -> int:
        return self._omitted


def check_checkpoint(
    scanner: ChainScanner,
    checkpoint: Checkpoint,
    *,
    log_id: str,
    trusted: Ed25519PublicKey | None,
    origin: str,
) -> bool:
    """Check one checkpoint against a finished scan; add findings; True when it vouches.

    ``origin`` names the checkpoint in messages ("stored checkpoint", "checkpoint file").
    """
    seq = checkpoint.seq
    problem = checkpoint.problem(trusted)
    if problem is not None:
        scanner.add("bad_signature", seq, f"{origin} for seq {seq} is not valid: {problem}")
        return False
    if checkpoint.log_id != log_id:
        scanner.add(
            "foreign_checkpoint",
            seq,
            f"{origin} is for log {checkpoint.log_id}, this log is {log_id}: "
            "a different log, or this one was replaced",
        )
        return False
    if seq > scanner.last_seq:
        scanner.add(
            "truncated",
            seq,
            f"{origin} vouches for seq {seq} but the log ends at seq {scanner.last_seq}: "
            "records were removed from the end",
        )
        return False
    stored = scanner.seen.get(seq)
    if stored is None:
        scanner.add("missing", seq, f"{origin} vouches for this record but it is missing")
        return False
    if stored != checkpoint.hash:
        scanner.add(
            "checkpoint_mismatch",
            seq,
            f"record hash {stored[:12]}… differs from the {origin}'s "
            f"{checkpoint.hash[:12]}…: this is not the record that was signed "
            "(edited, moved, or the log rewritten up to here)",
        )
        return False
    return True


def unsigned_tail_note(signed_through: int, last_seq: int) -> str | None:
    if last_seq <= signed_through:
        return None
    span = (
        f"record {last_seq} comes"
        if last_seq == signed_through + 1
        else (f"records {signed_through + 1}–{last_seq} come")
    )
    return (
        f"{span} after the last valid checkpoint: chained but not signed, so anyone able "
        "to write the log could rewrite or extend them undetected"
    )


# --------------------------------------------------------------------------------------------
# pieces every store shares


def check_meta(meta: Mapping[str, str], where: str) -> str:
    """The log id recorded in a store's ``meta`` table; AuditInputError when it is not our log.

    ``where`` names the store in the message (a path, or a URL without its password).
    """
    if meta.get("format") != LOG_FORMAT:
        raise AuditInputError(f"{where}: not an audit log (format {meta.get('format')!r})")
    if meta.get("schema_version") != str(LOG_SCHEMA_VERSION):
        raise AuditInputError(
            f"{where}: audit log has schema version {meta.get('schema_version')}, "
            f"this corrigible reads {LOG_SCHEMA_VERSION}"
        )
    log_id = meta.get("log_id")
    if not log_id:
        raise AuditInputError(f"{where}: audit log has no log id in its meta table")
    return log_id


def new_meta(log_id: str) -> list[tuple[str, str]]:
    """The ``meta`` rows of a new log, as (key, value)."""
    return [
        ("format", LOG_FORMAT),
        ("schema_version", str(LOG_SCHEMA_VERSION)),
        ("log_id", log_id),
        ("created_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
    ]


def checkpoint_row(checkpoint: Checkpoint) -> tuple[Any, ...]:
    """A checkpoint as a storage row, in :data:`CHECKPOINT_COLUMNS` order."""
    return tuple(getattr(checkpoint, name) for name in CHECKPOINT_COLUMNS)


def parse_checkpoints(
    rows: Iterable[Sequence[Any]],
) -> tuple[list[Checkpoint], list[tuple[int, str]]]:
    """Stored checkpoint rows ``(id, *CHECKPOINT_COLUMNS)`` that parse, and (id, problem) for the rest.

    Verification reports a malformed stored checkpoint as tampering instead of failing on it.
    """
    good: list[Checkpoint] = []
    bad: list[tuple[int, str]] = []
    for row_id, *values in rows:
        try:
            good.append(Checkpoint(**dict(zip(CHECKPOINT_COLUMNS, values, strict=True))))
        except (ValidationError, ValueError) as exc:
            bad.append((row_id, describe_validation_error(exc)))
    return good, bad


def chain_rows(
    entries: Sequence[AuditEntry],
    seq: int,
    prev_hash: str,
    *,
    key: Ed25519PrivateKey,
    log_id: str,
    checkpoint_every: int | None,
) -> tuple[list[tuple[Any, ...]], list[Checkpoint]]:
    """Chain ``entries`` after the tail (``seq``, ``prev_hash``): their rows and due checkpoints.

    Pure: the store calls it while holding its write lock, between reading the tail and
    inserting, so the rows extend exactly the tail it read.
    """
    every = checkpoint_every or 0
    rows: list[tuple[Any, ...]] = []
    checkpoints: list[Checkpoint] = []
    prev = prev_hash
    for e in entries:
        seq += 1
        row = (
            seq,
            e.timestamp,
            e.agent_id,
            e.tool,
            e.arguments_sha256,
            e.decision,
            e.rule_id,
            e.reason,
            e.policy_version,
            e.approver,
            e.context_version,
            prev,
        )
        prev = chain_hash(prev, record_body(*row))
        rows.append((*row, prev))
        if every and seq % every == 0:
            checkpoints.append(Checkpoint.sign(key, log_id=log_id, seq=seq, hash=prev))
    return rows, checkpoints


def verify_inputs(
    checkpoint: Checkpoint | Path | str | None,
    public_key: Ed25519PublicKey | Path | str | None,
) -> tuple[Checkpoint | None, Ed25519PublicKey | None]:
    """Load the external checkpoint and the pinned key before touching the log (exit 2 if bad)."""
    trusted = None if public_key is None else as_public_key(public_key)
    external = (
        checkpoint
        if isinstance(checkpoint, Checkpoint) or checkpoint is None
        else load_checkpoint(Path(checkpoint))
    )
    return external, trusted


def watched_seqs(stored: Iterable[Checkpoint], external: Checkpoint | None) -> set[int]:
    """The seqs whose hashes a scan must remember: every checkpoint's."""
    watch = {c.seq for c in stored}
    if external is not None:
        watch.add(external.seq)
    return watch


def conclude_verification(
    scanner: ChainScanner,
    *,
    where: str,
    log_id: str,
    stored: Sequence[Checkpoint],
    malformed: Sequence[tuple[int, str]],
    external: Checkpoint | None,
    trusted: Ed25519PublicKey | None,
    started: float,
) -> VerifyReport:
    """Check the checkpoints against a finished scan and write the report; storage-neutral.

    Every store reads its snapshot (meta, stored checkpoints, the records in ``seq`` order
    through ``scanner``) its own way and ends here, so the verdict cannot differ by backend.
    ``started`` is the ``time.perf_counter()`` at which verification began.
    """
    for row_id, message in malformed:
        scanner.add("bad_signature", None, f"stored checkpoint #{row_id} is malformed: {message}")
    signed_through = 0
    verified = 0
    key_ids: list[str] = []
    for c in stored:
        if c.key_id not in key_ids:
            key_ids.append(c.key_id)
        if check_checkpoint(scanner, c, log_id=log_id, trusted=trusted, origin="stored checkpoint"):
            verified += 1
            signed_through = max(signed_through, c.seq)
    if external is not None:
        if external.key_id not in key_ids:
            key_ids.append(external.key_id)
        if check_checkpoint(
            scanner, external, log_id=log_id, trusted=trusted, origin="checkpoint file"
        ):
            verified += 1
            signed_through = max(signed_through, external.seq)

    notes: list[str] = []
    key_source: Literal["pinned", "checkpoint", "none"]
    if trusted is not None:
        key_source = "pinned"
        notes.append(f"signatures checked against the pinned public key {key_id(trusted)}")
    elif key_ids:
        key_source = "checkpoint"
        notes.append(
            f"signatures checked against the key taken from the checkpoint itself "
            f"({', '.join(key_ids)}); pass --public-key to pin the key you trust"
        )
    else:
        key_source = "none"
    if external is None:
        notes.append(
            "no checkpoint file given: truncation, or a consistent rewrite of the whole log, "
            "is only detectable against a checkpoint kept elsewhere"
        )
    tail = unsigned_tail_note(signed_through, scanner.last_seq)
    if tail is not None:
        notes.append(tail)

    findings = scanner.findings
    return VerifyReport(
        path=where,
        ok=not findings,
        records=scanner.records,
        last_seq=scanner.last_seq,
        checkpoints_verified=verified,
        signed_through=signed_through,
        external_checkpoint_seq=None if external is None else external.seq,
        key_source=key_source,
        key_ids=key_ids,
        findings=sorted(findings, key=lambda f: (f.seq is None, f.seq or 0)),
        findings_omitted=scanner.omitted,
        notes=notes,
        elapsed_s=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------
# the store: chain logic once, storage per backend


class AuditStore(abc.ABC):
    """An append-only, hash-chained, periodically signed log of guard decisions, in some storage.

    The chain logic lives here once — sequence numbers, links, automatic checkpoints every
    ``checkpoint_every`` records, on-demand checkpoints — so the SQLite and PostgreSQL logs
    cannot drift apart; a backend supplies a handful of storage primitives (the underscore
    methods below). Callers should type against this class: :func:`open_audit_log
    <corrigible.containment.audit_store.open_audit_log>` returns one, and :class:`AuditWriter`
    takes one.

    ``signing_key`` (a key, or the path of a PEM written by :func:`generate_key`) is needed to
    append: every ``checkpoint_every`` records (``None``: never automatically) and on
    :meth:`checkpoint`, the log signs its current tail. Without a key the log can be read but
    not written, which is how tools that only inspect it should open it.

    Thread-safe: one lock serialises this object's use of its connection; the backend's
    :meth:`_transaction` serialises writers across processes.
    """

    log_id: str
    """The log's identity (in ``meta``); checkpoints name it, so one log's cannot vouch for another."""

    location: str
    """Where the log lives, fit to print: a path, or a URL with its password masked."""

    def __init__(
        self,
        location: str,
        *,
        signing_key: Ed25519PrivateKey | Path | str | None,
        checkpoint_every: int | None,
    ) -> None:
        if checkpoint_every is not None and checkpoint_every < 1:
            raise AuditError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        self.location = location
        self._key = None if signing_key is None else as_signing_key(signing_key)
        self._key_checked = False
        self._every = checkpoint_every
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------------------
    # storage primitives: called with self._lock held

    @abc.abstractmethod
    def _transaction(self, doing: str, *, durable: bool) -> contextlib.AbstractContextManager[None]:
        """A write transaction no other writer of this log, in any process, can interleave with.

        Commit on a normal exit, roll back on an error; storage errors become
        :class:`AuditError` naming ``doing``. ``durable`` forces a commit that survives a power
        cut whatever the log's own setting (checkpoints must never vouch for records a crash
        could take back: that would later read as truncation).
        """

    @abc.abstractmethod
    def _tail(self) -> tuple[int, str]:
        """(seq, hash) of the last record, or (0, GENESIS_HASH) for an empty log."""

    @abc.abstractmethod
    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert record rows (in :data:`RECORD_COLUMNS` order) inside the open transaction."""

    @abc.abstractmethod
    def _insert_checkpoints(self, checkpoints: list[Checkpoint]) -> None:
        """Store signed checkpoints inside the open transaction."""

    @abc.abstractmethod
    def _read_checkpoints(self, seq: int | None = None) -> list[Checkpoint]:
        """Stored checkpoints, oldest first; only those for ``seq`` when it is given."""

    @abc.abstractmethod
    def _page(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` record rows from seq ``start`` on, in seq order."""

    @abc.abstractmethod
    def _last_row(self) -> tuple[Any, ...] | None:
        """The record row with the highest seq, or None."""

    @abc.abstractmethod
    def _count(self) -> int:
        """How many records are stored."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release the connection."""

    # ----------------------------------------------------------------------------------------
    # writing

    def append(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: Decision,
        rule_id: str,
        reason: str,
        policy_version: str,
        agent_id: str,
        approver: str | None = None,
        context_version: str | None = None,
    ) -> AuditRecord:
        """Record one decision; the arguments are hashed, never stored. Returns the record."""
        entry = AuditEntry.for_call(
            tool=tool,
            arguments=arguments,
            decision=decision,
            rule_id=rule_id,
            reason=reason,
            policy_version=policy_version,
            agent_id=agent_id,
            approver=approver,
            context_version=context_version,
        )
        return self.append_many([entry])[0]

    def append_many(self, entries: Iterable[AuditEntry]) -> list[AuditRecord]:
        """Record a batch in one transaction (a group commit): all of it, or none on error."""
        rows = self._write(entries)
        # model_validate is faster than model_construct for a flat record (measured), and the
        # record is ours, so it always validates
        validate = AuditRecord.model_validate
        return [validate(dict(zip(RECORD_COLUMNS, row, strict=True))) for row in rows]

    def _write(self, entries: Iterable[AuditEntry]) -> list[tuple[Any, ...]]:
        """Chain and insert entries in one exclusive transaction; return the rows.

        The hot path of :class:`AuditWriter`, which needs no :class:`AuditRecord` objects back.
        """
        batch = entries if isinstance(entries, list) else list(entries)
        for entry in batch:
            if not isinstance(entry, AuditEntry):
                raise AuditError(
                    f"append_many takes AuditEntry objects, not {type(entry).__name__}"
                )
        key = self._writer_key()
        if not batch:
            return []
        with self._lock, self._transaction("append", durable=False):
            seq, prev = self._tail()
            rows, checkpoints = chain_rows(
                batch, seq, prev, key=key, log_id=self.log_id, checkpoint_every=self._every
            )
            self._insert(rows)
            if checkpoints:
                self._insert_checkpoints(checkpoints)
        return rows

    def checkpoint(self) -> Checkpoint:
        """Sign the current tail now, store the checkpoint in the log and return it.

        Committed durably, so the records it vouches for survive a power cut. When the tail
        already has a checkpoint by this key, that one is returned.
        """
        key = self._writer_key()
        with self._lock, self._transaction("checkpoint", durable=True):
            seq, digest = self._tail()
            if seq == 0:
                raise AuditError(f"{self.location}: the log is empty; nothing to checkpoint")
            checkpoint = Checkpoint.sign(key, log_id=self.log_id, seq=seq, hash=digest)
            for existing in self._read_checkpoints(seq):
                if existing.key_id == checkpoint.key_id and existing.hash == digest:
                    return existing
            self._insert_checkpoints([checkpoint])
        return checkpoint

    def export_checkpoint(self, path: Path | str) -> Checkpoint:
        """Checkpoint the tail now and write it as JSON to ``path``, to keep somewhere else.

        That copy is what turns truncation and a consistent rewrite into detectable tampering:
        keep it where whoever can write the log cannot.
        """
        checkpoint = self.checkpoint()
        checkpoint.write(Path(path))
        return checkpoint

    # ----------------------------------------------------------------------------------------
    # reading

    def records(self, start: int = 1) -> Iterator[AuditRecord]:
        """Records from ``start`` on, as stored (verify the log to know they are intact).

        Read a page at a time, so a long log is never held in memory at once.
        """
        while True:
            with self._lock:
                page = self._page(start, 1000)
            if not page:
                return
            for row in page:
                yield AuditRecord.from_row(row)
            start = int(page[-1][0]) + 1

    def last(self) -> AuditRecord | None:
        """The record with the highest seq, or None for an empty log."""
        with self._lock:
            row = self._last_row()
        return None if row is None else AuditRecord.from_row(row)

    def __len__(self) -> int:
        with self._lock:
            return self._count()

    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints stored in the log, oldest first."""
        with self._lock:
            return self._read_checkpoints()

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_writable(self) -> None:
        """Raise :class:`AuditError` unless this log can be appended to: it was opened with a
        signing key, and that key is the one its existing checkpoints use. Callers that must not
        start work they could not audit (a sweep, a gateway) call this first."""
        self._writer_key()

    def _writer_key(self) -> Ed25519PrivateKey:
        """The signing key, once checked against the log: a log signed by one key and then by
        another would read as tampered to anyone pinning the first, so a different key is refused
        before anything is written (call without holding the lock)."""
        if self._key is None:
            raise AuditError(f"{self.location}: opened without a signing key; it cannot be written")
        if not self._key_checked:
            with self._lock:
                stored = self._read_checkpoints()
            ours = key_id(self._key.public_key())
            if stored and stored[-1].key_id != ours:
                raise AuditError(
                    f"{self.location}: signing key {ours} is not this log's key (its checkpoints "
                    f"are signed by {stored[-1].key_id}); sign with that key"
                )
            self._key_checked = True
        return self._key


class AuditWriter:
    """Takes audit entries off the caller's path and commits them in groups, in the background.

    Why: one commit costs tens of microseconds on SQLite and a network round trip or more on
    PostgreSQL, and a SQLite WAL checkpoint now and then costs milliseconds: a guard deciding in
    microseconds cannot wait for that on every call. :meth:`submit` only queues the entry (its
    timestamp was taken when it was created); a thread commits whatever has queued up since its
    last commit in one transaction of the :class:`AuditStore` — a group commit whose size
    follows the load.

    What it costs: entries still queued are lost if the process dies. :meth:`flush` returns
    once everything submitted before it is committed; call it where that matters (before
    acting on an approval, at the end of a session). If a commit fails, the writer stops:
    every later :meth:`submit` and :meth:`flush` raises :class:`AuditError`, so a caller that
    must not run unaudited can fail closed.
    """

    def __init__(self, log: AuditStore, *, max_batch: int = 5000) -> None:
        if max_batch < 1:
            raise AuditError(f"max_batch must be at least 1, got {max_batch}")
        log.check_writable()  # fail now, not in the background thread
        self._log = log
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[AuditEntry | threading.Event | None] = queue.SimpleQueue()
        self._error: str | None = None
        self._closed = False
        self.committed = 0
        """Entries committed so far."""
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, entry: AuditEntry) -> None:
        """Queue one entry; returns at once."""
        self._check()
        if not isinstance(entry, AuditEntry):
            raise AuditError(f"submit takes an AuditEntry, not {type(entry).__name__}")
        self._queue.put(entry)

    def flush(self, timeout: float | None = 60.0) -> None:
        """Wait until every entry submitted before this call is committed."""
        self._check()
        done = threading.Event()
        self._queue.put(done)
        if not done.wait(timeout):
            raise AuditError(f"audit writer did not commit within {timeout} s")
        self._check()

    def close(self) -> None:
        """Commit what is queued, then stop the thread. Raises if a commit had failed."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise AuditError(f"audit writer failed: {self._error}")

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self) -> None:
        if self._error is not None:
            raise AuditError(f"audit writer failed: {self._error}")
        if self._closed:
            raise AuditError("audit writer is closed")

    def _run(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        stop = False
        while not stop:
            batch: list[AuditEntry] = []
            waiters: list[threading.Event] = []
            item = get()
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= self._max_batch:
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            if batch and self._error is None:
                try:
                    self._log._write(batch)
                    self.committed += len(batch)
                except Exception as exc:  # reported to the caller by submit/flush/close
                    self._error = " ".join(f"{type(exc).__name__}: {exc}".split())
            for waiter in waiters:
                waiter.set()
