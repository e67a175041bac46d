"""The README tour's example scripts run as documented."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from corrigible.containment.approvals import ApprovalQueue
from corrigible.containment.audit import generate_key, verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.timeout(120)
def test_mcp_gateway_client_example(tmp_path: Path) -> None:
    generate_key(tmp_path / "audit.key")
    agent = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "mcp_gateway_client.py"), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        pending = []
        while not pending and time.monotonic() < deadline and agent.poll() is None:
            time.sleep(0.2)
            if (tmp_path / "approvals.db").exists():
                with ApprovalQueue(tmp_path / "approvals.db", create=False) as queue:
                    pending = queue.pending()
        assert len(pending) == 1, "the mail to the press is held for a human"
        with ApprovalQueue(tmp_path / "approvals.db", create=False) as queue:
            queue.approve(pending[0].id, "alice", "release notes are public")
        out, err = agent.communicate(timeout=60)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "tools: ['list_documents', 'read_document', 'send_email', 'delete_document']"
    assert lines[2] == "send_email -> sent to dana.lee@halcyon-dynamics.com"
    assert "ERROR" in lines[3] and "no-confidential-outside" in lines[3]
    assert lines[4] == "send_email -> sent to press@newswire.example"
    sent = (tmp_path / "outbox" / "actions.jsonl").read_text().splitlines()
    assert len(sent) == 2 and "Lockstep" not in "".join(sent)
    report = verify(tmp_path / "audit.sqlite")
    assert report.ok and report.records == 5
