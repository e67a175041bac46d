"""The approval queue: requests, decisions and timeouts in a shared SQLite file (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from corrigible._sqlite import immediate, open_shared
from corrigible.containment import audit as _audit
from corrigible.containment.approvals._request import (
    ApprovalAudit,
    ApprovalRequest,
    ApprovalResult,
    _create_private,
    _iso,
    _new_id,
    check_approver,
    check_note,
    seconds_text,
)
from corrigible.containment.guard import GuardDecision
from corrigible.errors import (
    ApprovalError,
    ApprovalInputError,
    ApprovalStoreError,
    AuditError,
    NotPendingError,
    UnknownApprovalError,
    describe_validation_error,
)

log = logging.getLogger(__name__)

APPROVALS_FORMAT = "corrigible-approvals"
"""``meta.format`` of an approvals database: how a decider knows it opened the right file."""
SCHEMA_VERSION = 1


_FIRST_POLL = 0.02
_WITHDRAWN = "withdrawn: the waiting caller stopped before a decision"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    context_version TEXT,
    created_at TEXT NOT NULL,
    created_unix REAL NOT NULL,
    expires_at TEXT NOT NULL,
    expires_unix REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    approver TEXT,
    note TEXT,
    decided_at TEXT,
    audited INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_by_status ON requests (status, created_unix)
"""

_COLUMNS = (
    "id",
    "tool",
    "arguments",
    "arguments_sha256",
    "rule_id",
    "reason",
    "policy_version",
    "agent_id",
    "context_version",
    "created_at",
    "created_unix",
    "expires_at",
    "expires_unix",
    "status",
    "approver",
    "note",
    "decided_at",
    "audited",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM requests"


# -- the queue ------------------------------------------------------------------------------------


class ApprovalQueue:
    """Pending approvals in a SQLite file shared by the waiting agent side and the deciders.

    ``path`` is created (mode 0600) when missing unless ``create=False`` — the deciders' tools
    pass ``False`` so that a typo in ``--db`` is an error, not a new empty queue. ``audit`` is
    where the waiting side records outcomes (see the module docstring); ``poll`` caps the
    interval between two looks at a waited-on request (it starts at 20 ms and grows).

    One object may be shared by threads (each call takes a lock) and used from an event loop:
    every database call is a single indexed statement, short enough not to stall the loop.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        audit: ApprovalAudit | None = None,
        create: bool = True,
        poll: float = 0.25,
        timeout: float = 30.0,
    ) -> None:
        if not (poll > 0 and math.isfinite(poll)):
            raise ApprovalInputError(f"poll must be a positive number of seconds, got {poll!r}")
        self.path = Path(path)
        self.audit = audit
        self._poll = poll
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise ApprovalStoreError(f"{self.path}: is a directory, not an approvals database")
        if not self.path.exists():
            if not create:
                raise ApprovalStoreError(
                    f"{self.path}: no such approvals database (the waiting side creates it)"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(self.path)
            except OSError as exc:
                raise ApprovalStoreError(
                    f"{self.path}: cannot create approvals database ({exc.strerror})"
                ) from None
        self._db, _ = open_shared(
            self.path,
            noun="approvals database",
            error=ApprovalStoreError,
            init=self._init_schema,
            timeout=timeout,
        )

    def _init_schema(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("format", APPROVALS_FORMAT),
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("created_at", _iso(time.time())),
                    ],
                )
            else:
                self._check_meta(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _check_meta(self, db: sqlite3.Connection) -> None:
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            raise ApprovalStoreError(
                f"{self.path}: not an approvals database (no meta table)"
            ) from None
        if meta.get("format") != APPROVALS_FORMAT:
            raise ApprovalStoreError(
                f"{self.path}: not an approvals database (format {meta.get('format')!r}, "
                f"expected {APPROVALS_FORMAT!r})"
            )
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise ApprovalStoreError(
                f"{self.path}: approvals database has schema version "
                f"{meta.get('schema_version')}, this corrigible reads {SCHEMA_VERSION}"
            )

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection (the audit log, if any, is the caller's to close)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ApprovalQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the waiting side -----------------------------------------------------------------------

    def submit(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: GuardDecision,
        agent_id: str,
        timeout: float,
        context_version: str | None = None,
    ) -> ApprovalRequest:
        """Put a call the guard sent to a human into the queue; it expires after ``timeout`` s.

        Refuses a decision whose effect is not ``require_approval``: asking a human about a
        call the guard blocked would turn a block into an approval.
        """
        effect = getattr(decision, "effect", None)
        if effect != "require_approval":
            raise ApprovalInputError(
                f"submit takes a require_approval decision, got effect {effect!r}"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ApprovalInputError(f"timeout must be a number of seconds, got {timeout!r}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ApprovalInputError(f"timeout must be a positive number of seconds, got {timeout}")
        if not isinstance(arguments, Mapping):
            raise ApprovalInputError(f"arguments must be a mapping, not {type(arguments).__name__}")
        try:
            encoded = _audit.canonical_json(dict(arguments)).decode("ascii")
            digest = _audit.hash_arguments(arguments)
        except AuditError as exc:
            raise ApprovalInputError(f"arguments of {tool!r}: {exc}") from None
        now = time.time()
        expires = now + float(timeout)
        try:
            request = ApprovalRequest(
                id=_new_id(),
                tool=tool,
                arguments=json.loads(encoded),
                arguments_sha256=digest,
                rule_id=decision.rule_id,
                reason=decision.reason,
                policy_version=decision.policy_version,
                agent_id=agent_id,
                context_version=context_version,
                created_at=_iso(now),
                expires_at=_iso(expires),
            )
        except ValidationError as exc:
            raise ApprovalInputError(
                f"approval request: {describe_validation_error(exc)}"
            ) from None
        for _ in range(5):
            try:
                with self._write("submit an approval request"):
                    self._db.execute(
                        f"INSERT INTO requests ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                        (
                            request.id,
                            request.tool,
                            encoded,
                            digest,
                            request.rule_id,
                            request.reason,
                            request.policy_version,
                            request.agent_id,
                            request.context_version,
                            request.created_at,
                            now,
                            request.expires_at,
                            expires,
                            "pending",
                            None,
                            None,
                            None,
                            0,
                        ),
                    )
                break
            except _IdTaken:
                request = request.model_copy(update={"id": _new_id()})
        else:  # pragma: no cover - 48 random bits colliding five times running
            raise ApprovalError(f"{self.path}: could not find a free request id")
        log.info(
            "approval %s requested: %s by %s (rule %s)",
            request.id,
            request.tool,
            agent_id,
            request.rule_id,
        )
        return request

    def wait(self, request_id: str, timeout: float | None = None) -> ApprovalResult:
        """Block until the request is decided or expires; an expiry is a denial.

        ``timeout`` (seconds) may end the wait before the request's own ``expires_at``; either
        way the request is then marked ``expired``, so that no one approves a call that will
        never run. An interrupt (Ctrl-C) withdraws the request the same way. When the queue
        has an audit log, the outcome is appended to it once.
        """
        steps = self._steps(request_id, timeout)
        while True:
            try:
                delay = next(steps)
            except StopIteration as done:
                result: ApprovalResult = done.value
                return result
            try:
                time.sleep(delay)
            except BaseException:
                self._withdraw(request_id)
                raise

    async def decide(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: GuardDecision,
        agent_id: str,
        timeout: float,
        context_version: str | None = None,
    ) -> ApprovalResult:
        """:meth:`submit` then wait for the outcome without blocking the event loop.

        The wait sleeps with ``asyncio.sleep`` between short database reads (no thread). If
        the awaiting task is cancelled, the request is withdrawn (marked ``expired``, audited
        as a denial) before the cancellation propagates.
        """
        request = self.submit(
            tool=tool,
            arguments=arguments,
            decision=decision,
            agent_id=agent_id,
            timeout=timeout,
            context_version=context_version,
        )
        steps = self._steps(request.id, None)
        while True:
            try:
                delay = next(steps)
            except StopIteration as done:
                result: ApprovalResult = done.value
                return result
            try:
                await asyncio.sleep(delay)
            except BaseException:
                self._withdraw(request.id)
                raise

    def _steps(
        self, request_id: str, timeout: float | None
    ) -> Generator[float, None, ApprovalResult]:
        """The wait as a generator of sleep durations, shared by :meth:`wait` and :meth:`decide`.

        Wall-clock time (not monotonic) on purpose: ``expires_at`` is compared with the same
        clock by :meth:`approve` in other processes.
        """
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not timeout >= 0  # also refuses NaN
        ):
            raise ApprovalInputError(
                f"timeout must be a non-negative number of seconds or None, got {timeout!r}"
            )
        started = time.time()
        delay = _FIRST_POLL
        while True:
            row = self._row(request_id)
            if row["status"] != "pending":
                return self._settle(row)
            created, expires = float(row["created_unix"]), float(row["expires_unix"])
            deadline = expires if timeout is None else min(expires, started + timeout)
            now = time.time()
            if now >= deadline:
                note = f"no decision within {seconds_text(deadline - created)} s"
                return self._settle(self._expire(request_id, note))
            yield min(delay, deadline - now)
            delay = min(delay * 1.5, self._poll)

    def _expire(self, request_id: str, note: str) -> dict[str, Any]:
        """Mark a still-pending request expired; return the row as it now stands.

        The ``status = 'pending'`` condition makes this the losing or winning side of a race
        with an approver, never both: if a decision landed first, that decision is returned.
        """
        with self._write("expire an approval request"):
            self._db.execute(
                "UPDATE requests SET status = 'expired', note = ?, decided_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (note, _iso(time.time()), request_id),
            )
        return self._row(request_id)

    def _withdraw(self, request_id: str) -> None:
        """The waiter is going away (interrupt, cancellation): expire and audit, never raise."""
        try:
            self._settle(self._expire(request_id, _WITHDRAWN))
        except Exception as exc:  # already unwinding: report, do not mask the interruption
            log.warning("approval %s: could not withdraw the request: %s", request_id, exc)

    def _settle(self, row: dict[str, Any]) -> ApprovalResult:
        """Turn a decided row into the waiter's result; audit it if not audited yet."""
        status = row["status"]
        rid = row["id"]
        note = row["note"]
        approver = row["approver"]
        if status == "approved":
            reason = f"approved by {approver} (approval {rid})"
            if note:
                reason += f": {note}"
        elif status == "denied":
            reason = f"denied by {approver} (approval {rid})"
            if note:
                reason += f": {note}"
        else:
            reason = f"{note or 'no decision in time'} (approval {rid})"
        result = ApprovalResult(
            approved=status == "approved",
            status=status,
            approver=approver,
            note=note,
            request_id=rid,
            reason=reason,
        )
        if self.audit is not None and not row["audited"]:
            # audit first, then flag: a crash in between audits twice rather than never
            self.audit.append(
                tool=row["tool"],
                arguments=json.loads(row["arguments"]),
                decision="approved" if result.approved else "denied",
                rule_id=row["rule_id"],
                reason=reason,
                policy_version=row["policy_version"],
                agent_id=row["agent_id"],
                approver=approver,
                context_version=row["context_version"],
            )
            with self._write("mark an approval audited"):
                self._db.execute("UPDATE requests SET audited = 1 WHERE id = ?", (rid,))
        log.info("approval %s: %s", rid, reason)
        return result

    # -- the deciding side ----------------------------------------------------------------------

    def approve(self, request_id: str, approver: str, note: str | None = None) -> ApprovalRequest:
        """Let the call run. Fails with :class:`NotPendingError` unless the request is pending
        and not yet past ``expires_at``; :class:`UnknownApprovalError` for an unknown id."""
        return self._decide(request_id, "approved", approver, note)

    def deny(self, request_id: str, approver: str, note: str | None = None) -> ApprovalRequest:
        """Refuse the call. Same conditions as :meth:`approve`."""
        return self._decide(request_id, "denied", approver, note)

    def _decide(
        self,
        request_id: str,
        status: Literal["approved", "denied"],
        approver: str,
        note: str | None,
    ) -> ApprovalRequest:
        who = check_approver(approver)
        text = check_note(note)
        verb = "approved" if status == "approved" else "denied"
        expired_at: str | None = None
        with self._write(f"record that {request_id} was {verb}"):
            row = self._fetch(request_id)
            if row is None:
                raise UnknownApprovalError(f"{self.path}: no approval request {request_id!r}")
            if row["status"] != "pending":
                raise NotPendingError(_not_pending(row, verb))
            now = time.time()
            if now >= float(row["expires_unix"]):
                # The waiter may be dead: the expiry is recorded here, and committed, so that
                # the request reads as expired from now on.
                waited = float(row["expires_unix"]) - float(row["created_unix"])
                self._db.execute(
                    "UPDATE requests SET status = 'expired', note = ?, decided_at = ? WHERE id = ?",
                    (f"no decision within {seconds_text(waited)} s", _iso(now), request_id),
                )
                expired_at = row["expires_at"]
            else:
                self._db.execute(
                    "UPDATE requests SET status = ?, approver = ?, note = ?, decided_at = ? "
                    "WHERE id = ?",
                    (status, who, text, _iso(now), request_id),
                )
        if expired_at is not None:
            raise NotPendingError(
                f"approval {request_id} expired at {expired_at} before it was {verb}; "
                f"the call was denied and can no longer be {verb}"
            )
        log.info("approval %s %s by %s", request_id, verb, who)
        return self.get(request_id)

    # -- reading --------------------------------------------------------------------------------

    def get(self, request_id: str) -> ApprovalRequest:
        """One request, whatever its status; :class:`UnknownApprovalError` if there is none."""
        return self._request(self._row(request_id), time.time())

    def pending(self) -> list[ApprovalRequest]:
        """Requests a human can still decide, oldest first."""
        now = time.time()
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE status = 'pending' AND expires_unix > ? ORDER BY created_unix",
                (now,),
            ).fetchall()
        return [self._request(dict(zip(_COLUMNS, r, strict=True)), now) for r in rows]

    def requests(self, limit: int | None = None) -> list[ApprovalRequest]:
        """Every request, newest first (``limit`` of them): the queue's history."""
        now = time.time()
        sql = f"{_SELECT} ORDER BY created_unix DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [self._request(dict(zip(_COLUMNS, r, strict=True)), now) for r in rows]

    def _request(self, row: dict[str, Any], now: float) -> ApprovalRequest:
        status = row["status"]
        if status == "pending" and now >= float(row["expires_unix"]):
            status = "expired"
        try:
            return ApprovalRequest(
                id=row["id"],
                tool=row["tool"],
                arguments=json.loads(row["arguments"]),
                arguments_sha256=row["arguments_sha256"],
                rule_id=row["rule_id"],
                reason=row["reason"],
                policy_version=row["policy_version"],
                agent_id=row["agent_id"],
                context_version=row["context_version"],
                created_at=row["created_at"],
                expires_at=row["expires_at"],
                status=status,
                approver=row["approver"],
                note=row["note"],
                decided_at=row["decided_at"],
            )
        except (ValidationError, ValueError) as exc:
            raise ApprovalStoreError(
                f"{self.path}: request {row.get('id')!r} is malformed: "
                f"{describe_validation_error(exc)}"
            ) from None

    def _row(self, request_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._fetch(request_id)
        if row is None:
            raise UnknownApprovalError(f"{self.path}: no approval request {request_id!r}")
        return row

    def _fetch(self, request_id: str) -> dict[str, Any] | None:
        """The raw row (caller holds the lock, or is inside :meth:`_write`)."""
        if not isinstance(request_id, str):
            raise UnknownApprovalError(
                f"{self.path}: approval ids are strings, not {type(request_id).__name__}"
            )
        try:
            row = self._db.execute(f"{_SELECT} WHERE id = ?", (request_id,)).fetchone()
        except sqlite3.Error as exc:
            raise ApprovalStoreError(f"{self.path}: cannot read approvals ({exc})") from None
        return None if row is None else dict(zip(_COLUMNS, row, strict=True))

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` under the lock: a compare-and-set on a request.

        IMMEDIATE takes SQLite's write lock before the row is read, so the check (still
        pending? not expired?) and the update cannot be split by another process.
        """

        def failed(exc: sqlite3.Error) -> BaseException:
            if isinstance(exc, sqlite3.IntegrityError) and "requests.id" in str(exc):
                return _IdTaken()
            return ApprovalStoreError(f"{self.path}: cannot {doing} ({exc})")

        with self._lock, immediate(self._db, failed):
            yield


class _IdTaken(Exception):
    """A fresh request id collided with a stored one (astronomically rare): draw another."""


def _not_pending(row: Mapping[str, Any], verb: str) -> str:
    rid, status = row["id"], row["status"]
    if status == "expired":
        why = row["note"] or "no decision in time"
        return f"approval {rid} has expired ({why}); it can no longer be {verb}"
    return (
        f"approval {rid} was already {status} by {row['approver']} at {row['decided_at']}; "
        f"it can no longer be {verb}"
    )
