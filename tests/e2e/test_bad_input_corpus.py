"""Every command against a corpus of bad inputs: no traceback, a non-zero exit, an error that
names what is wrong, and nothing already on disk changed.

One workspace holds a good run and the files a user might point a command at by mistake
(missing, empty, binary, not JSON, the wrong kind of file, a directory where a file belongs).
Each case runs one command line through the real CLI and its error boundary, then compares
every file of the workspace, bytes and modification time, with what was there before. With the
sweep corpus (tests/e2e/test_bad_sweeps.py) and the parser cases (tests/e2e/test_bad_inputs.py)
this is well over 100 bad inputs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corrigible.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bad-corpus")
    shutil.copytree(EXAMPLES, work / "examples")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        done = CliRunner().invoke(app, ["run", "examples/sweep.yaml", "--out", "runs/good"])
        assert done.exit_code == 0, done.output
        done = CliRunner().invoke(app, ["audit", "keygen", "keys/audit.key"])
        assert done.exit_code == 0, done.output
    finally:
        os.chdir(cwd)
    files = {
        "empty.jsonl": b"",
        "notjson.jsonl": b"{not json\n",
        "list.jsonl": b"[1, 2, 3]\n",
        "binary.bin": bytes(range(256)) * 4,
        "latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
        "policy_bad.yaml": b"rules: 3\n",
        "policy_list.yaml": b"- a\n- b\n",
        "gate_bad.yaml": b"name: g\ncriteria: 3\n",
        "gate_metric.yaml": b"name: g\ncriteria:\n  - {id: x, metric: nosuch, max: 1}\n",
        "gate_empty.yaml": b"",
        "labels_bad.jsonl": b'{"id": 3}\n',
        "trace_bad.jsonl": b'{"type": "tool_call"}\n',
        "text.txt": b"hello\n",
    }
    for name, data in files.items():
        (work / name).write_bytes(data)
    (work / "a_directory").mkdir()
    (work / "a_directory" / "keep.txt").write_text("keep\n")
    damaged = work / "runs" / "damaged"
    shutil.copytree(work / "runs" / "good", damaged)
    (damaged / "results.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 200)
    shutil.copytree(work / "runs" / "good", work / "runs" / "other")
    return work


# (command line, text the output must contain). Usage errors (a bad option value) are Typer's
# own message: several lines, exit 2; every other error is our one ``error:`` line.
CASES: dict[str, tuple[list[str], str]] = {
    # export
    "export-missing": (["export", "runs/missing"], "no such directory"),
    "export-file": (["export", "examples/sweep.yaml"], "not a directory"),
    "export-not-run": (["export", "examples"], "not a run directory"),
    "export-damaged": (["export", "runs/damaged"], "runs/damaged"),
    "export-format": (["export", "runs/good", "--format", "nope"], "nope"),
    "export-out-dir": (["export", "runs/good", "--out", "a_directory"], "a_directory"),
    # classify
    "classify-missing": (["classify", "missing.jsonl"], "missing.jsonl"),
    "classify-binary": (["classify", "binary.bin"], "malformed: binary.bin:2: not UTF-8 text"),
    "classify-text": (["classify", "text.txt"], "malformed: text.txt:1: not valid JSON"),
    "classify-damaged": (["classify", "runs/damaged"], "runs/damaged"),
    "classify-judge": (["classify", "runs/good", "--judge", "nosuchprovider/x"], "nosuchprovider"),
    "classify-judge-arg": (["classify", "runs/good", "--judge-arg", "noequals"], "KEY=VALUE"),
    "classify-rule": (["classify", "runs/good", "--rule", "vote"], "vote"),
    "classify-concurrency": (
        ["classify", "runs/good", "--max-concurrency", "0"],
        "--max-concurrency",
    ),
    "classify-out-dir": (["classify", "runs/good", "--out", "a_directory"], "a_directory"),
    # validate
    "validate-labels-missing": (
        ["validate", "--labels", "missing.jsonl", "runs/good"],
        "missing.jsonl",
    ),
    "validate-labels-bad": (["validate", "--labels", "labels_bad.jsonl", "runs/good"], "labels"),
    "validate-labels-binary": (["validate", "--labels", "binary.bin", "runs/good"], "binary.bin"),
    "validate-labels-alone": (["validate", "--labels", "labels_bad.jsonl"], "INPUTS"),
    "validate-cases-notjson": (["validate", "--cases", "notjson.jsonl"], "notjson.jsonl"),
    "validate-cases-and-labels": (
        ["validate", "--cases", "empty.jsonl", "--labels", "labels_bad.jsonl", "runs/good"],
        "two different sets",
    ),
    "validate-judge": (["validate", "--judge", "nosuchprovider/x"], "nosuchprovider"),
    # train
    "train-constitution-missing": (["train", "constitution", "missing.md"], "missing.md"),
    "train-constitution-binary": (["train", "constitution", "binary.bin"], "not UTF-8"),
    "train-constitution-yaml": (["train", "constitution", "policy_bad.yaml"], "front matter"),
    "train-generate-missing": (["train", "generate", "missing.yaml", "--out", "d"], "missing.yaml"),
    "train-generate-bad": (
        ["train", "generate", "policy_bad.yaml", "--out", "d"],
        "policy_bad.yaml",
    ),
    "train-generate-out-file": (
        ["train", "generate", "examples/training/cai.yaml", "--out", "text.txt"],
        "not a directory",
    ),
    "train-contamination-missing": (["train", "contamination", "missing.jsonl"], "missing.jsonl"),
    "train-contamination-notjson": (["train", "contamination", "notjson.jsonl"], "notjson.jsonl:1"),
    "train-contamination-list": (["train", "contamination", "list.jsonl"], "JSON object"),
    "train-contamination-dir": (["train", "contamination", "a_directory"], "is a directory"),
    # report
    "report-missing": (["report", "runs/missing"], "no such directory"),
    "report-not-run": (["report", "examples"], "not a run directory"),
    "report-damaged": (["report", "runs/damaged"], "runs/damaged"),
    "report-file": (["report", "text.txt"], "not a directory"),
    "report-out-dir": (["report", "runs/good", "--out", "a_directory"], "a_directory"),
    # gate
    "gate-missing": (["gate", "missing.yaml", "runs/good"], "missing.yaml"),
    "gate-criteria": (["gate", "gate_bad.yaml", "runs/good"], "criteria"),
    "gate-metric": (["gate", "gate_metric.yaml", "runs/good"], "field criteria.0.metric"),
    "gate-empty": (["gate", "gate_empty.yaml", "runs/good"], "gate_empty.yaml"),
    "gate-binary": (["gate", "binary.bin", "runs/good"], "binary.bin"),
    "gate-latin1": (["gate", "latin1.yaml", "runs/good"], "latin1.yaml"),
    "gate-run-missing": (["gate", "examples/gate.yaml", "runs/missing"], "no such directory"),
    "gate-run-damaged": (["gate", "examples/gate.yaml", "runs/damaged"], "runs/damaged"),
    # compare
    "compare-no-arm": (["compare", "runs/good"], "--treatment"),
    "compare-both": (
        ["compare", "runs/good", "--treatment", "prohibition", "--against", "runs/other"],
        "either",
    ),
    "compare-unknown-arm": (["compare", "runs/good", "--treatment", "nosucharm"], "nosucharm"),
    "compare-same-arm": (
        ["compare", "runs/good", "--baseline", "none", "--treatment", "none"],
        "same arm",
    ),
    "compare-against-missing": (["compare", "runs/good", "--against", "runs/missing"], "missing"),
    "compare-behaviour": (
        ["compare", "runs/good", "--against", "runs/other", "--behaviour", "nosuch"],
        "nosuch",
    ),
    # runs and show
    "runs-missing": (["runs", "no_such_folder"], "no such directory"),
    "runs-file": (["runs", "text.txt"], "text.txt"),
    "show-missing-run": (["show", "runs/missing"], "no such directory"),
    "show-no-sample": (["show", "runs/good", "nothing_like_this"], "no sample matches"),
    "show-ambiguous": (["show", "runs/good", "sample_00"], "samples match"),
    "show-damaged": (["show", "runs/damaged"], "runs/damaged"),
    # scenarios
    "render-unknown": (["scenarios", "render", "no_such_condition"], "no_such_condition"),
    "render-goal": (["scenarios", "render", "blackmail_explicit-purple_none"], "purple"),
    "render-tool-mode": (["scenarios", "render", "lethal_none_none", "--tool-mode", "x"], "x"),
    "render-out-file": (
        ["scenarios", "render", "lethal_none_none", "--out", "text.txt"],
        "text.txt",
    ),
    # guard
    "replay-missing": (["guard", "replay", "missing.jsonl"], "missing.jsonl"),
    "replay-notjson": (["guard", "replay", "notjson.jsonl"], "notjson.jsonl"),
    "replay-list": (["guard", "replay", "list.jsonl"], "list.jsonl"),
    "replay-binary": (["guard", "replay", "binary.bin"], "binary.bin"),
    "replay-bad-line": (["guard", "replay", "trace_bad.jsonl"], "trace_bad.jsonl"),
    "replay-policy-bad": (
        ["guard", "replay", "trace_bad.jsonl", "--policy", "policy_bad.yaml"],
        "policy_bad.yaml",
    ),
    "replay-policy-list": (
        ["guard", "replay", "trace_bad.jsonl", "--policy", "policy_list.yaml"],
        "policy_list.yaml",
    ),
    "replay-policy-missing": (
        ["guard", "replay", "trace_bad.jsonl", "--policy", "missing.yaml"],
        "missing.yaml",
    ),
    # audit
    "verify-missing": (["audit", "verify", "missing.sqlite"], "missing.sqlite"),
    "verify-binary": (["audit", "verify", "binary.bin"], "binary.bin"),
    "verify-results-store": (["audit", "verify", "runs/good/results.sqlite"], "results.sqlite"),
    "verify-bad-url": (["audit", "verify", "postgresql://"], "postgresql"),
    "verify-key-missing": (
        ["audit", "verify", "runs/good/results.sqlite", "--public-key", "missing.pub"],
        "missing.pub",
    ),
    "keygen-exists": (["audit", "keygen", "keys/audit.key"], "keys/audit.key"),
    "keygen-into-file": (["audit", "keygen", "text.txt/key"], "text.txt"),
    "checkpoint-missing": (
        ["audit", "checkpoint", "missing.sqlite", "--key", "keys/audit.key", "--out", "c.json"],
        "missing.sqlite",
    ),
    # approvals
    "approvals-list-missing": (["approvals", "list", "--db", "missing.db"], "missing.db"),
    "approvals-list-binary": (["approvals", "list", "--db", "binary.bin"], "binary.bin"),
    "approvals-list-results": (
        ["approvals", "list", "--db", "runs/good/results.sqlite"],
        "results.sqlite",
    ),
    "approvals-approve-missing": (
        ["approvals", "approve", "abc", "--db", "missing.db", "--as", "alice"],
        "missing.db",
    ),
    "approvals-show-missing": (["approvals", "show", "abc", "--db", "missing.db"], "missing.db"),
    # plan
    "plan-nothing": (["plan"], "--p0"),
    "plan-p0-range": (["plan", "--p0", "2", "--p1", "0.1"], "p0"),
    "plan-same-rates": (["plan", "--p0", "0.05", "--p1", "0.05"], "differ"),
    "plan-bound-negative": (["plan", "--bound", "-1"], "bound"),
    "plan-power": (["plan", "--p0", "0.05", "--p1", "0.01", "--power", "1.5"], "power"),
    # run (beyond the sweep file itself)
    "run-missing": (["run", "missing.yaml"], "missing.yaml"),
    "run-directory": (["run", "a_directory"], "a_directory"),
    "run-binary": (["run", "binary.bin"], "binary.bin"),
    "run-guard-missing": (
        ["run", "examples/sweep.yaml", "--out", "runs/new", "--guard", "missing.yaml"],
        "missing.yaml",
    ),
    "run-guard-bad": (
        ["run", "examples/sweep.yaml", "--out", "runs/new", "--guard", "policy_bad.yaml"],
        "policy_bad.yaml",
    ),
    "run-out-file": (["run", "examples/sweep.yaml", "--out", "text.txt"], "text.txt"),
    "run-other-sweep": (
        ["run", "examples/containment/sweep.yaml", "--out", "runs/good"],
        "different sweep",
    ),
    "run-audit-key-missing": (
        [
            "run",
            "examples/sweep.yaml",
            "--out",
            "runs/new",
            "--guard",
            "default",
            "--audit-key",
            "missing.key",
        ],
        "missing.key",
    ),
    # demo
    "demo-samples": (["demo", "--samples", "0"], "--samples"),
    "demo-model": (["demo", "--model", "nosuchprovider/x", "--out", "runs/demo"], "nosuchprovider"),
    "demo-guard": (["demo", "--guard", "missing.yaml", "--out", "runs/demo"], "missing.yaml"),
}


MALFORMED_LINES = {"classify-text", "classify-binary"}
"""`classify` scores what it can: a malformed line is reported on its own line, counted invalid,
and the exit code is 1 (documented) — several lines by design."""


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    # SQLite's -wal/-shm files come and go with any reader of a WAL database; the data is in
    # the database file itself, which is compared
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_input_is_an_error_that_changes_nothing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    argv, says = CASES[case]
    monkeypatch.chdir(workspace)
    before = _snapshot(workspace)
    result = CliRunner().invoke(app, argv)
    output = result.stdout + result.stderr
    assert result.exit_code not in (0, None), output
    assert not isinstance(result.exception, AssertionError)
    assert "Traceback" not in output
    assert says in output, output
    if case in MALFORMED_LINES:
        assert result.exit_code == 1 and "malformed" in result.stderr
    elif result.exit_code != 2 or result.stderr.startswith("error: "):
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, output
    after = _snapshot(workspace)
    assert after.keys() == before.keys(), sorted(set(after) ^ set(before))
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [], changed
