"""A background writer that batches audit entries off the guard's path."""

from __future__ import annotations

import queue
import threading

from corrigible.containment.audit._records import AuditEntry
from corrigible.containment.audit._store import AuditStore
from corrigible.errors import AuditError


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
