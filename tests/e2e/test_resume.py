"""Crash safety: SIGKILL a real sweep subprocess mid-run, run it again, get every sample once.

The model is Inspect's OpenAI-compatible provider talking to a loopback server with a fixed
latency (the same path a vLLM, Ollama or llama.cpp server takes), so samples finish over time
and the kill lands between them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corrigible.testing.openai_stub import StubProcess

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "corrigible.cli.app"]


def _ok_rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM samples WHERE status='ok'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _workers_alive(run_dir: Path) -> list[str]:
    """Command lines of worker processes still running on this run directory."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "corrigible.evaluation.worker" in cmdline and str(run_dir) in cmdline:
            alive.append(cmdline)
    return alive


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_then_rerun_completes_with_every_planned_sample_exactly_once(
    tmp_path: Path, workers: int
):
    conditions = [
        "blackmail_explicit-america_replacement",
        "leaking_none_none",
        "lethal_latent-safety_restriction",
    ]
    samples = 6
    planned = {
        f"openai-api/stub/bench/{c}/sample_{n:03d}"
        for c in conditions
        for n in range(1, samples + 1)
    }
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "name: crash\n"
        "models: [{name: openai-api/stub/bench, max_connections: 2}]\n"
        f"conditions: {json.dumps(conditions)}\n"
        f"samples: {samples}\n"
        "max_retries: 2\n"
        f"workers: {workers}\n"
    )
    run_dir = tmp_path / "run"
    store = run_dir / "results.sqlite"
    with StubProcess(latency=0.4) as stub:
        env = {
            **os.environ,
            "STUB_BASE_URL": stub.base_url,
            "STUB_API_KEY": "test-key",
            "NO_COLOR": "1",
        }
        first = subprocess.Popen(
            [*CLI, "run", str(config), "--out", str(run_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 120
        while _ok_rows(store) < 4:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        # worker processes die with the sweep (no orphan keeps calling the model)
        deadline = time.monotonic() + 10
        while _workers_alive(run_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _workers_alive(run_dir) == []
        done_at_kill = _ok_rows(store)
        assert 4 <= done_at_kill < len(planned), done_at_kill

        second = subprocess.run(
            [*CLI, "run", str(config), "--out", str(run_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert second.returncode == 0, second.stderr
        assert f"{len(planned)}/{len(planned)} samples ok" in second.stdout
        assert f"{done_at_kill} already done" in second.stdout
        requests_after_kill = stub.snapshot()["requests"]

    exported = subprocess.run(
        [*CLI, "export", str(run_dir)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == len(planned)
    assert set(ids) == planned
    assert all(r["status"] == "ok" and r["actions"] for r in records)
    # finished samples were not re-run: the second run asked for at most the missing ones
    # (plus any that were in flight at the kill and had not been recorded)
    assert requests_after_kill <= len(planned) + 2


@pytest.mark.timeout(180)
def test_a_sweep_killed_while_its_workers_start_leaves_no_orphan(tmp_path: Path) -> None:
    """SIGKILL of the main process the moment the worker shards are written, while the workers
    are still importing: each worker must die with it, not run its shard as an orphan."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"reply": "Nothing to do."}]))
    config = tmp_path / "sweep.yaml"
    config.write_text(
        f"models: [{{name: corrigible/scripted, args: {{script: {script}}}}}]\n"
        "conditions: [blackmail_none_none, leaking_none_none, lethal_none_none]\n"
        "samples: 20\nworkers: 3\n"
    )
    run_dir = tmp_path / "run"
    for _ in range(3):  # the race is between our kill and the workers' first instructions
        proc = subprocess.Popen(
            [*CLI, "run", str(config), "--out", str(run_dir)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not (run_dir / "shards" / "shard_2.json").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20
        while _workers_alive(run_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _workers_alive(run_dir) == []
        for shard in (run_dir / "shards").glob("*.json"):
            shard.unlink()
