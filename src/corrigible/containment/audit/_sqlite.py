"""The audit log on SQLite: the embedded default, safe for several processes on one host.

Why SQLite and how it is used:

* **One chain across processes.** ``append`` reads the tail and inserts inside ``BEGIN
  IMMEDIATE``, which takes the database's write lock *before* the read, so two processes (or
  threads) appending to one file always extend the same tail and the chain stays single.
  Waiting writers queue on SQLite's busy timeout (60 s by default).
* **Speed.** WAL journal, ``synchronous=NORMAL``, one prepared ``INSERT`` per batch:
  :meth:`AuditLog.append_many` writes a whole batch in one transaction (a group commit).
* **Durability, precisely.** In WAL mode with ``synchronous=NORMAL`` every commit is atomic and
  the database cannot be corrupted by a crash of the process, the OS or the power. A *process*
  crash (even SIGKILL) loses nothing that was committed: the WAL is already written to the OS.
  A power cut or OS crash may lose the last commits made since the WAL was last synced (SQLite
  syncs it at each WAL checkpoint): the chain then simply ends earlier, it never holds half a
  record. ``durable=True`` selects ``synchronous=FULL`` — an fsync per commit, so nothing
  committed is ever lost, at a much lower rate. On-demand :meth:`AuditLog.checkpoint` always
  commits with ``FULL``, so a checkpoint exported for safekeeping never vouches for records a
  power cut could take back (which would later read as truncation).
* **Schema.** ``meta`` (format, schema version, log id), ``records`` (one row per decision,
  ``seq`` is the primary key) and ``checkpoints`` (signed checkpoints, kept in the log too).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from corrigible._sqlite import immediate, open_shared
from corrigible.containment.audit._checkpoints import Checkpoint
from corrigible.containment.audit._records import (
    CHECKPOINT_COLUMNS,
    GENESIS_HASH,
    LOG_FORMAT,
    LOG_SCHEMA_VERSION,
    RECORD_COLUMNS,
)
from corrigible.containment.audit._store import AuditStore
from corrigible.containment.audit._verify import (
    ChainScanner,
    VerifyReport,
    check_meta,
    checkpoint_row,
    conclude_verification,
    new_meta,
    parse_checkpoints,
    verify_inputs,
    watched_seqs,
)
from corrigible.containment.audit._writer import AuditWriter
from corrigible.errors import AuditError, AuditInputError

__all__ = ["AuditLog", "AuditWriter", "verify"]  # AuditWriter lives in audit.py; kept importable

FORMAT = LOG_FORMAT
SCHEMA_VERSION = LOG_SCHEMA_VERSION

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    decision TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    approver TEXT,
    context_version TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    log_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""
_COLUMNS = ", ".join(RECORD_COLUMNS)
_INSERT = f"INSERT INTO records ({_COLUMNS}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"
_CHECKPOINT_COLUMNS = CHECKPOINT_COLUMNS
_INSERT_CHECKPOINT = (
    f"INSERT INTO checkpoints ({', '.join(_CHECKPOINT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class AuditLog(AuditStore):
    """The audit log in one SQLite file (see :class:`AuditStore` for the chain and the keys).

    ``durable=True`` commits every append with ``synchronous=FULL`` (see the module docstring);
    ``timeout`` is how long a writer waits for another process's write lock, in seconds.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        signing_key: Ed25519PrivateKey | Path | str | None = None,
        checkpoint_every: int | None = 1000,
        durable: bool = False,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(str(path), signing_key=signing_key, checkpoint_every=checkpoint_every)
        self.path = Path(path)
        if self.path.is_dir():
            raise AuditInputError(f"{self.path}: is a directory, not an audit log")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = "FULL" if durable else "NORMAL"
        self._db, self.log_id = open_shared(
            self.path,
            noun="audit log",
            error=AuditInputError,
            init=self._init_schema,
            timeout=timeout,
            synchronous=self._synchronous,
        )

    def _init_schema(self, db: sqlite3.Connection) -> str:
        db.execute("BEGIN IMMEDIATE")
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                log_id = uuid.uuid4().hex
                db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", new_meta(log_id))
            else:
                log_id = _check_meta(db, self.path)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return log_id

    # ----------------------------------------------------------------------------------------
    # storage primitives for AuditStore

    @contextlib.contextmanager
    def _transaction(self, doing: str, *, durable: bool) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ROLLBACK on any error, SQLite's as AuditError.

        IMMEDIATE takes the write lock before the tail is read, which is what keeps several
        writers on one chain. ``durable`` commits with ``synchronous=FULL``.
        """
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._immediate(doing):
                yield
        finally:
            if durable:
                self._db.execute(f"PRAGMA synchronous={self._synchronous}")

    def _immediate(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return immediate(self._db, lambda exc: AuditError(f"{self.path}: cannot {doing} ({exc})"))

    def _tail(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        self._db.executemany(_INSERT, rows)

    def _insert_checkpoints(self, checkpoints: list[Checkpoint]) -> None:
        self._db.executemany(_INSERT_CHECKPOINT, [checkpoint_row(c) for c in checkpoints])

    def _read_checkpoints(self, seq: int | None = None) -> list[Checkpoint]:
        where, args = ("seq = ?", (seq,)) if seq is not None else ("1", ())
        cursor = self._db.execute(
            f"SELECT {', '.join(_CHECKPOINT_COLUMNS)} FROM checkpoints WHERE {where} ORDER BY id",
            args,
        )
        return [Checkpoint(**dict(zip(_CHECKPOINT_COLUMNS, row, strict=True))) for row in cursor]

    def _page(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        return self._db.execute(
            f"SELECT {_COLUMNS} FROM records WHERE seq >= ? ORDER BY seq LIMIT ?", (start, limit)
        ).fetchall()

    def _last_row(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            f"SELECT {_COLUMNS} FROM records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return row

    def _count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def _close(self) -> None:
        self._db.close()


def _check_meta(db: sqlite3.Connection, path: Path) -> str:
    """The log id of an existing audit log; AuditInputError when the file is something else."""
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        raise AuditInputError(f"{path}: not an audit log (no meta table)") from None
    return check_meta(meta, str(path))


def verify(
    path: Path | str,
    checkpoint: Checkpoint | Path | str | None = None,
    public_key: Ed25519PublicKey | Path | str | None = None,
) -> VerifyReport:
    """Check a log end to end in one ordered scan; never writes to it.

    Detects an edited field, a deleted, inserted or moved record, and a stored checkpoint whose
    signature fails or whose hash no longer matches. Given ``checkpoint`` (a copy kept
    elsewhere), also truncation below its seq and a rewrite of the chain up to it, even when
    the rewritten chain is consistent. Given ``public_key``, every checkpoint must be signed by
    that key; without it, each checkpoint's own embedded key is used and the report says so.

    Raises :class:`AuditInputError` (exit code 2) when the input is unusable: a missing file,
    something that is not an audit log, an unreadable checkpoint or key.
    """
    started = time.perf_counter()
    path = Path(path)
    external, trusted = verify_inputs(checkpoint, public_key)
    db = _open_read_only(path)
    try:
        db.execute("BEGIN")  # one snapshot for records and checkpoints alike
        log_id = _check_meta(db, path)
        stored, malformed = parse_checkpoints(
            db.execute(f"SELECT id, {', '.join(_CHECKPOINT_COLUMNS)} FROM checkpoints ORDER BY id")
        )
        scanner = ChainScanner(watched_seqs(stored, external))
        try:
            cursor = db.execute(f"SELECT {_COLUMNS} FROM records ORDER BY seq")
        except sqlite3.DatabaseError as exc:
            raise AuditInputError(f"{path}: not an audit log ({exc})") from None
        while True:
            rows = cursor.fetchmany(4096)
            if not rows:
                break
            scanner.scan(rows)
        scanner.finish()
        db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise AuditInputError(f"{path}: not a readable audit log ({exc})") from None
    finally:
        db.close()
    return conclude_verification(
        scanner,
        where=str(path),
        log_id=log_id,
        stored=stored,
        malformed=malformed,
        external=external,
        trusted=trusted,
        started=started,
    )


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise AuditInputError(f"{path}: no such file")
    if path.is_dir():
        raise AuditInputError(f"{path}: is a directory, not an audit log")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA busy_timeout=60000")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise AuditInputError(f"{path}: not an audit log ({exc})") from None
    return db
