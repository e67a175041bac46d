"""SQLite files that several processes open at once: the audit log and the approvals queue.

Why a helper: switching a new file to WAL and creating its schema can fail with SQLITE_BUSY
*without* SQLite consulting its busy handler, when another process opens the same new file at the
same moment (seen in CI). Both stores need the same retry, and the same clean one-line errors.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from corrigible.errors import CorrigibleError

T = TypeVar("T")


def open_shared(
    path: Path,
    *,
    noun: str,
    error: type[CorrigibleError],
    init: Callable[[sqlite3.Connection], T],
    timeout: float,
    synchronous: str = "NORMAL",
) -> tuple[sqlite3.Connection, T]:
    """Connect in autocommit mode with a busy timeout, switch to WAL, and run ``init`` (create or
    check the schema) — the last two retried until ``timeout`` while another process holds the
    file. Any failure closes the connection and raises ``error`` naming the file and ``noun``
    (e.g. "audit log"): ``PATH: cannot open audit log (…)`` or ``PATH: not an audit log (…)``."""
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    except sqlite3.Error as exc:
        raise error(f"{path}: cannot open {noun} ({exc})") from None
    try:
        db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={synchronous}")
                return db, init(db)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise error(f"{path}: not an {noun} ({' '.join(str(exc).split())})") from None
    except BaseException:
        db.close()
        raise


@contextlib.contextmanager
def immediate(
    db: sqlite3.Connection, failed: Callable[[sqlite3.Error], BaseException]
) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction: the write lock is taken *before* anything
    is read, so a read-then-write (a chain's tail, a request's status) cannot interleave with
    another process's. Rolled back on any error; SQLite errors become ``failed(exc)``."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise failed(exc) from None
    try:
        yield
        db.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise failed(exc) from None
        raise
