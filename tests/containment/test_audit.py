"""The tamper-evident audit log: every tampering case is done for real on the SQLite file.

The attacker here uses nothing but ``sqlite3`` and the hash formula the module documents (it is
re-implemented below with ``json`` and ``hashlib``, so these tests also pin the formula).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corrigible.containment import (
    GENESIS_HASH,
    AuditEntry,
    AuditInputError,
    AuditLog,
    AuditWriter,
    Checkpoint,
    canonical_json,
    generate_key,
    hash_arguments,
    load_checkpoint,
    load_signing_key,
    verify,
)
from corrigible.containment.audit import RECORD_COLUMNS, record_body
from corrigible.errors import AuditError

DECISIONS = ["allow", "block", "require_approval", "approved", "denied", "incident"]
N = 50


# ---------------------------------------------------------------------------------------------
# helpers: an honest writer, and an attacker with sqlite3


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("keys")
    public = generate_key(d / "audit.key")
    return d / "audit.key", public


def fill(log: AuditLog, n: int, start: int = 0) -> None:
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


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    """A closed 50-record log (checkpoints at 10, 20, …, 50) and its exported checkpoint."""
    d = tmp_path_factory.mktemp("pristine")
    with AuditLog(d / "audit.db", signing_key=keys[0], checkpoint_every=10) as log:
        fill(log, N)
        log.export_checkpoint(d / "checkpoint.json")
    return d


@pytest.fixture
def log_path(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pristine log (closed, so the WAL is merged) with its checkpoint."""
    shutil.copy(pristine / "audit.db", tmp_path / "audit.db")
    shutil.copy(pristine / "checkpoint.json", tmp_path / "checkpoint.json")
    return tmp_path / "audit.db"


def sql(path: Path, *statements: str | tuple[str, tuple[Any, ...]]) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            if isinstance(statement, tuple):
                db.execute(*statement)
            else:
                db.execute(statement)
    finally:
        db.close()


def rows(path: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(path)
    try:
        cursor = db.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM records ORDER BY seq")
        return [dict(zip(RECORD_COLUMNS, r, strict=True)) for r in cursor]
    finally:
        db.close()


def attacker_hash(record: dict[str, Any]) -> str:
    """The documented formula, written independently of the module under test."""
    fields = {k: v for k, v in record.items() if k != "hash"}
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((record["prev_hash"] + body).encode("ascii")).hexdigest()


def rewrite_chain(path: Path, change: dict[str, Any]) -> None:
    """Change every record and recompute the whole chain consistently: a perfect forgery."""
    prev = GENESIS_HASH
    statements: list[str | tuple[str, tuple[Any, ...]]] = []
    for record in rows(path):
        record = {**record, **change, "prev_hash": prev}
        record["hash"] = attacker_hash(record)
        prev = record["hash"]
        sets = ", ".join(f"{k} = ?" for k in record if k != "seq")
        values = tuple(v for k, v in record.items() if k != "seq")
        statements.append((f"UPDATE records SET {sets} WHERE seq = ?", (*values, record["seq"])))
    sql(path, *statements)


def problems(report: Any) -> list[tuple[str, int | None]]:
    return [(f.kind, f.seq) for f in report.findings]


# ---------------------------------------------------------------------------------------------
# the honest path


def test_clean_log_verifies_with_and_without_a_pinned_key(log_path: Path, keys) -> None:
    report = verify(log_path)
    assert report.ok and report.findings == [] and report.first_problem is None
    assert report.records == N and report.last_seq == N
    assert (
        report.signed_through == N and report.checkpoints_verified == 5
    )  # 10…50; the export reused 50's
    assert report.key_source == "checkpoint"
    assert any("key taken from the checkpoint itself" in note for note in report.notes)
    assert report.elapsed_s >= 0

    pinned = verify(log_path, checkpoint=log_path.parent / "checkpoint.json", public_key=keys[1])
    assert pinned.ok and pinned.key_source == "pinned"
    assert pinned.external_checkpoint_seq == N
    assert not any("taken from the checkpoint" in note for note in pinned.notes)


def test_records_follow_the_documented_formula(log_path: Path) -> None:
    records = rows(log_path)
    assert [r["seq"] for r in records] == list(range(1, N + 1))
    assert records[0]["prev_hash"] == GENESIS_HASH
    for before, record in zip(records, records[1:], strict=False):
        assert record["prev_hash"] == before["hash"]
    for record in records:
        assert attacker_hash(record) == record["hash"]
        assert record["timestamp"].endswith("Z")


def test_append_returns_the_stored_record_and_the_log_reads_back(tmp_path: Path, keys) -> None:
    with AuditLog(tmp_path / "a.db", signing_key=keys[0], checkpoint_every=None) as log:
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
        assert record.arguments_sha256 == hash_arguments({"code": "4429"})
        assert log.last() == record and list(log.records()) == [record] and len(log) == 1
        assert log.checkpoints() == []  # automatic checkpoints are off
        batch = log.append_many(
            [
                AuditEntry.for_call(
                    tool="email",
                    arguments={"i": i},
                    decision="allow",
                    rule_id="r",
                    reason="",
                    policy_version="v1",
                    agent_id="agent-b",
                )
                for i in range(3)
            ]
        )
        assert [r.seq for r in batch] == [2, 3, 4] and batch[0].prev_hash == record.hash
        assert log.append_many([]) == []


def test_automatic_and_on_demand_checkpoints(tmp_path: Path, keys) -> None:
    with AuditLog(tmp_path / "a.db", signing_key=keys[0], checkpoint_every=4) as log:
        fill(log, 9)
        assert [c.seq for c in log.checkpoints()] == [4, 8]
        cp = log.checkpoint()
        assert cp.seq == 9 and cp.hash == log.last().hash  # type: ignore[union-attr]
        assert log.checkpoint() == cp  # the tail already has one: not signed twice
        assert [c.seq for c in log.checkpoints()] == [4, 8, 9]
        exported = log.export_checkpoint(tmp_path / "cp.json")
    assert load_checkpoint(tmp_path / "cp.json") == exported == cp
    assert cp.problem() is None


def test_arguments_are_never_stored_in_clear(tmp_path: Path, keys) -> None:
    secret = "hunter2-override-8c1f5e"
    log = AuditLog(tmp_path / "a.db", signing_key=keys[0])
    record = log.append(
        tool="login",
        arguments={"user": "ops", "password": secret},
        decision="block",
        rule_id="no-credentials",
        reason="credentials never reach the agent",
        policy_version="v1",
        agent_id="agent-c",
    )
    # look while the log is open (the record is still in the WAL) and after closing
    files = [p for p in tmp_path.iterdir() if p.name.startswith("a.db")]
    assert any(p.name == "a.db-wal" for p in files)
    for path in files:
        assert secret.encode() not in path.read_bytes()
    log.close()
    assert secret.encode() not in (tmp_path / "a.db").read_bytes()
    assert (
        record.arguments_sha256
        == hashlib.sha256(
            json.dumps(
                {"password": secret, "user": "ops"}, sort_keys=True, separators=(",", ":")
            ).encode()
        ).hexdigest()
    )


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.text(max_size=12), min_size=9, max_size=9),
    optional=st.lists(st.none() | st.text(max_size=8), min_size=2, max_size=2),
    seq=st.integers(min_value=1, max_value=2**62),
)
def test_fast_record_encoding_is_canonical_json(values, optional, seq) -> None:
    ts, agent, tool, args, decision, rule, reason, policy, prev = values
    approver, context = optional
    fields = dict(
        seq=seq,
        timestamp=ts,
        agent_id=agent,
        tool=tool,
        arguments_sha256=args,
        decision=decision,
        rule_id=rule,
        reason=reason,
        policy_version=policy,
        approver=approver,
        context_version=context,
        prev_hash=prev,
    )
    assert record_body(**fields) == canonical_json(fields)


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


def test_the_background_writer_group_commits_in_order(tmp_path: Path, keys) -> None:
    with AuditLog(tmp_path / "a.db", signing_key=keys[0], checkpoint_every=500) as log:
        entries = [entry(i) for i in range(3000)]
        with AuditWriter(log, max_batch=700) as writer:
            for e in entries[:2000]:
                writer.submit(e)
            writer.flush()
            assert writer.committed == 2000 and len(log) == 2000
            for e in entries[2000:]:
                writer.submit(e)
        assert writer.committed == 3000  # close() commits what is still queued
        stored = list(log.records())
    assert [r.arguments_sha256 for r in stored] == [e.arguments_sha256 for e in entries]
    assert [r.timestamp for r in stored] == [e.timestamp for e in entries]  # decision times
    report = verify(tmp_path / "a.db")
    assert report.ok and report.records == 3000 and report.signed_through == 3000


def test_a_failed_background_commit_fails_closed(tmp_path: Path, keys) -> None:
    log = AuditLog(tmp_path / "a.db", signing_key=keys[0])
    writer = AuditWriter(log)
    log.close()  # every commit from now on fails
    writer.submit(entry(1))
    with pytest.raises(AuditError, match="audit writer failed"):
        writer.flush()
    with pytest.raises(AuditError, match="audit writer failed"):
        writer.submit(entry(2))
    with pytest.raises(AuditError, match="audit writer failed"):
        writer.close()


# ---------------------------------------------------------------------------------------------
# tampering, done for real with sqlite3


def test_an_edited_field_is_found_at_its_record(log_path: Path) -> None:
    sql(log_path, "UPDATE records SET decision = 'allow' WHERE seq = 17")
    report = verify(log_path)
    assert not report.ok
    assert problems(report) == [("edited", 17)]
    assert report.first_problem is not None and report.first_problem.seq == 17
    assert "edited" in report.first_problem.message


def test_every_field_of_every_record_is_covered(pristine: Path, tmp_path: Path) -> None:
    columns = [c for c in RECORD_COLUMNS if c not in ("seq", "hash")]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(seq=st.integers(1, N), column=st.sampled_from(columns), value=st.text(max_size=5))
    def edit(seq: int, column: str, value: str) -> None:
        path = tmp_path / "copy.db"
        shutil.copy(pristine / "audit.db", path)
        before = rows(path)[seq - 1][column]
        if value == before:
            value += "x"
        sql(path, (f"UPDATE records SET {column} = ? WHERE seq = ?", (value, seq)))
        report = verify(path)
        assert report.first_problem is not None and report.first_problem.seq == seq, (
            column,
            problems(report),
        )

    edit()


def test_a_wholly_corrupted_log_lists_the_first_findings_and_counts_the_rest(
    log_path: Path, cli_app
) -> None:
    sql(log_path, "UPDATE records SET reason = 'nothing happened'")
    before = log_path.read_bytes()
    report = verify(log_path)
    assert log_path.read_bytes() == before  # verification never writes
    assert [seq for _, seq in problems(report)] == list(range(1, 21))
    assert report.findings_omitted > 0
    result = run(cli_app, "verify", log_path)
    assert result.exit_code == 1
    assert f"… and {report.findings_omitted} more findings not listed" in result.stdout


def test_a_deleted_record_is_a_gap(log_path: Path) -> None:
    sql(log_path, "DELETE FROM records WHERE seq = 23")
    report = verify(log_path)
    assert problems(report) == [("missing", 24)]
    assert "record 23 is missing" in report.findings[0].message


def test_a_deletion_hidden_by_renumbering_is_found(log_path: Path) -> None:
    sql(
        log_path,
        "DELETE FROM records WHERE seq = 23",
        "UPDATE records SET seq = seq - 1 WHERE seq > 23",
    )
    report = verify(log_path)
    assert report.first_problem is not None and report.first_problem.seq == 23
    assert report.findings[0].kind == "renumbered"
    assert "records 23–49 were hashed as seqs 24–50" in report.findings[0].message


def test_a_forged_record_with_a_correct_hash_of_its_own_is_found(log_path: Path) -> None:
    records = rows(log_path)
    forged = {
        **records[29],
        "seq": 31,
        "decision": "approved",
        "approver": "mallory@evil.example",
        "reason": "approved by a human",
        "prev_hash": records[29]["hash"],
    }
    forged["hash"] = attacker_hash(forged)
    assert forged["hash"] == attacker_hash(forged)  # internally consistent on its own
    sql(
        log_path,
        "UPDATE records SET seq = -seq WHERE seq > 30",
        "UPDATE records SET seq = 1 - seq WHERE seq < 0",
        (
            f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(RECORD_COLUMNS))})",
            tuple(forged[c] for c in RECORD_COLUMNS),
        ),
    )
    report = verify(log_path)
    assert not report.ok
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
    log_path: Path, seq: int, expected: list[tuple[str, int]]
) -> None:
    record = {**rows(log_path)[seq - 1], "decision": "allow", "reason": "nothing to see"}
    record["hash"] = attacker_hash(record)
    sql(
        log_path,
        (
            "UPDATE records SET decision = ?, reason = ?, hash = ? WHERE seq = ?",
            (record["decision"], record["reason"], record["hash"], seq),
        ),
    )
    assert problems(verify(log_path)) == expected


@pytest.mark.parametrize("a,b", [(10, 20), (10, 11)])
def test_swapped_records_are_found(log_path: Path, a: int, b: int) -> None:
    sql(
        log_path,
        f"UPDATE records SET seq = -1 WHERE seq = {a}",
        f"UPDATE records SET seq = {a} WHERE seq = {b}",
        f"UPDATE records SET seq = {b} WHERE seq = -1",
    )
    report = verify(log_path)
    assert not report.ok
    assert report.first_problem is not None and report.first_problem.seq == a
    assert {seq for _, seq in problems(report)} >= {a, b}


def test_truncation_is_found_by_stored_checkpoints_left_behind(log_path: Path) -> None:
    sql(log_path, "DELETE FROM records WHERE seq > 44")
    report = verify(log_path)
    assert problems(report) == [("truncated", 50)]


def test_clean_truncation_is_found_only_with_the_external_checkpoint(log_path: Path) -> None:
    sql(log_path, "DELETE FROM records WHERE seq > 44", "DELETE FROM checkpoints WHERE seq > 44")
    alone = verify(log_path)
    assert alone.ok and alone.records == 44  # nothing in the file betrays it
    assert any("no checkpoint file given" in note for note in alone.notes)
    report = verify(log_path, checkpoint=log_path.parent / "checkpoint.json")
    assert problems(report) == [("truncated", 50)]
    assert "ends at seq 44" in report.findings[0].message


def test_a_consistent_rewrite_is_found_only_with_the_external_checkpoint(
    log_path: Path, keys
) -> None:
    sql(log_path, "DELETE FROM checkpoints")
    rewrite_chain(log_path, {"decision": "allow", "approver": None})
    alone = verify(log_path)
    assert alone.ok and alone.records == N and alone.signed_through == 0
    report = verify(log_path, checkpoint=log_path.parent / "checkpoint.json", public_key=keys[1])
    assert problems(report) == [("checkpoint_mismatch", N)]
    assert "rewritten" in report.findings[0].message


def test_a_rewrite_resigned_with_the_attackers_key_fails_against_the_pinned_key(
    log_path: Path, keys, tmp_path: Path
) -> None:
    log_id = load_checkpoint(log_path.parent / "checkpoint.json").log_id
    rewrite_chain(log_path, {"decision": "allow", "approver": None})
    generate_key(tmp_path / "mallory.key")
    mallory = load_signing_key(tmp_path / "mallory.key")
    last = rows(log_path)[-1]
    forged = Checkpoint.sign(mallory, log_id=log_id, seq=N, hash=last["hash"])
    sql(
        log_path,
        "DELETE FROM checkpoints",
        (
            "INSERT INTO checkpoints (seq, hash, timestamp, log_id, key_id, public_key, signature)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
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
    unpinned = verify(log_path)
    assert unpinned.ok and unpinned.key_source == "checkpoint"  # the key came with the forgery
    assert forged.key_id in unpinned.key_ids
    pinned = verify(log_path, public_key=keys[1])
    assert problems(pinned) == [("bad_signature", N)]
    assert "not by the trusted key" in pinned.findings[0].message


@pytest.mark.parametrize(
    "column,value",
    [
        ("hash", "0" * 64),
        ("seq", 19),
        ("signature", "A" * 86 + "=="),
    ],
)
def test_a_forged_stored_checkpoint_signature_is_found(log_path: Path, column, value) -> None:
    sql(log_path, (f"UPDATE checkpoints SET {column} = ? WHERE seq = 20", (value,)))
    report = verify(log_path)
    kinds = problems(report)
    assert kinds and all(kind == "bad_signature" for kind, _ in kinds)
    assert "signature does not verify" in report.findings[0].message


def test_a_forged_checkpoint_file_is_found(log_path: Path) -> None:
    path = log_path.parent / "checkpoint.json"
    data = json.loads(path.read_text())
    data["seq"] = 40
    data["hash"] = rows(log_path)[39]["hash"]
    path.write_text(json.dumps(data))
    report = verify(log_path, checkpoint=path)
    assert problems(report) == [("bad_signature", 40)]


def test_a_checkpoint_of_another_log_is_reported(log_path: Path, keys, tmp_path: Path) -> None:
    with AuditLog(tmp_path / "other.db", signing_key=keys[0]) as other:
        fill(other, 3)
        cp = other.checkpoint()
    report = verify(log_path, checkpoint=cp)
    assert problems(report) == [("foreign_checkpoint", 3)]


# ---------------------------------------------------------------------------------------------
# several processes, one chain

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from corrigible.containment import AuditLog
    log_path, key, agent, n, go = sys.argv[1:6]
    log = AuditLog(log_path, signing_key=key, checkpoint_every=100)
    Path(go + "." + agent).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    for i in range(int(n)):
        log.append(tool="email", arguments={"i": i}, decision="allow", rule_id="r",
                   reason="ok", policy_version="v1", agent_id=agent)
        if i % 25 == 0:
            time.sleep(0.002)  # yield now and then: on a loaded machine one writer could
                               # otherwise finish before the other is scheduled at all
    log.close()
    """
)


def test_two_processes_appending_to_one_file_make_one_chain(tmp_path: Path, keys) -> None:
    log_path, go, n = tmp_path / "shared.db", tmp_path / "go", 600
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(log_path), str(keys[0]), agent, str(n), str(go)]
        )
        for agent in ("agent-1", "agent-2")
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.agent-{i}").exists() for i in (1, 2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0, 0]

    report = verify(log_path)
    assert report.ok, problems(report)
    assert report.records == 2 * n and report.last_seq == 2 * n
    agents = [r["agent_id"] for r in rows(log_path)]
    assert agents.count("agent-1") == agents.count("agent-2") == n
    switches = sum(a != b for a, b in zip(agents, agents[1:], strict=False))
    assert switches >= 2, "the two writers never interleaved"
    assert report.signed_through == 2 * n  # checkpoints every 100, whoever wrote them


# ---------------------------------------------------------------------------------------------
# misuse and unusable input


def test_misuse_is_one_line_errors(tmp_path: Path, keys) -> None:
    with (
        AuditLog(tmp_path / "a.db") as read_only,
        pytest.raises(AuditError, match="without a signing key"),
    ):
        read_only.append(
            tool="t",
            arguments={},
            decision="allow",
            rule_id="r",
            reason="",
            policy_version="v",
            agent_id="a",
        )
    with AuditLog(tmp_path / "a.db") as read_only, pytest.raises(AuditError, match="signing key"):
        AuditWriter(read_only)
    with pytest.raises(AuditError, match="must name its approver"):
        AuditEntry.for_call(
            tool="t",
            arguments={},
            decision="approved",
            rule_id="r",
            reason="",
            policy_version="v",
            agent_id="a",
        )
    with pytest.raises(AuditError, match="field decision"):
        AuditEntry.for_call(
            tool="t",
            arguments={},
            decision="maybe",  # type: ignore[arg-type]
            rule_id="r",
            reason="",
            policy_version="v",
            agent_id="a",
        )
    with pytest.raises(AuditError, match="not canonical JSON"):
        hash_arguments({"x": float("nan")})
    with pytest.raises(AuditError, match="refusing to overwrite"):
        generate_key(keys[0])
    loose = tmp_path / "loose.key"
    shutil.copy(keys[0], loose)
    os.chmod(loose, 0o644)
    with pytest.raises(AuditError, match="readable by others"):
        load_signing_key(loose)
    foreign = tmp_path / "foreign.db"
    sql(foreign, "CREATE TABLE t (x)")
    with pytest.raises(AuditInputError, match="not an audit log"):
        AuditLog(foreign, signing_key=keys[0])
    for error in (AuditError("x"), AuditInputError("x")):
        assert "\n" not in str(error)


def test_unusable_input_raises_exit_code_2(tmp_path: Path, log_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just some text that is long enough " * 20)
    foreign = tmp_path / "foreign.db"
    sql(foreign, "CREATE TABLE t (x)")
    bad_checkpoint = tmp_path / "bad.json"
    bad_checkpoint.write_text('{"seq": 1}')
    cases = [
        (lambda: verify(tmp_path / "missing.db"), "no such file"),
        (lambda: verify(text), "not an audit log"),
        (lambda: verify(foreign), "not an audit log"),
        (lambda: verify(log_path, checkpoint=bad_checkpoint), "not a checkpoint file"),
        (lambda: verify(log_path, public_key=text), "not a public key"),
    ]
    for call, message in cases:
        with pytest.raises(AuditInputError, match=message) as info:
            call()
        assert info.value.exit_code == 2


# ---------------------------------------------------------------------------------------------
# the CLI


@pytest.fixture(scope="module")
def cli_app() -> typer.Typer:
    """The real root app (its error boundary prints one line and sets the exit code)."""
    from corrigible.cli.app import app

    return app


def run(app: typer.Typer, *args: str | Path):
    return CliRunner().invoke(app, ["audit", *map(str, args)])


def test_cli_verify_intact(cli_app, log_path: Path, keys) -> None:
    result = run(cli_app, "verify", log_path)
    assert result.exit_code == 0, result.output
    assert "intact: 50 records verified" in result.stdout
    assert "key taken from the checkpoint itself" in result.stdout
    result = run(
        cli_app,
        "verify",
        log_path,
        "--checkpoint",
        log_path.parent / "checkpoint.json",
        "--public-key",
        keys[1],
    )
    assert result.exit_code == 0, result.output
    assert "pinned public key" in result.stdout
    assert "taken from the checkpoint" not in result.stdout


def test_cli_verify_tampered_prints_one_line_per_finding(cli_app, log_path: Path) -> None:
    sql(
        log_path,
        "UPDATE records SET reason = 'fine' WHERE seq = 7",
        "DELETE FROM records WHERE seq = 33",
    )
    result = run(cli_app, "verify", log_path)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("TAMPERED")] == [
        "TAMPERED seq 7: content does not match its hash: a field was edited, "
        "or the record was moved here from elsewhere in the log",
        "TAMPERED seq 34: record 33 is missing before it (deleted)",
    ]
    assert lines[-1].startswith("tampered: 2 finding(s), first at seq 7; 49 records scanned")


def test_cli_verify_unusable_input_exits_2_with_one_line(cli_app, tmp_path: Path) -> None:
    missing = run(cli_app, "verify", tmp_path / "nope.db")
    assert missing.exit_code == 2
    assert missing.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.db'}: no such file"]
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    result = run(cli_app, "verify", junk)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not an audit log" in result.stderr


def test_cli_keygen_and_checkpoint(cli_app, tmp_path: Path) -> None:
    key = tmp_path / "k" / "signing.key"
    result = run(cli_app, "keygen", key)
    assert result.exit_code == 0, result.output
    assert (key.stat().st_mode & 0o777) == 0o600 and Path(f"{key}.pub").exists()
    assert run(cli_app, "keygen", key).exit_code == 1  # never overwrites a key
    log = tmp_path / "a.db"
    with AuditLog(log, signing_key=key) as audit:
        fill(audit, 5)
    out = tmp_path / "safe" / "cp.json"
    result = run(cli_app, "checkpoint", log, "--key", key, "--out", out)
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out).seq == 5
    result = run(cli_app, "verify", log, "--checkpoint", out, "--public-key", f"{key}.pub")
    assert result.exit_code == 0, result.output
    missing = run(cli_app, "checkpoint", tmp_path / "none.db", "--key", key, "--out", out)
    assert missing.exit_code == 2 and not (tmp_path / "none.db").exists()


def test_cli_exit_codes_in_a_real_process(log_path: Path, tmp_path: Path) -> None:
    program = "import sys; sys.argv[0] = 'corrigible'; from corrigible.cli.app import main; main()"

    def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", program, "audit", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert cli("verify", log_path).returncode == 0
    sql(log_path, "UPDATE records SET tool = 'shell' WHERE seq = 3")
    tampered = cli("verify", log_path)
    assert tampered.returncode == 1 and "TAMPERED seq 3:" in tampered.stdout
    missing = cli("verify", tmp_path / "gone.db")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_a_log_refuses_a_signing_key_other_than_the_one_its_checkpoints_use(tmp_path: Path) -> None:
    from corrigible.containment.audit import generate_key as make_key

    mine, other = tmp_path / "mine.key", tmp_path / "other.key"
    make_key(mine)
    make_key(other)
    log_path = tmp_path / "audit.sqlite"
    with AuditLog(log_path, signing_key=mine) as log:
        log.append(**_ENTRY_FIELDS_FOR_KEY_TEST)
        log.checkpoint()
    with (
        AuditLog(log_path, signing_key=other) as log,
        pytest.raises(AuditError, match="is not this log's key"),
    ):
        log.append(**_ENTRY_FIELDS_FOR_KEY_TEST)
    with AuditLog(log_path, signing_key=other) as log, pytest.raises(AuditError):
        log.checkpoint()
    report = verify(log_path, public_key=tmp_path / "mine.key.pub")
    assert report.ok and report.records == 1


_ENTRY_FIELDS_FOR_KEY_TEST = {
    "tool": "email",
    "arguments": {"to": "a@b.example"},
    "decision": "allow",
    "rule_id": "default",
    "reason": "declared tool",
    "policy_version": "1.0",
    "agent_id": "agent",
}


def test_a_public_key_given_as_the_signing_key_says_so(tmp_path: Path) -> None:
    from corrigible.containment.audit import generate_key as make_key

    public = make_key(tmp_path / "k.key")
    with pytest.raises(AuditError, match="is a public key; signing needs the private key"):
        AuditLog(tmp_path / "a.sqlite", signing_key=public)
