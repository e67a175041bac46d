"""The results store of a run directory: one SQLite row per planned sample.

SQLite gives us what a crash-safe, resumable sweep needs without hand-written file juggling:
each record is committed atomically (a SIGKILL leaves either the whole record or none), the
primary key makes "every planned sample exactly once" a property of the schema, and a finished
sample is never overwritten by a later error.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from corrigible.errors import RunDirError

SCHEMA_VERSION = 1
Status = Literal["ok", "error"]

META_PLANNED = "planned"
"""Meta key: how many samples the sweep plans (written by each ``corrigible run``)."""
META_VERSION = "corrigible_version"
"""Meta key: the corrigible version of the last ``corrigible run`` into the store."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    family TEXT NOT NULL,
    condition TEXT NOT NULL,
    sample INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    attempts INTEGER NOT NULL DEFAULT 1,
    updated_at REAL NOT NULL,
    record TEXT NOT NULL
);
"""


class ResultsStore:
    """Append/upsert sample records; read them back in a stable order."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (or, for writing, create) the store. ``read_only`` never creates or changes
        anything: a zero-byte or damaged file is an error, not a fresh empty store."""
        self.path = Path(path)
        try:
            if read_only:
                self._db = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=60
                )
                tables = {
                    name
                    for (name,) in self._db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    )
                }
                if not {"meta", "samples"} <= tables:
                    raise RunDirError(
                        f"{self.path}: not a results store (no samples table); "
                        "was it written by `corrigible run`?"
                    )
            else:
                # several worker processes may write at once: wait for the lock rather than fail
                self._db = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=60
                )
                self._db.execute("PRAGMA busy_timeout=60000")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None and not read_only:
                self._db.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif row is not None and int(row[0]) != SCHEMA_VERSION:
                raise RunDirError(
                    f"{self.path}: results store has schema version {row[0]}, this corrigible reads {SCHEMA_VERSION}"
                )
        except sqlite3.DatabaseError as exc:
            raise RunDirError(f"{self.path}: not a readable results store ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, record: dict[str, Any]) -> None:
        """Insert or update one sample. An ``error`` never replaces an ``ok`` record."""
        status: Status = record["status"]
        payload = json.dumps(record, ensure_ascii=False, default=str)
        self._db.execute(
            """
            INSERT INTO samples (id, model, family, condition, sample, status, attempts, updated_at, record)
            VALUES (:id, :model, :family, :condition, :sample, :status, 1, :now, :record)
            ON CONFLICT(id) DO UPDATE SET
                status = excluded.status,
                record = excluded.record,
                updated_at = excluded.updated_at,
                attempts = samples.attempts + 1
            WHERE samples.status != 'ok'
            """,
            {
                "id": record["id"],
                "model": record["model"],
                "family": record["family"],
                "condition": record["condition"],
                "sample": record["sample"],
                "status": status,
                "now": time.time(),
                "record": payload,
            },
        )

    def statuses(self) -> dict[str, Status]:
        return {row[0]: row[1] for row in self._db.execute("SELECT id, status FROM samples")}

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "error": 0}
        for status, n in self._db.execute("SELECT status, COUNT(*) FROM samples GROUP BY status"):
            out[status] = n
        return out

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, ordered by model, condition and sample number. A record that cannot be
        read back (damaged on disk) comes back as an error record naming the problem, so one bad
        row is one invalid sample, not a crash of every command that reads the run."""
        cursor = self._db.execute(
            "SELECT id, model, family, condition, sample, record, attempts FROM samples "
            "ORDER BY model, condition, sample"
        )
        for ident, model, family, condition, sample, payload, attempts in cursor:
            try:
                record = json.loads(payload)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, RecursionError, TypeError) as exc:
                record = {
                    "id": ident,
                    "model": model,
                    "family": family,
                    "condition": condition,
                    "sample": sample,
                    "status": "error",
                    "error": f"the stored record is unreadable ({str(exc)[:120]})",
                }
            record["attempts"] = attempts
            yield record

    def time_span(self) -> tuple[str | None, str | None]:
        """The earliest ``timings.started_at`` and latest ``timings.completed_at`` of the
        records (ISO 8601 strings, which sort as times); a damaged record is skipped."""
        row = self._db.execute(
            "SELECT min(CASE WHEN json_valid(record) "
            "THEN json_extract(record, '$.timings.started_at') END), "
            "max(CASE WHEN json_valid(record) "
            "THEN json_extract(record, '$.timings.completed_at') END) FROM samples"
        ).fetchone()
        return (
            row[0] if isinstance(row[0], str) else None,
            row[1] if isinstance(row[1], str) else None,
        )

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])
