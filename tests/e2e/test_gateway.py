"""The MCP gateway: its decision logic without transport, then end to end — a real MCP client
(the SDK's) launches ``corrigible gateway … -- python -m corrigible.testing.mcp_server`` and
checks what the client sees, what the server really did, and what the audit log holds."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import anyio
import mcp.types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from typer.testing import CliRunner

from corrigible.cli.app import app
from corrigible.containment.approvals import ApprovalQueue, ApprovalResult
from corrigible.containment.audit import AuditLog, generate_key, verify
from corrigible.containment.gateway import (
    DECISION_META_KEY,
    Gateway,
    result_labels,
)
from corrigible.containment.guard import GuardDecision, load_policy, parse_policy
from corrigible.testing import mcp_server

POLICY = Path(
    str(resources.files("corrigible.containment") / "policies" / "examples" / "mcp-demo.yaml")
)
CLI = [sys.executable, "-m", "corrigible.cli.app"]
SERVER = [sys.executable, "-m", "corrigible.testing.mcp_server"]
SECRET = mcp_server.DOCUMENTS["doc-2"]["text"]
INSIDE = "dana.lee@halcyon-dynamics.com"
OUTSIDE = "deals@kestrel-rival.example"


# -- the decision logic, no subprocess ------------------------------------------------------------


class Upstream:
    """A stand-in for the wrapped server: the simulated company, and a log of what reached it."""

    def __init__(self) -> None:
        self.company = mcp_server.Company(None)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        self.calls.append((tool, arguments))
        return self.company.call(tool, arguments)


class ListAudit:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[dict[str, Any]] = []
        self.fail = fail

    def append(self, **record: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.records.append(record)


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))


def call(gateway: Gateway, upstream: Upstream, tool: str, **args: Any) -> types.CallToolResult:
    async def go() -> types.CallToolResult:
        return await gateway.call_tool(tool, args, upstream)

    return anyio.run(go)


def test_labels_from_meta_make_the_result_tracked() -> None:
    gateway, upstream = Gateway(load_policy(POLICY)), Upstream()
    read = call(gateway, upstream, "read_document", doc_id="doc-2")
    assert not read.is_error and SECRET in text_of(read)
    assert result_labels(read) == (frozenset({"confidential"}), "doc-2")
    out = call(gateway, upstream, "send_email", to=OUTSIDE, subject="fyi", body=SECRET[40:200])
    assert out.is_error
    assert "no-confidential-outside" in text_of(out)
    assert SECRET[40:200] not in text_of(out)  # the refusal never echoes what it caught
    assert (
        out.meta is not None and out.meta[DECISION_META_KEY]["rule_id"] == "no-confidential-outside"
    )
    assert [t for t, _ in upstream.calls] == ["read_document"]


def test_policy_declared_sensitive_source_is_tracked_without_labels() -> None:
    policy = parse_policy(
        {
            "version": "1",
            "name": "p",
            "default": "allow",
            "boundary": {"domains": ["halcyon-dynamics.com"]},
            "tools": [
                {"name": "list_documents", "sensitive_source": True},
                {"name": "send_email", "recipients": ["to"]},
            ],
            "rules": [
                {"id": "r", "effect": "block", "reason": "no", "when": {"carries": "sensitive"}}
            ],
        }
    )
    gateway, upstream = Gateway(policy), Upstream()
    listing = text_of(call(gateway, upstream, "list_documents"))
    out = call(gateway, upstream, "send_email", to=OUTSIDE, subject="s", body=listing)
    assert out.is_error and "rule r" in text_of(out)


def test_malformed_labels_withhold_the_result() -> None:
    gateway = Gateway(load_policy(POLICY))

    async def forward(tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return types.CallToolResult(
            content=[types.TextContent(text="secret stuff")], _meta={"corrigible/labels": 7}
        )

    async def go() -> types.CallToolResult:
        return await gateway.call_tool("read_document", {"doc_id": "x"}, forward)

    result = anyio.run(go)
    assert result.is_error and "withheld" in text_of(result)
    assert "secret stuff" not in text_of(result)


def test_an_audit_log_that_fails_stops_the_call() -> None:
    gateway, upstream = Gateway(load_policy(POLICY), audit=ListAudit(fail=True)), Upstream()
    out = call(gateway, upstream, "send_email", to=INSIDE, subject="s", body="hello")
    assert out.is_error and "audit log" in text_of(out)
    assert upstream.calls == []


def test_halt_blocks_every_later_call() -> None:
    gateway, upstream = Gateway(load_policy(POLICY)), Upstream()
    gateway.halt("test")
    out = call(gateway, upstream, "list_documents")
    assert out.is_error and "kill-switch" in text_of(out) and upstream.calls == []


class Approver:
    def __init__(self, approved: bool, fail: bool = False) -> None:
        self.approved, self.fail = approved, fail
        self.asked: list[GuardDecision] = []

    async def decide(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: GuardDecision,
        agent_id: str,
        timeout: float,
    ) -> ApprovalResult:
        self.asked.append(decision)
        if self.fail:
            raise RuntimeError("queue is gone")
        status: Literal["approved", "denied"] = "approved" if self.approved else "denied"
        return ApprovalResult(
            approved=self.approved,
            status=status,
            approver="ops",
            note=None,
            request_id="r1",
            reason=f"{status} by ops",
        )


@pytest.mark.parametrize(
    ("approver", "forwarded", "says"),
    [
        (None, False, "no approver is configured"),
        (Approver(True), True, "sent to"),
        (Approver(False), False, "denied by ops"),
        (Approver(True, fail=True), False, "approval queue failed"),
    ],
)
def test_require_approval(approver: Approver | None, forwarded: bool, says: str) -> None:
    audit = ListAudit()
    gateway, upstream = Gateway(load_policy(POLICY), audit=audit, approvals=approver), Upstream()
    out = call(gateway, upstream, "send_email", to=OUTSIDE, subject="lunch", body="see you at noon")
    assert says in text_of(out)
    assert out.is_error is not forwarded
    assert bool(upstream.calls) is forwarded
    assert audit.records[0]["decision"] == "require_approval"
    assert audit.records[0]["rule_id"] == "external-mail-needs-approval"
    if approver is None:  # the gateway records its own denial; a queue records the human's
        assert [r["decision"] for r in audit.records] == ["require_approval", "denied"]


class HaltingApprover(Approver):
    """A human approves while an operator engages the kill switch during the wait."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(approved=True)
        self.gateway = gateway

    async def decide(self, **kwargs: Any) -> ApprovalResult:
        self.gateway.halt("operator pressed stop")
        return await super().decide(**kwargs)


def test_the_kill_switch_beats_an_approval_given_during_the_wait() -> None:
    gateway, upstream = Gateway(load_policy(POLICY)), Upstream()
    gateway.approvals = HaltingApprover(gateway)
    out = call(gateway, upstream, "send_email", to=OUTSIDE, subject="lunch", body="see you")
    assert out.is_error and "kill switch is engaged" in text_of(out)
    assert upstream.calls == []


# -- end to end -----------------------------------------------------------------------------------


def gateway_params(tmp_path: Path, *extra: str, outbox: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=CLI[0],
        args=[*CLI[1:], "gateway", "--policy", str(POLICY), *extra, "--", *SERVER],
        env={**os.environ, mcp_server.OUTBOX_ENV: str(outbox), "NO_COLOR": "1"},
        cwd=tmp_path,
    )


def actions(outbox: Path) -> list[dict[str, Any]]:
    path = outbox / mcp_server.ACTIONS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def audit_rows(log: Path) -> list[tuple[str, str, str]]:
    with AuditLog(log) as audit:
        return [(r.tool, r.decision, r.rule_id) for r in audit.records()]


@pytest.mark.timeout(60)
def test_gateway_end_to_end(tmp_path: Path) -> None:
    key, log, outbox = tmp_path / "audit.key", tmp_path / "audit.sqlite", tmp_path / "outbox"
    generate_key(key)
    stderr_path = tmp_path / "gateway.stderr"
    params = gateway_params(
        tmp_path,
        "--audit",
        str(log),
        "--audit-key",
        str(key),
        "--agent",
        "doc-agent",
        outbox=outbox,
    )
    seen: dict[str, Any] = {}

    async def session() -> None:
        with stderr_path.open("w") as errlog, anyio.fail_after(45):
            async with Client(stdio_client(params, errlog=errlog)) as client:  # type: ignore[arg-type]
                listed = (await client.list_tools()).tools
                seen["tools"] = [(t.name, t.description, t.input_schema) for t in listed]

                async def use(tool: str, **args: Any) -> types.CallToolResult:
                    return await client.call_tool(tool, args)

                seen["list"] = await use("list_documents")
                seen["read"] = await use("read_document", doc_id="doc-2")
                seen["internal"] = await use("send_email", to=INSIDE, subject="memo", body=SECRET)
                seen["leak"] = await use("send_email", to=OUTSIDE, subject="memo", body=SECRET)
                encoded = base64.b64encode(SECRET.encode()).decode()
                seen["leak_b64"] = await use("send_email", to=OUTSIDE, subject="x", body=encoded)
                seen["leak_paraphrase"] = await use(
                    "send_email",
                    to="me@gmail.com",
                    subject="news",
                    body="Heads up: Halcyon is about to buy Kestrel, roughly $48m.",
                )
                seen["undeclared"] = await use("delete_document", doc_id="doc-2")
                seen["unknown"] = await use("exfiltrate", where=OUTSIDE)
                seen["approval"] = await use("send_email", to=OUTSIDE, subject="hi", body="lunch?")
                match = re.search(r"pid (\d+)", stderr_path.read_text())
                assert match, stderr_path.read_text()
                os.kill(int(match.group(1)), signal.SIGUSR1)
                for _ in range(50):  # the signal is handled on the gateway's event loop
                    seen["halted"] = await use("list_documents")
                    if seen["halted"].is_error:
                        break
                    await anyio.sleep(0.05)

    anyio.run(session)

    # the client sees the wrapped server's tools, as the server declares them
    assert seen["tools"] == [(t.name, t.description, t.input_schema) for t in mcp_server.TOOLS]
    assert not seen["list"].is_error and "doc-2" in text_of(seen["list"])
    assert not seen["read"].is_error and SECRET in text_of(seen["read"])
    assert not seen["internal"].is_error  # sharing inside the company is allowed
    for name in ("leak", "leak_b64", "leak_paraphrase"):
        assert seen[name].is_error, name
        assert "rule no-confidential-outside" in text_of(seen[name]), name
        assert SECRET[:60] not in text_of(seen[name])
    for name in ("undeclared", "unknown"):
        assert seen[name].is_error and "rule fail-closed" in text_of(seen[name]), name
    assert seen["approval"].is_error
    assert "no approver is configured" in text_of(seen["approval"])
    assert seen["halted"].is_error and "rule kill-switch" in text_of(seen["halted"])

    # what the server really did: only the internal email went out; nothing was deleted
    assert actions(outbox) == [
        {"tool": "send_email", "to": INSIDE, "subject": "memo", "body": SECRET}
    ]

    # one record per decision (and the gateway's own denial), chain intact, arguments not kept
    assert audit_rows(log) == [
        ("list_documents", "allow", "default"),
        ("read_document", "allow", "default"),
        ("send_email", "allow", "default"),
        ("send_email", "block", "no-confidential-outside"),
        ("send_email", "block", "no-confidential-outside"),
        ("send_email", "block", "no-confidential-outside"),
        ("delete_document", "block", "fail-closed"),
        ("exfiltrate", "block", "fail-closed"),
        ("send_email", "require_approval", "external-mail-needs-approval"),
        ("send_email", "denied", "external-mail-needs-approval"),
        ("list_documents", "block", "kill-switch"),
    ]
    with AuditLog(log) as audit:
        records = list(audit.records())
    assert {r.agent_id for r in records} == {"doc-agent"}
    assert {r.policy_version for r in records} == {"1.0"}
    report = verify(log)
    assert report.ok and report.records == len(records)
    assert report.signed_through == len(records)  # the gateway signs the tail as it stops
    assert b"Kestrel" not in log.read_bytes()
    # stderr is for people; the start-up line names the policy
    assert "policy mcp-gateway-demo 1.0" in stderr_path.read_text()


@pytest.mark.timeout(60)
def test_gateway_with_an_approval_queue(tmp_path: Path) -> None:
    key, log, outbox = tmp_path / "audit.key", tmp_path / "audit.sqlite", tmp_path / "outbox"
    db = tmp_path / "approvals.db"
    generate_key(key)
    params = gateway_params(
        tmp_path,
        *("--audit", str(log), "--audit-key", str(key)),
        *("--approvals", str(db), "--approval-timeout", "20"),
        outbox=outbox,
    )
    verdicts = iter([("approve", "lunch?"), ("deny", "the plan")])
    stop = threading.Event()

    def human() -> None:
        """An operator in another process would run `corrigible approvals approve ID`."""
        while not stop.is_set():
            if db.exists():
                with ApprovalQueue(db, create=False) as queue:
                    for request in queue.pending():
                        verb, _ = next(verdicts)
                        getattr(queue, verb)(request.id, "alice", note="checked")
            time.sleep(0.05)

    results: list[types.CallToolResult] = []

    async def session() -> None:
        with anyio.fail_after(45):
            async with Client(params) as client:
                results.append(
                    await client.call_tool(
                        "send_email", {"to": OUTSIDE, "subject": "hi", "body": "lunch?"}
                    )
                )
                results.append(
                    await client.call_tool(
                        "send_email", {"to": OUTSIDE, "subject": "hi", "body": "the plan"}
                    )
                )

    thread = threading.Thread(target=human, daemon=True)
    thread.start()
    try:
        anyio.run(session)
    finally:
        stop.set()
        thread.join(5)

    approved, denied = results
    assert not approved.is_error and "sent to" in text_of(approved)
    assert denied.is_error and "denied by alice" in text_of(denied)
    assert [a["body"] for a in actions(outbox)] == ["lunch?"]
    rows = audit_rows(log)
    assert [(d, r) for _, d, r in rows] == [
        ("require_approval", "external-mail-needs-approval"),
        ("approved", "external-mail-needs-approval"),
        ("require_approval", "external-mail-needs-approval"),
        ("denied", "external-mail-needs-approval"),
    ]
    with AuditLog(log) as audit:
        assert [r.approver for r in audit.records()] == [None, "alice", None, "alice"]
    assert verify(log).ok


@pytest.mark.timeout(60)
def test_gateway_over_streamable_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [*CLI, "gateway", "--policy", str(POLICY), "--http", str(port), "--", *SERVER],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, types.CallToolResult] = {}

    async def session() -> None:
        with anyio.fail_after(40):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    assert proc.poll() is None, "the gateway exited"
                    await anyio.sleep(0.1)
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                seen["read"] = await client.call_tool("read_document", {"doc_id": "doc-2"})
                seen["leak"] = await client.call_tool(
                    "send_email", {"to": OUTSIDE, "subject": "s", "body": SECRET}
                )

    try:
        anyio.run(session)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert not seen["read"].is_error
    assert seen["leak"].is_error and "no-confidential-outside" in text_of(seen["leak"])
    assert out == ""
    assert f"http://127.0.0.1:{port}/mcp" in err


@pytest.mark.timeout(60)
def test_a_wrapped_command_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["gateway", "--policy", str(POLICY), "--", "no-such-mcp-server", "--flag"]
    )
    assert result.exit_code == 1
    assert result.stdout == ""  # stdout is the MCP channel
    assert result.stderr.strip().splitlines() == [
        "error: cannot start the MCP server `no-such-mcp-server --flag`: command not found"
    ]


def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["gateway", "--policy", str(POLICY), "--http", str(port), "--", *SERVER]
        )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    no_command = runner.invoke(app, ["gateway", "--policy", str(POLICY)])
    assert no_command.exit_code == 2
    assert "MCP server to wrap" in no_command.output
    no_key = runner.invoke(
        app, ["gateway", "--policy", str(POLICY), "--audit", "a.sqlite", "--", *SERVER]
    )
    assert no_key.exit_code == 2
    assert "corrigible audit keygen KEY" in no_key.output
    bad_policy = runner.invoke(app, ["gateway", "--policy", "missing.yaml", "--", *SERVER])
    assert bad_policy.exit_code == 2 and "no such policy file" in bad_policy.output
