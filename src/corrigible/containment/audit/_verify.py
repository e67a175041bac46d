"""Verification: one single-pass scanner every backend feeds with rows, one report for all."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _json_str  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, ValidationError

from corrigible.containment.audit._checkpoints import Checkpoint, load_checkpoint
from corrigible.containment.audit._keys import as_public_key, key_id
from corrigible.containment.audit._records import (
    _MAX_LISTED,
    CHECKPOINT_COLUMNS,
    GENESIS_HASH,
    LOG_FORMAT,
    LOG_SCHEMA_VERSION,
    AuditEntry,
    chain_hash,
    record_body,
)
from corrigible.errors import AuditInputError, describe_validation_error

# --------------------------------------------------------------------------------------------
# verification

AuditFindingKind = Literal[
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


class AuditFinding(BaseModel):
    """One piece of evidence of tampering, at a record (``seq``) or about the log as a whole."""

    model_config = ConfigDict(frozen=True)

    kind: AuditFindingKind
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
    findings: list[AuditFinding]
    findings_omitted: int
    """Findings beyond the first ones listed (counted, not kept)."""
    notes: list[str]
    elapsed_s: float

    @property
    def first_problem(self) -> AuditFinding | None:
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
        self._findings: list[AuditFinding] = []
        self._omitted = 0
        self._run: tuple[int, int, int] | None = None  # (first seq, last seq, shift)

    def _add(self, kind: AuditFindingKind, seq: int | None, message: str) -> None:
        if len(self._findings) < _MAX_LISTED:
            self._findings.append(AuditFinding(kind=kind, seq=seq, message=message))
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

    def add(self, kind: AuditFindingKind, seq: int | None, message: str) -> None:
        """Add a finding from outside the scan (checkpoint checks)."""
        self._add(kind, seq, message)

    @property
    def findings(self) -> list[AuditFinding]:
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
