"""The gateway answers every malformed JSON-RPC message over stdio, in a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corrigible.containment.gateway._jsonrpc import problem_of

POLICY = (
    Path(__file__).resolve().parents[2]
    / "src/corrigible/containment/policies/examples/mcp-demo.yaml"
)
CLI = [sys.executable, "-m", "corrigible.cli.app"]
SERVER = [sys.executable, "-m", "corrigible.testing.mcp_server"]

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
BAD = [
    ("{bad json", -32700, None),
    ("[1, 2]", -32600, None),
    ('"just a string"', -32600, None),
    ('{"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": [1, 2]}', -32602, 11),
    ('{"jsonrpc": "1.0", "id": 12, "method": "ping"}', -32600, 12),
    ("[" * 100_000 + "]" * 100_000, -32700, None),
    (
        '{"jsonrpc": "2.0", "id": 13, "method": "ping", "params": {"n": ' + "9" * 5000 + "}}",
        -32700,
        None,
    ),
]


@pytest.mark.parametrize(("line", "code", "ident"), BAD)
def test_each_fault_has_its_error(line: str, code: int, ident: object) -> None:
    problem = problem_of(line)
    assert problem is not None and problem[0] == code and problem[2] == ident


@pytest.mark.timeout(90)
def test_a_gateway_process_answers_malformed_messages_and_keeps_serving(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "gateway", "--policy", str(POLICY), "--", *SERVER],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(INIT) + "\n")
        proc.stdin.flush()
        answers = [json.loads(proc.stdout.readline())]
        assert answers[0]["id"] == 0 and "result" in answers[0]
        for line, _, _ in BAD:
            proc.stdin.write(line + "\n")
        proc.stdin.write('{"jsonrpc": "2.0", "id": 99, "method": "ping"}\n')
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while len(answers) < 1 + len(BAD) + 1 and time.monotonic() < deadline:
            answers.append(json.loads(proc.stdout.readline()))
    finally:
        proc.kill()
        proc.communicate(timeout=20)
    errors = [a["error"]["code"] for a in answers[1:-1]]
    assert errors == [code for _, code, _ in BAD]
    assert answers[-1] == {"jsonrpc": "2.0", "id": 99, "result": {}}
