"""Bad input is one line and a non-zero exit, in a real process, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.amf_fixture import build

CLI = [sys.executable, "-m", "corrigible.cli.app"]
TRACES = Path(__file__).resolve().parents[1] / "containment" / "traces"


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00bad", b"version: '1'\x00name: p\n", bytes(range(256))],
    ids=["utf16-ish", "nul", "binary"],
)
def test_a_policy_that_is_not_text(tmp_path: Path, content: bytes) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(content)
    line = _one_line(
        cli("guard", "replay", "--policy", policy, TRACES / "leak_base64.jsonl", cwd=tmp_path)
    )
    assert line.startswith(f"error: {policy}")


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "tool_call", "tool": "email", "arguments": {"n": ' + "9" * 5000 + "}}",
        "[" * 100_000 + "]" * 100_000,
        '{"type": "tool_call", "tool": "email", "arguments": ' + "{" * 50 + "}" * 50 + "}",
    ],
    ids=["huge-int", "deep-list", "deep-args"],
)
def test_trace_lines_that_would_break_a_parser(tmp_path: Path, line: str) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(line + "\n")
    result = cli("guard", "replay", trace, cwd=tmp_path)
    if result.returncode == 0:  # a call whose arguments nest deeply is decided (fail closed)
        assert json.loads(result.stdout)["effect"] == "block"
        return
    assert _one_line(result).startswith(f"error: {trace}")


def test_a_framework_reply_with_a_huge_integer_is_one_malformed_sample(tmp_path: Path) -> None:
    results = tmp_path / "results"
    expected = build(results)
    victim = next(results.rglob("response.json"))
    victim.write_text('{"raw_response": "x", "n": ' + "9" * 5000 + "}")
    out = tmp_path / "v.jsonl"
    result = cli("classify", results, "--out", out, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    verdicts = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(verdicts) == len(expected)
    assert sum(1 for v in verdicts if not v["valid"]) == 1


def _scripted_run(tmp_path: Path) -> Path:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"reply": "Nothing needs doing."}]))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"models: [{{name: corrigible/scripted, args: {{script: {script}}}}}]\n"
        "conditions: [blackmail_none_none, lethal_none_none]\n"
    )
    run_dir = tmp_path / "run"
    assert cli("run", sweep, "--out", run_dir, cwd=tmp_path).returncode == 0
    return run_dir


@pytest.mark.parametrize("command", ["export", "classify", "report"])
def test_read_only_commands_never_create_a_store(tmp_path: Path, command: str) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    store = run_dir / "results.sqlite"
    store.write_bytes(b"")
    line = _one_line(cli(command, run_dir, cwd=tmp_path))
    assert "not a results store" in line or "not a readable results store" in line
    assert store.read_bytes() == b""  # nothing already written is changed


def test_a_damaged_record_is_one_invalid_sample_not_a_crash(tmp_path: Path) -> None:
    import sqlite3

    run_dir = _scripted_run(tmp_path)
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        (first,) = db.execute("SELECT id FROM samples ORDER BY id LIMIT 1").fetchone()
        db.execute("UPDATE samples SET record = 'not json {' WHERE id = ?", (first,))
    exported = cli("export", run_dir, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(x) for x in exported.stdout.splitlines()]
    assert len(records) == 2
    assert any("unreadable" in (r["error"] or "") for r in records)
    out = tmp_path / "v.jsonl"
    assert cli("classify", run_dir, "--out", out, cwd=tmp_path).returncode == 0
    verdicts = [json.loads(x) for x in out.read_text().splitlines()]
    assert sum(1 for v in verdicts if not v["valid"]) == 1
    report = cli("report", run_dir, cwd=tmp_path)
    assert report.returncode == 0 and "Traceback" not in report.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("name: ../../x", "field name"),
        ("name: /etc/x", "field name"),
        ("samples: true", "field samples"),
        ("samples: 100000000", "field samples"),
        ("temperature: .inf", "field temperature"),
        ("samples: 1\nsamples: 2", "given twice"),
    ],
)
def test_sweep_values_that_used_to_pass_silently(tmp_path: Path, extra: str, expected: str) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"models: [corrigible/scripted]\nconditions: [blackmail_none_none]\n{extra}\n")
    line = _one_line(cli("run", sweep, "--out", tmp_path / "run", cwd=tmp_path))
    assert line.startswith(f"error: {sweep}") and expected in line
    assert not (tmp_path / "run").exists() and not (tmp_path.parent / "x").exists()


def test_a_second_run_into_a_locked_run_directory_is_refused_with_the_holders_pid(
    tmp_path: Path,
) -> None:
    import os

    from corrigible.results.rundir import RunDirLock

    run_dir = _scripted_run(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    with RunDirLock(run_dir):  # as a first `corrigible run` still writing would hold it
        line = _one_line(cli("run", sweep, "--out", run_dir, cwd=tmp_path))
    assert f"PID {os.getpid()}" in line and "another `corrigible run`" in line
    again = cli("run", sweep, "--out", run_dir, cwd=tmp_path)  # released: resumes
    assert again.returncode == 0 and "2 already done" in again.stdout
