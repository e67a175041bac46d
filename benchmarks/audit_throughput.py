"""Audit log throughput: appends/s and the time to verify a million records, SQLite or PostgreSQL.

Targets (containment issue §6): >= 20,000 appends/s (SQLite) and verifying 1,000,000 records
in < 10 s. Every figure printed is measured in this run, in a fresh temporary directory (SQLite)
or on a throwaway PostgreSQL server started for the run (``--backend postgres``: Debian's
binaries, fsync on, reached over TCP on 127.0.0.1 like a server on another host would be, each
log in its own database). Every append path includes building the entry (hashing the
arguments, validating the fields), which is work a real caller pays for.

    python benchmarks/audit_throughput.py                     # SQLite: about a minute on 2 cores
    python benchmarks/audit_throughput.py --records 200000    # smaller verify log
    python benchmarks/audit_throughput.py --backend postgres  # same paths on PostgreSQL
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from corrigible.containment import (
    AuditEntry,
    AuditLog,
    AuditStore,
    AuditWriter,
    VerifyReport,
    generate_key,
    verify,
)

APPEND_TARGET = 20_000
VERIFY_TARGET_S = 10.0


def entry(i: int) -> AuditEntry:
    """A realistic decision: a mail tool call with a few hundred bytes of arguments."""
    return AuditEntry.for_call(
        tool="email",
        arguments={
            "to": f"user{i % 97}@halcyon-dynamics.com",
            "subject": f"Quarterly numbers, part {i}",
            "body": "Please find the figures below. " * 8,
        },
        decision="allow" if i % 5 else "block",
        rule_id=f"mail-boundary-{i % 13}",
        reason="recipient inside the company boundary"
        if i % 5
        else "recipient domain outside the boundary",
        policy_version="policy-2026-11-22",
        agent_id=f"agent-{i % 4}",
        context_version="ctx-41",
    )


def _machine_busy_seconds() -> float | None:
    """Busy CPU-seconds of the whole machine since boot, from /proc/stat (Linux only)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(run: Callable[[], int]) -> tuple[int, float, float | None]:
    """(records, wall seconds, cores other processes kept busy meanwhile).

    The machine may be shared: a figure taken while another job holds a core is not the same
    figure, so every row says how busy the rest of the machine was.
    """
    busy0, own0 = _machine_busy_seconds(), time.process_time()
    started = time.perf_counter()
    n = run()
    wall = time.perf_counter() - started
    busy1, own1 = _machine_busy_seconds(), time.process_time()
    others = None
    if busy0 is not None and busy1 is not None:
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / wall
    return n, wall, others


def single(log: AuditStore, n: int) -> int:
    for i in range(n):
        log.append(
            tool="email",
            arguments={"to": f"user{i % 97}@halcyon-dynamics.com", "body": "x" * 256},
            decision="allow",
            rule_id="mail-boundary",
            reason="recipient inside the company boundary",
            policy_version="policy-2026-11-22",
            agent_id="agent-0",
        )
    return n


def batched(log: AuditStore, n: int, size: int) -> int:
    for start in range(0, n, size):
        log.append_many([entry(i) for i in range(start, min(n, start + size))])
    return n


def background(log: AuditStore, n: int) -> int:
    with AuditWriter(log) as writer:
        for i in range(n):
            writer.submit(entry(i))
        writer.flush()
    return n


def row(label: str, n: int, seconds: float, others: float | None, note: str = "") -> float:
    rate = n / seconds
    busy = "   n/a" if others is None else f"{others:>6.2f}"
    print(f"{label:<38} {n:>9,} {seconds:>8.2f} s {rate:>10,.0f}/s {busy}  {note}".rstrip())
    return rate


class Backend(Protocol):
    """Where the benchmark's logs live: one named log per measured path."""

    description: str
    """Printed in the header: the store, its version and its settings."""
    settings: str
    """The default commit mode, for the appends table's title."""
    others_note: str

    def open(self, name: str, **kwargs: Any) -> AuditStore: ...

    def verify(self, name: str) -> VerifyReport: ...

    def size_mb(self, name: str) -> float: ...


class SqliteBackend:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"SQLite {sqlite3.sqlite_version}"
        self.settings = "WAL, synchronous=NORMAL unless noted"
        self.others_note = (
            "others = cores that other processes kept busy meanwhile (shared machine)"
        )

    def open(self, name: str, **kwargs: Any) -> AuditStore:
        return AuditLog(self.directory / f"{name}.db", **kwargs)

    def verify(self, name: str) -> VerifyReport:
        return verify(self.directory / f"{name}.db")

    def size_mb(self, name: str) -> float:
        return (self.directory / f"{name}.db").stat().st_size / 1e6


class PostgresBackend:
    def __init__(self, server_url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.server_url = server_url
        with psycopg.connect(server_url) as db:
            version = db.execute("SHOW server_version").fetchone()
        self.description = (
            f"PostgreSQL {version[0] if version else '?'} (throwaway server, fsync on, "
            f"TCP 127.0.0.1), psycopg {psycopg.__version__}"
        )
        self.settings = "synchronous_commit=off unless noted"
        self.others_note = (
            "others = cores that other processes kept busy meanwhile, "
            "the PostgreSQL server's included"
        )

    def url(self, name: str) -> str:
        parts = urllib.parse.urlsplit(self.server_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    def open(self, name: str, **kwargs: Any) -> AuditStore:
        from corrigible.containment import PostgresAuditLog

        with self._psycopg.connect(self.server_url, autocommit=True) as db:
            exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                db.execute(f"CREATE DATABASE {name}")
        return PostgresAuditLog(self.url(name), **kwargs)

    def verify(self, name: str) -> VerifyReport:
        from corrigible.containment import verify_postgres

        return verify_postgres(self.url(name))

    def size_mb(self, name: str) -> float:
        with self._psycopg.connect(self.server_url) as db:
            size = db.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
        return float(size[0]) / 1e6 if size else 0.0


@contextlib.contextmanager
def backend_for(kind: str, directory: Path) -> Iterator[Backend]:
    if kind == "sqlite":
        yield SqliteBackend(directory)
        return
    from corrigible.testing.postgres import throwaway_postgres

    # fsync on: the figures include the disk, as a production server's would
    with throwaway_postgres(fsync=True) as url:
        yield PostgresBackend(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres"), default="sqlite", help="the store to measure"
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="size of the verify log")
    parser.add_argument(
        "--single", type=int, default=None, help="single appends to time (20,000; postgres 5,000)"
    )
    parser.add_argument("--batched", type=int, default=200_000, help="batched appends to time")
    args = parser.parse_args()
    n_single = args.single or (20_000 if args.backend == "sqlite" else 5_000)

    with tempfile.TemporaryDirectory() as tmp, backend_for(args.backend, Path(tmp)) as backend:
        d = Path(tmp)
        print(
            f"Python {platform.python_version()}, {backend.description}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
        )
        print(f"appends ({backend.settings}), target >= {APPEND_TARGET:,}/s")
        print(f"{'path':<38} {'records':>9} {'time':>10} {'rate':>12} {'others':>6}")
        key = d / "audit.key"
        generate_key(key)
        best = 0.0
        with backend.open("single", signing_key=key) as log:
            row("append(), one transaction each", *timed(lambda: single(log, n_single)))
        with backend.open("durable", signing_key=key, durable=True) as log:
            row(
                "append(), durable=True",
                *timed(lambda: single(log, 500)),
                "(a flush to disk per commit: bound by the disk)",
            )
        for size in (100, 1000):
            with backend.open(f"batch{size}", signing_key=key) as log:
                rate = row(
                    f"append_many(), batches of {size}",
                    *timed(functools.partial(batched, log, args.batched, size)),
                )
                best = max(best, rate)
        with backend.open("writer", signing_key=key) as log:
            rate = row(
                "AuditWriter.submit() + flush()",
                *timed(lambda: background(log, args.batched)),
                "(background group commit)",
            )
            best = max(best, rate)
        print("  every path includes AuditEntry creation (argument hashing, validation);")
        print(f"  {backend.others_note}")
        verdict = "MET" if best >= APPEND_TARGET else "NOT MET"
        print(f"append target >= {APPEND_TARGET:,}/s: {verdict} (best: {best:,.0f}/s)")

        print()
        print(f"verify, target < {VERIFY_TARGET_S:g} s for 1,000,000 records")
        pool = [entry(i) for i in range(10_000)]
        started = time.perf_counter()
        with backend.open("big", signing_key=key) as log:
            done = 0
            while done < args.records:
                chunk = pool[: min(len(pool), args.records - done)]
                log.append_many(chunk)
                done += len(chunk)
        build = time.perf_counter() - started
        print(f"built {args.records:,} records in {build:.1f} s ({backend.size_mb('big'):,.0f} MB)")
        holder: list[VerifyReport] = []

        def check() -> int:
            holder.append(backend.verify("big"))
            return holder[0].records

        _, _, others = timed(check)
        report = holder[0]
        assert report.ok, report.findings
        per_million = report.elapsed_s * 1_000_000 / max(1, report.records)
        busy = "n/a" if others is None else f"{others:.2f}"
        print(
            f"verify {report.records:,} records and {report.checkpoints_verified} checkpoints: "
            f"{report.elapsed_s:.2f} s ({report.records / report.elapsed_s:,.0f} records/s; "
            f"{per_million:.2f} s per million; others {busy})"
        )
        verdict = "MET" if per_million < VERIFY_TARGET_S else "NOT MET"
        print(f"verify target < {VERIFY_TARGET_S:g} s per million records: {verdict}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
