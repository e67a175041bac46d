"""Approvals: a ``require_approval`` call waits for a human, decided from another process.

Everything is real: the deciders are the ``corrigible`` CLI run as subprocesses and the HTTP
endpoint served by uvicorn on a loopback port; outcomes land in a real signed audit log, which
must verify intact afterwards. Every wait has a timeout, so a broken queue fails, never hangs.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from corrigible.containment.approvals import (
    ApprovalInputError,
    ApprovalQueue,
    ApprovalRequest,
    ApprovalStoreError,
    NotPendingError,
    UnknownApprovalError,
    create_app,
    listen,
)
from corrigible.containment.audit import AuditLog, generate_key, hash_arguments, verify
from corrigible.containment.guard import GuardDecision

pytestmark = pytest.mark.timeout(60)

CORRIGIBLE = Path(sys.executable).with_name("corrigible")
LIGHT = (str(CORRIGIBLE), "approvals")
ARGS = {"to": "ceo@rival.example", "subject": "Q3 plan", "body": "see attached"}
RULE = "external-mail-needs-approval"


def require_approval(tool: str = "send_email") -> GuardDecision:
    return GuardDecision(
        effect="require_approval",
        rule_id=RULE,
        reason="recipient outside halcyon-dynamics.com: ceo@rival.example",
        policy_version="policy-v7",
        tool=tool,
    )


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "audit.key"
    generate_key(path)
    return path


@pytest.fixture
def audit(tmp_path: Path, key: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "audit.db", signing_key=key, checkpoint_every=2) as log:
        yield log


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "approvals.db"


@pytest.fixture
def queue(db: Path, audit: AuditLog) -> Iterator[ApprovalQueue]:
    with ApprovalQueue(db, audit=audit, poll=0.05) as q:
        yield q


def submit(queue: ApprovalQueue, timeout: float = 30, **arguments: Any) -> ApprovalRequest:
    return queue.submit(
        tool="send_email",
        arguments=arguments or ARGS,
        decision=require_approval(),
        agent_id="mailer-1",
        timeout=timeout,
    )


def audited(audit: AuditLog) -> list[Any]:
    """The records of the log, after checking the whole chain and its checkpoints verify."""
    report = verify(audit.path)
    assert report.ok, [f.line() for f in report.findings]
    return list(audit.records())


def cli_process(*args: str | Path, entry_point: bool = False) -> subprocess.Popen[str]:
    """The CLI in a process of its own, as an operator in another terminal runs it.

    The installed ``corrigible`` executable either way (it starts in a fraction of a second:
    commands import what they need when they run); ``entry_point`` is kept for the callers that
    name it.
    """
    command = [str(CORRIGIBLE), "approvals"] if entry_point else [*LIGHT]
    return subprocess.Popen(
        [*command, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=45)
    return process.returncode, out, err


# ---------------------------------------------------------------------------------------------
# deciding from another process


def test_approve_and_deny_from_cli_processes_while_waiters_block(
    queue: ApprovalQueue, audit: AuditLog, db: Path
) -> None:
    yes = submit(queue)
    no = submit(queue, to="x@personal.example", body="the plan")
    with ThreadPoolExecutor(2) as pool:
        waiting_yes = pool.submit(queue.wait, yes.id, 40)
        waiting_no = pool.submit(queue.wait, no.id, 40)
        time.sleep(0.1)
        assert not waiting_yes.done() and not waiting_no.done()  # both blocked on a human
        approver = cli_process("approve", yes.id, "--db", db, "--as", "alice", "--note", "once")
        denier = cli_process("deny", no.id, "--db", db, "--as", "bob")
        approved, denied = waiting_yes.result(45), waiting_no.result(45)
    code, out, err = finish(approver)
    assert (code, err) == (0, ""), err
    assert out.strip() == (f"approved {yes.id}: send_email for mailer-1 (rule {RULE}) by alice")
    code, out, err = finish(denier)
    assert (code, err) == (0, ""), err
    assert out.startswith(f"denied {no.id}: send_email")

    assert approved.approved and approved.status == "approved"
    assert (approved.approver, approved.note, approved.request_id) == ("alice", "once", yes.id)
    assert approved.reason == f"approved by alice (approval {yes.id}): once"
    assert not denied.approved and denied.status == "denied" and denied.approver == "bob"

    records = audited(audit)
    by_decision = {r.decision: r for r in records}
    assert sorted(by_decision) == ["approved", "denied"] and len(records) == 2
    ok, refused = by_decision["approved"], by_decision["denied"]
    assert ok.approver == "alice" and refused.approver == "bob"
    assert ok.arguments_sha256 == hash_arguments(ARGS)
    assert refused.arguments_sha256 == hash_arguments(
        {"to": "x@personal.example", "body": "the plan"}
    )
    for record in records:
        assert (record.rule_id, record.policy_version) == (RULE, "policy-v7")
        assert (record.tool, record.agent_id) == ("send_email", "mailer-1")


def test_timeout_denies_and_a_late_cli_approve_fails_with_one_line(
    queue: ApprovalQueue, audit: AuditLog, db: Path
) -> None:
    request = submit(queue, timeout=0.3)
    started = time.monotonic()
    result = queue.wait(request.id)
    assert 0.25 <= time.monotonic() - started < 5
    assert not result.approved and result.status == "expired" and result.approver is None
    assert result.reason == f"no decision within 0.3 s (approval {request.id})"

    late = cli_process("approve", request.id, "--db", db, "--as", "alice", entry_point=True)
    code, out, err = finish(late)
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: approval {request.id} has expired (no decision within 0.3 s)")
    assert "can no longer be approved" in err
    assert queue.get(request.id).status == "expired"

    [record] = audited(audit)
    assert (record.decision, record.approver) == ("denied", None)
    assert record.reason == result.reason
    assert (record.rule_id, record.policy_version) == (RULE, "policy-v7")


def test_an_expired_request_cannot_be_approved_even_when_its_waiter_died(
    queue: ApprovalQueue, audit: AuditLog, db: Path
) -> None:
    request = submit(queue, timeout=0.2)  # and nobody waits for it
    time.sleep(0.3)
    assert queue.pending() == []
    assert queue.get(request.id).status == "expired"  # reads as expired before anyone marks it
    with ApprovalQueue(db, create=False) as operator:  # a decider's own connection
        with pytest.raises(NotPendingError, match=r"expired at .* can no longer be approved"):
            operator.approve(request.id, "alice")
        with pytest.raises(NotPendingError, match="has expired"):
            operator.deny(request.id, "alice")
    # a restarted waiter learns the denial, and audits it once however often it asks
    for _ in range(2):
        result = queue.wait(request.id, timeout=1)
        assert result.status == "expired" and not result.approved
    [record] = audited(audit)
    assert record.decision == "denied" and record.reason.startswith("no decision within 0.2 s")


def test_a_wait_shorter_than_the_expiry_withdraws_the_request(
    queue: ApprovalQueue, audit: AuditLog
) -> None:
    request = submit(queue, timeout=30)
    result = queue.wait(request.id, timeout=0.1)
    assert result.status == "expired" and result.reason.startswith("no decision within 0.1 s")
    with pytest.raises(NotPendingError, match="has expired"):
        queue.approve(request.id, "alice")
    assert [r.decision for r in audited(audit)] == ["denied"]


def test_every_request_is_decided_exactly_once_under_a_race(queue: ApprovalQueue, db: Path) -> None:
    request = submit(queue)
    deciders = [ApprovalQueue(db, create=False) for _ in range(8)]
    barrier = threading.Barrier(len(deciders))

    def decide(i: int) -> str:
        barrier.wait(5)
        try:
            q = deciders[i]
            (q.approve if i % 2 else q.deny)(request.id, f"op{i}")
            return "won"
        except NotPendingError:
            return "lost"

    with ThreadPoolExecutor(len(deciders)) as pool:
        outcomes = list(pool.map(decide, range(len(deciders))))
    for d in deciders:
        d.close()
    assert outcomes.count("won") == 1
    winner = outcomes.index("won")
    final = queue.get(request.id)
    assert final.approver == f"op{winner}"
    assert final.status == ("approved" if winner % 2 else "denied")


# ---------------------------------------------------------------------------------------------
# the async side the gateway awaits


def test_async_decide_does_not_block_the_event_loop(
    queue: ApprovalQueue, audit: AuditLog, db: Path
) -> None:
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    def operator() -> None:
        with ApprovalQueue(db, create=False) as q:
            deadline = time.monotonic() + 10
            while not q.pending() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.4)
            q.approve(q.pending()[0].id, "carol", "checked the recipient")

    async def main() -> Any:
        stop = asyncio.Event()
        tick_task = asyncio.create_task(ticker(stop))
        result = await asyncio.wait_for(
            queue.decide(
                tool="send_email",
                arguments=ARGS,
                decision=require_approval(),
                agent_id="mailer-1",
                timeout=30,
            ),
            timeout=20,
        )
        stop.set()
        await tick_task
        return result

    human = threading.Thread(target=operator)
    human.start()
    result = asyncio.run(main())
    human.join(10)
    assert result.approved and result.approver == "carol"
    assert ticks >= 15  # the loop kept running through a wait of at least 0.4 s
    [record] = audited(audit)
    assert (record.decision, record.approver) == ("approved", "carol")


def test_cancelling_decide_withdraws_the_request(queue: ApprovalQueue, audit: AuditLog) -> None:
    async def main() -> None:
        task = asyncio.create_task(
            queue.decide(
                tool="send_email",
                arguments=ARGS,
                decision=require_approval(),
                agent_id="mailer-1",
                timeout=30,
            )
        )
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    [request] = queue.requests()
    assert request.status == "expired" and request.note is not None
    assert request.note.startswith("withdrawn")
    with pytest.raises(NotPendingError):
        queue.approve(request.id, "alice")
    [record] = audited(audit)
    assert record.decision == "denied" and "withdrawn" in record.reason


# ---------------------------------------------------------------------------------------------
# input checks


def test_submit_refuses_what_is_not_a_well_formed_approval(queue: ApprovalQueue) -> None:
    blocked = GuardDecision(effect="block", rule_id="r", reason="no", policy_version="v1")
    with pytest.raises(ApprovalInputError, match="require_approval decision, got effect 'block'"):
        queue.submit(tool="t", arguments={}, decision=blocked, agent_id="a", timeout=5)
    for bad in (0, -1, float("nan"), float("inf"), True, "5"):
        with pytest.raises(ApprovalInputError, match="timeout"):
            queue.submit(
                tool="t", arguments={}, decision=require_approval(), agent_id="a", timeout=bad
            )
    with pytest.raises(ApprovalInputError, match="field agent_id"):
        queue.submit(tool="t", arguments={}, decision=require_approval(), agent_id="", timeout=5)
    with pytest.raises(ApprovalInputError, match="arguments of 't'.*not canonical JSON"):
        queue.submit(
            tool="t", arguments={"x": {1, 2}}, decision=require_approval(), agent_id="a", timeout=5
        )
    assert queue.requests() == []


def test_a_decision_names_a_human_and_happens_once(queue: ApprovalQueue) -> None:
    request = submit(queue)
    for nobody, why in [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("alice\nApproved by: bob", "control character U\\+000A"),
        ("\x1b[2Jalice", "control character U\\+001B"),
        ("x" * 201, "at most 200"),
    ]:
        with pytest.raises(ApprovalInputError, match=why):
            queue.approve(request.id, nobody)
    with pytest.raises(UnknownApprovalError, match="no approval request 'nope'"):
        queue.approve("nope", "alice")
    decided = queue.approve(request.id, "  alice  ", note="  ")
    assert (decided.status, decided.approver, decided.note) == ("approved", "alice", None)
    with pytest.raises(
        NotPendingError, match=r"already approved by alice at .*no longer be denied"
    ):
        queue.deny(request.id, "bob")


def test_the_database_is_private_and_survives_reopening(db: Path) -> None:
    with ApprovalQueue(db) as q:
        request = submit(q)
    assert db.stat().st_mode & 0o077 == 0  # arguments may carry secrets
    with ApprovalQueue(db, create=False) as q:
        assert [r.id for r in q.pending()] == [request.id]
        assert q.get(request.id).arguments == ARGS


@pytest.mark.parametrize("kind", ["missing", "directory", "audit log", "text file", "other db"])
def test_a_bad_database_is_one_clear_error(tmp_path: Path, key: Path, kind: str) -> None:
    path = tmp_path / "x.db"
    expected = {
        "missing": "no such approvals database",
        "directory": "is a directory, not an approvals database",
        "audit log": "not an approvals database (format 'corrigible-audit-log'",
        "text file": "not an approvals database (file is not a database)",
        "other db": "not an approvals database (no meta table)",
    }[kind]
    if kind == "directory":
        path.mkdir()
    elif kind == "audit log":
        AuditLog(path, signing_key=key).close()
    elif kind == "text file":
        path.write_text("hello, this is not SQLite\n" * 10)
    elif kind == "other db":
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE t (x)")
        other.close()
    with pytest.raises(ApprovalStoreError, match=re.escape(expected)) as info:
        ApprovalQueue(path, create=False)
    assert info.value.exit_code == 2

    result = run_cli("list", "--db", path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith(f"error: {path}: ")
    assert expected in result.output


# ---------------------------------------------------------------------------------------------
# CLI output (in process: the subprocess tests above cover the real executable)


def run_cli(*args: str | Path) -> Any:
    from corrigible.cli.app import app

    return CliRunner().invoke(app, ["approvals", *map(str, args)])


def test_cli_list_and_show(queue: ApprovalQueue, db: Path) -> None:
    assert run_cli("list", "--db", db).output == f"no pending approval requests in {db}\n"
    sneaky = {"to": "ceo@h\u0430lcyon-dynamics.com", "body": "ok\x1b[2J"}
    request = submit(queue, **sneaky)
    other = submit(queue, to="x@rival.example", body="b" * 300)
    queue.deny(other.id, "bob")

    result = run_cli("list", "--db", db)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b" not in out  # no escape sequence reaches the terminal
    for text in (request.id, "mailer-1", "send_email", RULE, "recipient outside"):
        assert text in out
    assert other.id not in out  # decided: not pending
    assert '"ok\\u001b[2J"' in out and "\\u0430" in out  # escaped, and a look-alike shows
    assert "expires in" in out and re.search(r"\b(29|30)s\b", out)

    history = run_cli("list", "--db", db, "--all").output
    assert request.id in history and other.id in history and "denied by bob" in history
    listed = json.loads(run_cli("list", "--db", db, "--all", "--json").output)
    assert {r["id"]: r["status"] for r in listed} == {request.id: "pending", other.id: "denied"}
    assert "\x1b" not in run_cli("list", "--db", db, "--json").output  # escaped in JSON too

    shown = run_cli("show", request.id, "--db", db)
    assert shown.exit_code == 0 and "\x1b" not in shown.output and "\\u0430" in shown.output
    data = json.loads(shown.output)
    assert data["arguments"] == sneaky and data["status"] == "pending"
    assert data["arguments_sha256"] == hash_arguments(sneaky)

    missing = run_cli("show", "nope", "--db", db)
    assert missing.exit_code == 1 and missing.output == (
        f"error: {db}: no approval request 'nope'\n"
    )
    unnamed = run_cli("approve", request.id, "--db", db, "--as", " ")
    assert unnamed.exit_code == 2 and "approver must not be empty" in unnamed.output
    assert queue.get(request.id).status == "pending"


def test_cli_serve_refuses_a_public_address_without_a_token(db: Path) -> None:
    result = run_cli("serve", "--db", db, "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "refusing to serve approvals beyond loopback without a token" in result.output


# ---------------------------------------------------------------------------------------------
# the HTTP endpoint, served for real


class Served:
    def __init__(self, queue: ApprovalQueue, token: str | None) -> None:
        self.sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(queue, token), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "approvals endpoint did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def endpoint(db: Path, queue: ApprovalQueue) -> Iterator[httpx.Client]:
    with ApprovalQueue(db, create=False) as server_side:  # as a separate process would
        served = Served(server_side, token="t0ken")
        try:
            with httpx.Client(
                base_url=served.url, headers={"Authorization": "Bearer t0ken"}, timeout=10
            ) as client:
                yield client
        finally:
            served.stop()


def test_http_list_approve_and_deny(
    endpoint: httpx.Client, queue: ApprovalQueue, audit: AuditLog
) -> None:
    yes, no = submit(queue), submit(queue, to="x@rival.example")
    listed = endpoint.get("/approvals")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [yes.id, no.id]
    assert listed.json()[0]["arguments"] == ARGS

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(queue.wait, yes.id, 20)
        time.sleep(0.1)
        answer = endpoint.post(f"/approvals/{yes.id}/approve", json={"approver": "dana"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "approved" and answer.json()["approver"] == "dana"
        assert waiting.result(20).approved

    answer = endpoint.post(f"/approvals/{no.id}/deny", json={"approver": "dana", "note": "no"})
    assert answer.status_code == 200 and answer.json()["note"] == "no"
    assert endpoint.get(f"/approvals/{no.id}").json()["status"] == "denied"
    assert endpoint.get("/approvals").json() == []
    assert queue.wait(no.id, timeout=5).status == "denied"
    assert [(r.decision, r.approver) for r in audited(audit)] == [
        ("approved", "dana"),
        ("denied", "dana"),
    ]

    again = endpoint.post(f"/approvals/{no.id}/approve", json={"approver": "eve"})
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"approval {no.id} was already denied by dana")


def test_http_errors(endpoint: httpx.Client, queue: ApprovalQueue) -> None:
    request = submit(queue)
    url = f"/approvals/{request.id}/approve"
    assert endpoint.get("/approvals/nope").status_code == 404
    assert endpoint.post("/approvals/nope/deny", json={"approver": "a"}).status_code == 404
    for body, field in [
        ({}, "field body.approver: Field required"),
        ({"approver": ""}, "field body.approver"),
        ({"approver": "a", "extra": 1}, "field body.extra: unknown key"),
        ({"approver": "   "}, "approver must not be empty"),
        ({"approver": "a\nb"}, "control character"),
    ]:
        answer = endpoint.post(url, json=body)
        assert answer.status_code == 422, body
        assert field in answer.json()["detail"]
    not_json = endpoint.post(url, content=b"approver=a", headers={"content-type": "text/plain"})
    assert not_json.status_code == 422

    bare = httpx.Client(base_url=str(endpoint.base_url), timeout=10)
    with bare:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken"}):
            answer = bare.get("/approvals", headers=headers)
            assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
            assert bare.post(url, json={"approver": "a"}, headers=headers).status_code == 401
        for host in ("evil.example", "[::1]evil.com", "localhost:1@evil.com", "localhost:99999999"):
            rebound = bare.get(
                "/approvals", headers={"Authorization": "Bearer t0ken", "Host": host}
            )
            assert rebound.status_code == 400, host
    assert queue.get(request.id).status == "pending"  # nothing above decided it


def test_cli_serve_in_a_real_process(db: Path, queue: ApprovalQueue) -> None:
    request = submit(queue)
    process = subprocess.Popen(
        [*LIGHT, "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"CORRIGIBLE_APPROVALS_TOKEN": "s3cret", "PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # blocks until ready (or the process died)
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/approvals \(token required\)", line)
        assert match, line + process.stderr.read()
        with httpx.Client(base_url=match[1], timeout=10) as client:
            assert client.get("/approvals").status_code == 401
            auth = {"Authorization": "Bearer s3cret"}
            assert [r["id"] for r in client.get("/approvals", headers=auth).json()] == [request.id]
            answer = client.post(
                f"/approvals/{request.id}/deny", json={"approver": "frank"}, headers=auth
            )
            assert answer.status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert queue.wait(request.id, timeout=5).approver == "frank"
