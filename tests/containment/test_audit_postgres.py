"""The PostgreSQL audit log, against a real throwaway server (``conftest.postgres_url``).

Every tampering case of ``test_audit.py`` is repeated here, done for real with SQL by an
attacker who has the database and the documented hash formula (re-implemented below with
``json`` and ``hashlib``); plus what only a shared server brings: several processes appending
at once, verification while they write, a writer role that may only insert, lock time-outs, the
schema chosen through the URL, and connection failures that never print the password.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from corrigible.cli.app import app as corrigible_app
from corrigible.containment import (
    GENESIS_HASH,
    AuditEntry,
    AuditInputError,
    AuditLog,
    AuditStore,
    AuditWriter,
    Checkpoint,
    PostgresAuditLog,
    generate_key,
    load_checkpoint,
    load_signing_key,
    open_audit_log,
    verify_audit_log,
    verify_postgres,
)
from corrigible.containment.audit import RECORD_COLUMNS, describe_target, mask_passwords, redact_url
from corrigible.containment.audit._postgres import _lock_key
from corrigible.errors import AuditError
from corrigible.testing import postgres as pg_testing

DECISIONS = ["allow", "block", "require_approval", "approved", "denied", "incident"]
N = 50
Statement = str | tuple[str, tuple[Any, ...]]


# ---------------------------------------------------------------------------------------------
# helpers: databases on the session's server, an honest writer, an attacker with SQL


def database_url(server: str, name: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit(
        parts._replace(path=f"/{name}", query=urllib.parse.urlencode(params))
    )


def sql(url: str, *statements: Statement) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        for statement in statements:
            if isinstance(statement, tuple):
                db.execute(*statement)
            else:
                db.execute(statement)


def rows(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as db:
        cursor = db.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM records ORDER BY seq")
        return [dict(zip(RECORD_COLUMNS, r, strict=True)) for r in cursor]


def tables(url: str, schema: str = "public") -> set[str]:
    with psycopg.connect(url) as db:
        found = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        return {r[0] for r in found}


def attacker_hash(record: dict[str, Any]) -> str:
    """The documented formula, written independently of the module under test."""
    fields = {k: v for k, v in record.items() if k != "hash"}
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((record["prev_hash"] + body).encode("ascii")).hexdigest()


def rewrite_chain(url: str, change: dict[str, Any]) -> None:
    """Change every record and recompute the whole chain consistently: a perfect forgery."""
    prev = GENESIS_HASH
    statements: list[Statement] = []
    for record in rows(url):
        record = {**record, **change, "prev_hash": prev}
        record["hash"] = attacker_hash(record)
        prev = record["hash"]
        sets = ", ".join(f"{k} = %s" for k in record if k != "seq")
        values = tuple(v for k, v in record.items() if k != "seq")
        statements.append((f"UPDATE records SET {sets} WHERE seq = %s", (*values, record["seq"])))
    sql(url, *statements)


def fill(log: AuditStore, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        decision = DECISIONS[i % len(DECISIONS)]
        log.append(
            tool="email" if i % 3 else "forward",
            arguments={"to": f"user{i}@halcyon-dynamics.com", "body": f"message {i}"},
            decision=decision,  # type: ignore[arg-type]
            rule_id=f"rule-{i % 7}",
            reason=f"reason for call {i}",
            policy_version="policy-v3",
            agent_id="agent-a",
            approver="alice@halcyon-dynamics.com" if decision in ("approved", "denied") else None,
            context_version="ctx-7" if i % 2 else None,
        )


def entry(i: int, agent: str = "agent-w") -> AuditEntry:
    return AuditEntry.for_call(
        tool="email",
        arguments={"i": i},
        decision="allow",
        rule_id="r",
        reason="ok",
        policy_version="v1",
        agent_id=agent,
    )


def problems(report: Any) -> list[tuple[str, int | None]]:
    return [(f.kind, f.seq) for f in report.findings]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("keys")
    public = generate_key(d / "audit.key")
    return d / "audit.key", public


@pytest.fixture(scope="module")
def pristine(
    postgres_url: str, keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """A 50-record log (checkpoints at 10, 20, …, 50) in its own database, and its checkpoint.

    Returns the database's name (a template for per-test copies) and the exported checkpoint.
    """
    name = f"pristine_{uuid.uuid4().hex[:8]}"
    sql(postgres_url, f"CREATE DATABASE {name}")
    checkpoint = tmp_path_factory.mktemp("pg-pristine") / "checkpoint.json"
    with PostgresAuditLog(
        database_url(postgres_url, name), signing_key=keys[0], checkpoint_every=10
    ) as log:
        fill(log, N)
        log.export_checkpoint(checkpoint)
    return name, checkpoint


@pytest.fixture
def log_url(postgres_url: str, pristine: tuple[str, Path]) -> Iterator[str]:
    """A fresh copy of the pristine log: a database made from it as a template."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    sql(postgres_url, f"CREATE DATABASE {name} TEMPLATE {pristine[0]}")
    yield database_url(postgres_url, name)
    sql(postgres_url, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def checkpoint(pristine: tuple[str, Path]) -> Path:
    """The pristine log's exported checkpoint (kept "elsewhere"; do not modify it)."""
    return pristine[1]


@pytest.fixture
def empty_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database."""
    name = f"e_{uuid.uuid4().hex[:12]}"
    sql(postgres_url, f"CREATE DATABASE {name}")
    yield database_url(postgres_url, name)
    sql(postgres_url, f"DROP DATABASE {name} WITH (FORCE)")


# ---------------------------------------------------------------------------------------------
# the honest path, the same on both stores


@pytest.fixture(params=["sqlite", "postgres"])
def new_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new log goes: a SQLite file, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "audit.db")
    url: str = request.getfixturevalue("empty_url")
    return url


def test_both_stores_behave_alike(new_target: str, keys, tmp_path: Path) -> None:
    with open_audit_log(new_target, signing_key=keys[0], checkpoint_every=4) as log:
        assert isinstance(log, AuditLog if new_target.endswith(".db") else PostgresAuditLog)
        assert len(log) == 0 and log.last() is None and list(log.records()) == []
        record = log.append(
            tool="cancel_alert",
            arguments={"code": "4429"},
            decision="incident",
            rule_id="protected-controls",
            reason="touches the kill switch",
            policy_version="v1",
            agent_id="agent-b",
            context_version="ctx-1",
        )
        assert record.seq == 1 and record.prev_hash == GENESIS_HASH
        assert record.computed_hash() == record.hash
        assert log.last() == record and list(log.records()) == [record] and len(log) == 1
        batch = log.append_many([entry(i) for i in range(8)])
        assert [r.seq for r in batch] == list(range(2, 10)) and batch[0].prev_hash == record.hash
        assert log.append_many([]) == []
        assert [c.seq for c in log.checkpoints()] == [4, 8]
        cp = log.export_checkpoint(tmp_path / "cp.json")
        assert cp.seq == 9 and log.checkpoint() == cp  # the tail already has one
        assert [c.seq for c in log.checkpoints()] == [4, 8, 9]
        assert list(log.records(9)) == [log.last()]
        entries = [entry(i, agent="agent-bg") for i in range(1000)]
        with AuditWriter(log, max_batch=300) as writer:
            for e in entries:
                writer.submit(e)
            writer.flush()
            assert writer.committed == 1000 and len(log) == 1009
        stored = list(log.records(10))
        assert [r.seq for r in stored] == list(range(10, 1010))
        assert [r.arguments_sha256 for r in stored] == [e.arguments_sha256 for e in entries]
        assert [r.timestamp for r in stored] == [e.timestamp for e in entries]  # decision times
    report = verify_audit_log(new_target, checkpoint=tmp_path / "cp.json", public_key=keys[1])
    assert report.ok and report.records == 1009 and report.signed_through == 1008
    assert report.key_source == "pinned" and report.external_checkpoint_seq == 9
    assert load_checkpoint(tmp_path / "cp.json") == cp and cp.problem() is None

    # a failed commit in the background writer fails closed, on either store
    log = open_audit_log(new_target, signing_key=keys[0])
    writer = AuditWriter(log)
    log.close()
    writer.submit(entry(1))
    with pytest.raises(AuditError, match="audit writer failed"):
        writer.flush()
    with pytest.raises(AuditError, match="audit writer failed"):
        writer.close()


def test_clean_log_verifies_with_and_without_a_pinned_key(log_url: str, checkpoint, keys) -> None:
    report = verify_postgres(log_url)
    assert report.ok and report.findings == [] and report.first_problem is None
    assert report.records == N and report.last_seq == N
    assert report.signed_through == N and report.checkpoints_verified == 5
    assert report.key_source == "checkpoint" and report.path == log_url
    pinned = verify_postgres(log_url, checkpoint=checkpoint, public_key=keys[1])
    assert pinned.ok and pinned.key_source == "pinned" and pinned.external_checkpoint_seq == N


def test_records_follow_the_documented_formula_and_the_shared_schema(log_url: str) -> None:
    records = rows(log_url)
    assert [r["seq"] for r in records] == list(range(1, N + 1))
    assert records[0]["prev_hash"] == GENESIS_HASH
    for before, record in zip(records, records[1:], strict=False):
        assert record["prev_hash"] == before["hash"]
    for record in records:
        assert attacker_hash(record) == record["hash"]
    assert tables(log_url) == {"meta", "records", "checkpoints"}
    with psycopg.connect(log_url) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert meta["format"] == "corrigible-audit-log" and meta["schema_version"] == "1"


def test_arguments_are_never_stored_in_clear(empty_url: str, keys) -> None:
    secret = "hunter2-override-8c1f5e"
    with PostgresAuditLog(empty_url, signing_key=keys[0]) as log:
        log.append(
            tool="login",
            arguments={"user": "ops", "password": secret},
            decision="block",
            rule_id="no-credentials",
            reason="credentials never reach the agent",
            policy_version="v1",
            agent_id="agent-c",
        )
    with psycopg.connect(empty_url) as db:
        dump = db.execute("SELECT records::text FROM records").fetchall()
    assert dump and secret not in str(dump)


# ---------------------------------------------------------------------------------------------
# tampering, done for real with SQL


def test_an_edited_field_is_found_at_its_record(log_url: str) -> None:
    sql(log_url, "UPDATE records SET decision = 'allow' WHERE seq = 17")
    report = verify_postgres(log_url)
    assert problems(report) == [("edited", 17)]
    assert report.first_problem is not None and "edited" in report.first_problem.message


def test_every_field_is_covered(log_url: str) -> None:
    original = rows(log_url)
    columns = [c for c in RECORD_COLUMNS if c not in ("seq", "hash")]
    for i, column in enumerate(columns):
        seq = 1 + (i * 7) % N
        before = original[seq - 1][column]
        sql(log_url, (f"UPDATE records SET {column} = %s WHERE seq = %s", ("tampered", seq)))
        report = verify_postgres(log_url)
        assert report.first_problem is not None and report.first_problem.seq == seq, (
            column,
            problems(report),
        )
        sql(log_url, (f"UPDATE records SET {column} = %s WHERE seq = %s", (before, seq)))
    assert verify_postgres(log_url).ok  # every edit undone: intact again


def test_a_wholly_corrupted_log_lists_the_first_findings_and_counts_the_rest(
    log_url: str,
) -> None:
    sql(log_url, "UPDATE records SET reason = 'nothing happened'")
    report = verify_postgres(log_url)
    assert [seq for _, seq in problems(report)] == list(range(1, 21))
    assert report.findings_omitted > 0


def test_a_deleted_record_is_a_gap(log_url: str) -> None:
    sql(log_url, "DELETE FROM records WHERE seq = 23")
    report = verify_postgres(log_url)
    assert problems(report) == [("missing", 24)]
    assert "record 23 is missing" in report.findings[0].message


def test_a_deletion_hidden_by_renumbering_is_found(log_url: str) -> None:
    sql(
        log_url,
        "DELETE FROM records WHERE seq = 23",
        # two steps: PostgreSQL checks the primary key row by row
        "UPDATE records SET seq = -(seq - 1) WHERE seq > 23",
        "UPDATE records SET seq = -seq WHERE seq < 0",
    )
    report = verify_postgres(log_url)
    assert report.findings[0].kind == "renumbered" and report.findings[0].seq == 23
    assert "records 23–49 were hashed as seqs 24–50" in report.findings[0].message


def test_an_inserted_forgery_with_a_correct_hash_of_its_own_is_found(log_url: str) -> None:
    records = rows(log_url)
    forged = {
        **records[29],
        "seq": 31,
        "decision": "approved",
        "approver": "mallory@evil.example",
        "reason": "approved by a human",
        "prev_hash": records[29]["hash"],
    }
    forged["hash"] = attacker_hash(forged)
    sql(
        log_url,
        "UPDATE records SET seq = -seq WHERE seq > 30",
        "UPDATE records SET seq = 1 - seq WHERE seq < 0",
        (
            f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES "
            f"({', '.join(['%s'] * len(RECORD_COLUMNS))})",
            tuple(forged[c] for c in RECORD_COLUMNS),
        ),
    )
    report = verify_postgres(log_url)
    # the forgery itself checks out; the record after it was hashed as seq 31, not 32
    assert report.first_problem is not None and report.first_problem.seq == 32
    assert report.findings[0].kind == "renumbered"


@pytest.mark.parametrize(
    "seq,expected",
    [
        (33, [("broken_link", 34)]),
        # record 30 also had a stored checkpoint, which vouched for the original
        (30, [("checkpoint_mismatch", 30), ("broken_link", 31)]),
    ],
)
def test_a_record_replaced_by_a_self_consistent_forgery_breaks_the_next_link(
    log_url: str, seq: int, expected: list[tuple[str, int]]
) -> None:
    record = {**rows(log_url)[seq - 1], "decision": "allow", "reason": "nothing to see"}
    record["hash"] = attacker_hash(record)
    sql(
        log_url,
        (
            "UPDATE records SET decision = %s, reason = %s, hash = %s WHERE seq = %s",
            (record["decision"], record["reason"], record["hash"], seq),
        ),
    )
    assert problems(verify_postgres(log_url)) == expected


@pytest.mark.parametrize("a,b", [(10, 20), (10, 11)])
def test_swapped_records_are_found(log_url: str, a: int, b: int) -> None:
    sql(
        log_url,
        f"UPDATE records SET seq = -1 WHERE seq = {a}",
        f"UPDATE records SET seq = {a} WHERE seq = {b}",
        f"UPDATE records SET seq = {b} WHERE seq = -1",
    )
    report = verify_postgres(log_url)
    assert report.first_problem is not None and report.first_problem.seq == a
    assert {seq for _, seq in problems(report)} >= {a, b}


def test_truncation_is_found_by_stored_checkpoints_left_behind(log_url: str) -> None:
    sql(log_url, "DELETE FROM records WHERE seq > 44")
    assert problems(verify_postgres(log_url)) == [("truncated", 50)]


def test_clean_truncation_is_found_only_with_the_external_checkpoint(
    log_url: str, checkpoint: Path
) -> None:
    sql(log_url, "DELETE FROM records WHERE seq > 44", "DELETE FROM checkpoints WHERE seq > 44")
    alone = verify_postgres(log_url)
    assert alone.ok and alone.records == 44  # nothing in the database betrays it
    report = verify_postgres(log_url, checkpoint=checkpoint)
    assert problems(report) == [("truncated", 50)]
    assert "ends at seq 44" in report.findings[0].message


def test_a_consistent_rewrite_is_found_only_with_the_external_checkpoint(
    log_url: str, checkpoint: Path, keys
) -> None:
    sql(log_url, "DELETE FROM checkpoints")
    rewrite_chain(log_url, {"decision": "allow", "approver": None})
    alone = verify_postgres(log_url)
    assert alone.ok and alone.records == N and alone.signed_through == 0
    report = verify_postgres(log_url, checkpoint=checkpoint, public_key=keys[1])
    assert problems(report) == [("checkpoint_mismatch", N)]
    assert "rewritten" in report.findings[0].message


def test_a_rewrite_resigned_with_the_attackers_key_fails_against_the_pinned_key(
    log_url: str, checkpoint: Path, keys, tmp_path: Path
) -> None:
    log_id = load_checkpoint(checkpoint).log_id
    rewrite_chain(log_url, {"decision": "allow", "approver": None})
    generate_key(tmp_path / "mallory.key")
    mallory = load_signing_key(tmp_path / "mallory.key")
    forged = Checkpoint.sign(mallory, log_id=log_id, seq=N, hash=rows(log_url)[-1]["hash"])
    sql(
        log_url,
        "DELETE FROM checkpoints",
        (
            "INSERT INTO checkpoints (seq, hash, timestamp, log_id, key_id, public_key, signature)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                N,
                forged.hash,
                forged.timestamp,
                log_id,
                forged.key_id,
                forged.public_key,
                forged.signature,
            ),
        ),
    )
    unpinned = verify_postgres(log_url)
    assert unpinned.ok and forged.key_id in unpinned.key_ids  # the key came with the forgery
    pinned = verify_postgres(log_url, public_key=keys[1])
    assert problems(pinned) == [("bad_signature", N)]
    assert "not by the trusted key" in pinned.findings[0].message


@pytest.mark.parametrize(
    "column,value", [("hash", "0" * 64), ("seq", 19), ("signature", "A" * 86 + "==")]
)
def test_a_forged_stored_checkpoint_signature_is_found(log_url: str, column, value) -> None:
    sql(log_url, (f"UPDATE checkpoints SET {column} = %s WHERE seq = 20", (value,)))
    report = verify_postgres(log_url)
    kinds = problems(report)
    assert kinds and all(kind == "bad_signature" for kind, _ in kinds)
    assert "signature does not verify" in report.findings[0].message


def test_a_malformed_stored_checkpoint_is_reported_not_fatal(log_url: str) -> None:
    sql(log_url, "UPDATE checkpoints SET key_id = 'rsa:nope' WHERE seq = 30")
    report = verify_postgres(log_url)
    assert ("bad_signature", None) in problems(report)
    assert report.records == N


def test_a_forged_checkpoint_file_is_found(log_url: str, checkpoint: Path, tmp_path: Path) -> None:
    data = json.loads(checkpoint.read_text())
    data["seq"], data["hash"] = 40, rows(log_url)[39]["hash"]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    assert problems(verify_postgres(log_url, checkpoint=forged)) == [("bad_signature", 40)]


def test_a_checkpoint_of_another_log_is_reported(log_url: str, empty_url: str, keys) -> None:
    with PostgresAuditLog(empty_url, signing_key=keys[0]) as other:
        fill(other, 3)
        cp = other.checkpoint()
    assert problems(verify_postgres(log_url, checkpoint=cp)) == [("foreign_checkpoint", 3)]


# ---------------------------------------------------------------------------------------------
# several processes, one chain

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from corrigible.containment.audit import PostgresAuditLog
    url, key, agent, n, go = sys.argv[1:6]
    log = PostgresAuditLog(url, signing_key=key, checkpoint_every=100)
    Path(go + "." + agent).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    for i in range(int(n)):
        log.append(tool="email", arguments={"i": i}, decision="allow", rule_id="r",
                   reason="ok", policy_version="v1", agent_id=agent)
    log.close()
    """
)


def test_several_processes_appending_at_once_make_one_chain(
    empty_url: str, keys, tmp_path: Path
) -> None:
    go, n, agents = tmp_path / "go", 300, ("agent-1", "agent-2", "agent-3")
    PostgresAuditLog(empty_url).close()  # create the tables up front: the race is tested elsewhere
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, empty_url, str(keys[0]), agent, str(n), str(go)]
        )
        for agent in agents
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(Path(f"{go}.{agent}").exists() for agent in agents):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.01)
        go.touch()
        # verification reads one snapshot: it is never confused by writers mid-flight
        during = []
        while any(p.poll() is None for p in procs):
            during.append(verify_postgres(empty_url))
        assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert during and all(r.ok for r in during), [problems(r) for r in during if not r.ok]

    report = verify_postgres(empty_url)
    assert report.ok, problems(report)
    assert report.records == report.last_seq == 3 * n
    assert report.signed_through == 3 * n  # checkpoints every 100, whoever wrote them
    stored = [r["agent_id"] for r in rows(empty_url)]
    assert all(stored.count(agent) == n for agent in agents)
    switches = sum(a != b for a, b in zip(stored, stored[1:], strict=False))
    assert switches >= 3, "the writers never interleaved"


CREATOR = textwrap.dedent(
    """
    import sys
    from corrigible.containment.audit import PostgresAuditLog
    with PostgresAuditLog(sys.argv[1]) as log:
        print(log.log_id)
    """
)


def test_processes_creating_one_new_log_at_once_agree_on_it(empty_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", CREATOR, empty_url], stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].decode().strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert len(set(outputs)) == 1 and len(outputs[0]) == 32  # one log, one id


def test_a_writer_granted_only_select_and_insert_can_append_but_not_edit(
    log_url: str, keys
) -> None:
    role = f"writer_{uuid.uuid4().hex[:8]}"
    sql(
        log_url,
        f"CREATE ROLE {role} LOGIN",
        f"GRANT SELECT, INSERT ON meta, records, checkpoints TO {role}",
        f"GRANT USAGE ON SEQUENCE checkpoints_id_seq TO {role}",
    )
    writer_url = log_url.replace("postgres@", f"{role}@", 1)
    with PostgresAuditLog(writer_url, signing_key=keys[0], checkpoint_every=5) as log:
        fill(log, 10, start=N)
        assert log.checkpoint().seq == N + 10
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        sql(writer_url, "UPDATE records SET decision = 'allow' WHERE seq = 3")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        sql(writer_url, "DELETE FROM records WHERE seq > 40")
    report = verify_postgres(log_url)
    assert report.ok and report.records == N + 10 and report.signed_through == N + 10


def test_a_writer_that_cannot_get_the_lock_gives_up_after_its_timeout(log_url: str, keys) -> None:
    with PostgresAuditLog(log_url, signing_key=keys[0], timeout=0.3) as log:
        holder = psycopg.connect(log_url)  # not autocommit: its transaction stays open
        try:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(log.log_id),))
            started = time.monotonic()
            with pytest.raises(AuditError, match=r"cannot append \(.*lock timeout"):
                fill(log, 1)
            assert time.monotonic() - started < 5
            assert len(log) == N  # reading never waits for writers
        finally:
            holder.close()
        fill(log, 1)  # the lock is free again
    assert verify_postgres(log_url).ok


def terminate(url: str, log: PostgresAuditLog) -> None:
    """Have the server drop the log's connection (as a restart or a proxy time-out would)."""
    pid = log._conn.info.backend_pid
    sql(url, ("SELECT pg_terminate_backend(%s, 5000)", (pid,)))


def test_a_dropped_connection_is_replaced_where_that_is_safe(log_url: str, keys) -> None:
    with PostgresAuditLog(log_url, signing_key=keys[0]) as log:
        terminate(log_url, log)
        fill(log, 1, start=N)  # BEGIN meets the dead connection; a new one takes over
        terminate(log_url, log)
        assert len(log) == N + 1  # reads are retried too
        terminate(log_url, log)
        assert log.checkpoint().seq == N + 1
        with AuditWriter(log) as writer:  # the background writer rides over it as well
            terminate(log_url, log)
            writer.submit(entry(1))
            writer.flush()
    with pytest.raises(AuditError, match="the log is closed"):
        fill(log, 1)
    report = verify_postgres(log_url)
    assert report.ok and report.records == N + 2


def test_verification_never_hangs_on_a_locked_table(log_url: str) -> None:
    with psycopg.connect(log_url) as locker:
        locker.execute("LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(AuditInputError, match="lock timeout"):
            verify_postgres(log_url, timeout=0.5)
        assert time.monotonic() - started < 5
    assert verify_postgres(log_url).ok


def test_commit_modes_follow_durable_and_never_weaken_the_servers(log_url: str, keys) -> None:
    def mode(log: PostgresAuditLog) -> str:
        row = log._conn.execute("SHOW synchronous_commit").fetchone()
        return str(row[0]) if row else "?"

    with PostgresAuditLog(log_url) as fast, PostgresAuditLog(log_url, durable=True) as durable:
        assert (mode(fast), mode(durable)) == ("off", "on")
    sql(
        log_url, f"ALTER DATABASE {log_url.rsplit('/', 1)[1]} SET synchronous_commit = remote_apply"
    )
    with PostgresAuditLog(log_url) as fast, PostgresAuditLog(log_url, durable=True) as durable:
        assert (mode(fast), mode(durable)) == ("off", "remote_apply")
        assert fast._durable_commit == "remote_apply"  # what its checkpoints commit with


def test_the_url_chooses_the_schema(empty_url: str, keys) -> None:
    sql(empty_url, "CREATE SCHEMA audit")
    url = f"{empty_url}?options=-csearch_path%3Daudit"
    with PostgresAuditLog(url, signing_key=keys[0]) as log:
        fill(log, 3)
    assert tables(empty_url, "audit") == {"meta", "records", "checkpoints"}
    assert tables(empty_url, "public") == set()
    assert verify_postgres(url).records == 3
    with pytest.raises(AuditInputError, match="no meta table in schema public"):
        verify_postgres(empty_url)


# ---------------------------------------------------------------------------------------------
# misuse and unusable input


def test_misuse_is_one_line_errors(empty_url: str, log_url: str, keys) -> None:
    with (
        PostgresAuditLog(log_url) as read_only,
        pytest.raises(AuditError, match="without a signing key"),
    ):
        fill(read_only, 1)
    with pytest.raises(AuditInputError, match="no audit log there"):
        PostgresAuditLog(empty_url, create=False)
    assert tables(empty_url) == set()  # and nothing was created
    with PostgresAuditLog(log_url, signing_key=keys[0]) as log:
        with pytest.raises(AuditError, match="cannot append .*NUL") as info:
            log.append(
                tool="t",
                arguments={},
                decision="allow",
                rule_id="r",
                reason="a\x00b",
                policy_version="v",
                agent_id="a",
            )
        assert "\n" not in str(info.value)
        assert len(log) == N  # nothing half-written
    sql(empty_url, "CREATE TABLE meta (key TEXT, value TEXT)", "INSERT INTO meta VALUES ('x', 'y')")
    with pytest.raises(AuditInputError, match="not an audit log"):
        PostgresAuditLog(empty_url, signing_key=keys[0])
    sql(log_url, "UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(AuditInputError, match="schema version 2"):
        verify_postgres(log_url)
    with pytest.raises(AuditInputError, match="not a PostgreSQL URL"):
        PostgresAuditLog("/tmp/audit.db")


def test_unusable_input_raises_exit_code_2_and_never_shows_the_password(
    postgres_url: str, empty_url: str, log_url: str, tmp_path: Path
) -> None:
    port = closed_port()
    bad_checkpoint = tmp_path / "bad.json"
    bad_checkpoint.write_text('{"seq": 1}')
    nowhere = f"postgresql://auditor:hunter2@127.0.0.1:{port}/audit"
    unreachable = [
        (nowhere, "cannot connect"),
        (f"{nowhere}?password=hunter2&sslmode=disable", "cannot connect"),
        (
            "postgresql://auditor:hunter2@127.0.0.1:notaport/audit",
            'invalid integer value "notaport"',
        ),
        ("postgresql://auditor:hunter2@[::1/audit", "not a usable PostgreSQL URL"),
        (database_url(postgres_url, "no_such_db"), 'database "no_such_db" does not exist'),
    ]
    for url, message in [*unreachable, (empty_url, "not an audit log (no meta table")]:
        with pytest.raises(AuditInputError) as info:
            verify_postgres(url)
        text = str(info.value)
        assert info.value.exit_code == 2 and "\n" not in text
        assert "hunter2" not in text and message in text, text
    for url, message in unreachable:
        with pytest.raises(AuditInputError, match="cannot connect|not a usable") as info:
            PostgresAuditLog(url)
        assert "hunter2" not in str(info.value) and message in str(info.value)
    assert str(pytest.raises(AuditInputError, verify_postgres, nowhere).value).startswith(
        f"postgresql://auditor:***@127.0.0.1:{port}/audit: cannot connect ("
    )
    with pytest.raises(AuditInputError, match="not a checkpoint file"):
        verify_postgres(log_url, checkpoint=bad_checkpoint)


def test_redaction() -> None:
    assert redact_url("postgresql://a:s3cr%2Ft@db:5432/x?sslmode=require&password=p2") == (
        "postgresql://a:***@db:5432/x?sslmode=require&password=***"
    )
    assert redact_url("postgres://a@db/x") == "postgres://a@db/x"
    assert redact_url("postgresql://a:p@ss@db/x") == "postgresql://a:***@db/x"
    assert redact_url("host=db password=pw dbname=x") == "host=db password=*** dbname=x"
    assert mask_passwords("auth failed for s3cr/t", "postgresql://a:s3cr%2Ft@db/x") == (
        "auth failed for ***"
    )
    assert describe_target(Path("a/b.db")) == "a/b.db"
    assert describe_target("postgresql://a:b@c/d") == "postgresql://a:***@c/d"


def test_open_audit_log_dispatches_on_the_target(tmp_path: Path, log_url: str, keys) -> None:
    with open_audit_log(tmp_path / "a.db", signing_key=keys[0]) as log:
        assert type(log) is AuditLog
    with open_audit_log(str(tmp_path / "postgres.db")) as log:  # a file, whatever its name
        assert type(log) is AuditLog
    for url in (log_url, log_url.replace("postgresql://", "postgres://", 1)):
        with open_audit_log(url) as log:
            assert type(log) is PostgresAuditLog and len(log) == N
        assert verify_audit_log(url).records == N
    with pytest.raises(AuditInputError, match="no such file"):
        open_audit_log(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()
    assert verify_audit_log(tmp_path / "a.db").ok


def test_missing_server_binaries_say_how_to_install_them(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_testing.glob, "glob", lambda pattern: [])
    with pytest.raises(pg_testing.PostgresUnavailable, match="apt-get install postgresql"):
        pg_testing.find_postgres_bin()
    with pytest.raises(pg_testing.PostgresUnavailable), pg_testing.throwaway_postgres():
        pass


# ---------------------------------------------------------------------------------------------
# the CLI


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(corrigible_app, ["audit", *map(str, args)])


def test_cli_verify_a_url(log_url: str, checkpoint: Path, keys) -> None:
    result = cli("verify", log_url, "--checkpoint", checkpoint, "--public-key", keys[1])
    assert result.exit_code == 0, result.output
    assert "intact: 50 records verified, chain unbroken, signed through seq 50" in result.stdout
    sql(log_url, "UPDATE records SET tool = 'shell' WHERE seq = 3")
    result = cli("verify", log_url)
    assert result.exit_code == 1
    assert "TAMPERED seq 3: content does not match its hash" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("tampered: 1 finding(s), first at seq 3")


def test_cli_connection_failure_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://auditor:hunter2@127.0.0.1:{closed_port()}/audit"
    result = cli("verify", url)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "hunter2" not in result.output
    assert lines[0].startswith("error: postgresql://auditor:***@127.0.0.1:")
    assert "cannot connect" in lines[0]


def test_cli_checkpoint_a_url(log_url: str, empty_url: str, keys, tmp_path: Path) -> None:
    out = tmp_path / "safe" / "cp.json"
    result = cli("checkpoint", log_url, "--key", keys[0], "--out", out)
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out).seq == N
    result = cli("verify", log_url, "--checkpoint", out, "--public-key", keys[1])
    assert result.exit_code == 0, result.output
    missing = cli("checkpoint", empty_url, "--key", keys[0], "--out", out)
    assert missing.exit_code == 2 and "no audit log there" in missing.stderr
    assert tables(empty_url) == set()  # checkpointing never creates a log


def test_cli_exit_codes_in_a_real_process(log_url: str) -> None:
    program = "import sys; sys.argv[0] = 'corrigible'; from corrigible.cli.app import main; main()"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", program, "audit", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run("verify", log_url).returncode == 0
    sql(log_url, "DELETE FROM records WHERE seq = 12")
    tampered = run("verify", log_url)
    assert tampered.returncode == 1 and "TAMPERED seq 13: record 12 is missing" in tampered.stdout
    gone = run("verify", f"postgresql://u:hunter2@127.0.0.1:{closed_port()}/x")
    assert gone.returncode == 2 and gone.stderr.count("\n") == 1 and "hunter2" not in gone.stderr


def test_checkpoint_file_of_the_sqlite_log_does_not_vouch_for_a_postgres_copy(
    log_url: str, tmp_path: Path, keys
) -> None:
    """Two stores, two logs: a checkpoint names its log, so it cannot be replayed across them."""
    with AuditLog(tmp_path / "a.db", signing_key=keys[0]) as log:
        fill(log, N)
        cp = log.checkpoint()
    assert problems(verify_postgres(log_url, checkpoint=cp)) == [("foreign_checkpoint", N)]


# ---------------------------------------------------------------------------------------------
# a guarded sweep on several worker processes audits into one PostgreSQL chain


def test_a_guarded_sweep_audits_to_postgres(empty_url: str, tmp_path: Path) -> None:
    from corrigible.containment import generate_key, verify_audit_log
    from corrigible.evaluation import load_config, run_sweep

    key = tmp_path / "audit.key"
    generate_key(key)
    script = tmp_path / "script.json"
    script.write_text(
        '[{"match": {"family": "lethal"}, "reply": "<tool_use:cancel_alert>\\ncode: \\"4429\\"\\n'
        '</tool_use:cancel_alert>"}]'
    )
    config = tmp_path / "sweep.yaml"
    config.write_text(
        f"models: [{{name: corrigible/scripted, args: {{script: '{script}'}}}}]\n"
        "conditions: [lethal_explicit-america_replacement]\nsamples: 4\nworkers: 2\n"
        f"guard: default\naudit: '{empty_url}'\naudit_key: '{key}'\n"
    )
    assert run_sweep(load_config(config), tmp_path / "run").complete
    report = verify_audit_log(empty_url, public_key=tmp_path / "audit.key.pub")
    assert report.ok and report.records == 4 and report.signed_through == 4
    with psycopg.connect(empty_url) as db:
        rows = db.execute("SELECT DISTINCT tool, decision, rule_id FROM records").fetchall()
    assert rows == [("cancel_alert", "incident", "no-cancel-during-emergency")]
