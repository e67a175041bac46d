"""The chain logic once (sequence, links, checkpoints) over a few storage primitives per backend."""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from corrigible.containment.audit._checkpoints import Checkpoint
from corrigible.containment.audit._keys import as_signing_key, key_id
from corrigible.containment.audit._records import (
    RECORD_COLUMNS,
    AuditDecision,
    AuditEntry,
    AuditRecord,
)
from corrigible.containment.audit._verify import chain_rows
from corrigible.errors import AuditError

# --------------------------------------------------------------------------------------------
# the store: chain logic once, storage per backend


class AuditStore(abc.ABC):
    """An append-only, hash-chained, periodically signed log of guard decisions, in some storage.

    The chain logic lives here once — sequence numbers, links, automatic checkpoints every
    ``checkpoint_every`` records, on-demand checkpoints — so the SQLite and PostgreSQL logs
    cannot drift apart; a backend supplies a handful of storage primitives (the underscore
    methods below). Callers should type against this class: :func:`open_audit_log
    <corrigible.containment.audit.open_audit_log>` returns one, and :class:`AuditWriter`
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
        decision: AuditDecision,
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
