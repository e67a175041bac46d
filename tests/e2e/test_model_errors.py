"""A model that cannot be made is one line, before the run directory exists (issue: the first
thing a user with a real model sees was an 80-line traceback, and a typo pinned the sweep)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "corrigible.cli.app"]


def run(sweep: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", str(sweep), "--out", str(out)],
        cwd=sweep.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({"NO_COLOR": "1", "HF_HUB_OFFLINE": "1"})
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-4o", "OPENAI_API_KEY"),
        ("openai-api/stub/stub", "STUB_API_KEY"),
        ("nosuchprovider/xyz", "not recognized"),
    ],
)
def test_a_model_that_cannot_be_made_is_one_line_and_writes_nothing(
    tmp_path: Path, model: str, expected: str
) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"models: [{model}]\nconditions: [blackmail_none_none]\nmax_retries: 0\n")
    result = run(sweep, tmp_path / "run", _env())
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {sweep}: model {model}: ")
    assert expected in lines[0] and "[bold]" not in lines[0]
    assert not (tmp_path / "run").exists()


def test_fixing_a_typo_in_a_script_path_is_not_refused_as_another_sweep(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"reply": "Nothing to do."}]))
    sweep = tmp_path / "sweep.yaml"
    body = "models: [{name: corrigible/scripted, args: {script: %s}}]\nconditions: [blackmail_none_none]\n"
    sweep.write_text(body % "scirpt.json")
    first = run(sweep, tmp_path / "run", _env())
    assert first.returncode != 0 and "model corrigible/scripted" in first.stderr
    assert not (tmp_path / "run").exists()
    sweep.write_text(body % "script.json")
    second = run(sweep, tmp_path / "run", _env())
    assert second.returncode == 0, second.stderr
