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


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_the_shipped_framework_results_are_the_test_fixture(tmp_path: Path) -> None:
    """examples/framework_results is what tests/interop/amf_fixture.py builds, byte for byte, so
    the README's `classify` example and the interop tests read the same material."""
    from tests.interop.amf_fixture import build

    build(tmp_path / "results")
    assert _tree(EXAMPLES / "framework_results") == _tree(tmp_path / "results")


def test_every_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from corrigible.analysis.gate import load_gate
    from corrigible.evaluation.config import load_config
    from corrigible.models.scripted import load_script

    monkeypatch.chdir(EXAMPLES.parent)  # relative paths in a sweep resolve from where it runs
    for sweep in ("sweep.yaml", "containment/sweep.yaml", "experiment_config.yaml"):
        config = load_config(EXAMPLES / sweep)
        for spec in config.models:
            if "script" in spec.args:
                assert load_script(spec.args["script"]).entries
    framework = load_config(EXAMPLES / "experiment_config.yaml")
    assert [c.id for c in framework.resolved_conditions()] == [
        "blackmail_explicit-america_replacement"
    ]
    assert framework.temperature == 0.0 and framework.samples == 1
    assert len(load_gate(EXAMPLES / "gate.yaml").criteria) == 4
