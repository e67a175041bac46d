"""A provider that echoes the API key in its error: the key reaches nothing we store or print."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import inspect_ai.log  # noqa: F401  (teaches zipfile the zstd that .eval members use)
import pytest

from corrigible.testing.openai_stub import StubServer

CLI = [sys.executable, "-m", "corrigible.cli.app"]
KEY = "sk-test-3f9a1c77e2b04d18a6c5"


@pytest.mark.timeout(180)
def test_an_echoed_key_is_scrubbed_from_the_store_exports_verdicts_and_terminal(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "models: [openai-api/stub/stub]\nconditions: [blackmail_none_none]\nmax_retries: 0\n"
    )
    with StubServer(latency=0.0, echo_key=True) as stub:
        env = {
            **os.environ,
            "STUB_API_KEY": KEY,
            "STUB_BASE_URL": stub.base_url,
            "NO_PROXY": "127.0.0.1,localhost",
        }
        ran = subprocess.run(
            [*CLI, "run", str(sweep), "--out", "run"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
        )
    assert "0/1 samples ok, 1 errors" in ran.stdout, ran.stdout + ran.stderr
    assert "invalid request for" in ran.stderr  # the provider's error is shown…
    assert KEY not in ran.stdout + ran.stderr  # …without the key
    store = (tmp_path / "run" / "results.sqlite").read_bytes()
    assert KEY.encode() not in store
    logs = list((tmp_path / "run" / "logs").glob("*.eval"))
    assert logs, "Inspect wrote no log"
    for log in logs:  # Inspect's own log: a zip of JSON members, checked decompressed
        with zipfile.ZipFile(log) as archive:
            for member in archive.namelist():
                assert KEY.encode() not in archive.read(member), f"{log.name}:{member}"
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from inspect_ai.log import read_eval_log; "
            "print(read_eval_log(sys.argv[1]).model_dump_json())",
            str(logs[0]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr  # the rewritten log still reads
    assert "***" in shown.stdout and KEY not in shown.stdout
    exported = subprocess.run(
        [*CLI, "export", "run"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "***" in exported.stdout and KEY not in exported.stdout
    verdicts = subprocess.run(
        [*CLI, "classify", "run"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert KEY not in verdicts.stdout + verdicts.stderr
