"""The core install (no extras) runs the guard, and an extras-only command says what to install.

A real fresh venv with ``pip install .`` needs the package index, which tests must not; CI runs
that check too (``.ci/core-install``). Here a subprocess hides every optional package behind an
import hook, so exactly what a core-only install lacks is missing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from corrigible._extras import EXTRA_OF

TRACES = Path(__file__).resolve().parents[1] / "containment" / "traces"

_PROGRAM = textwrap.dedent(
    """
    import sys

    HIDDEN = set(sys.argv[1].split(","))

    class HideExtras:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, HideExtras())
    sys.argv = ["corrigible", *sys.argv[2:]]
    from corrigible.cli.app import main

    main()
    """
)


def core_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, ",".join(EXTRA_OF), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_the_guard_replays_a_trace_without_any_extra() -> None:
    result = core_cli("guard", "replay", TRACES / "leak_base64.jsonl")
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert decisions and any(d["effect"] == "block" for d in decisions)


def test_the_audit_log_and_approvals_work_without_any_extra(tmp_path: Path) -> None:
    assert core_cli("audit", "keygen", tmp_path / "k").returncode == 0
    listed = core_cli("approvals", "list", "--db", tmp_path / "a.db")
    assert listed.returncode == 2 and listed.stderr.startswith("error: ")  # no such queue yet
    assert core_cli("--help").returncode == 0


def test_an_extras_only_command_names_the_extra_and_the_install_command(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("models: [corrigible/scripted]\n")
    result = core_cli("run", sweep, cwd=tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(
        r"error: corrigible run needs the \[eval\] extra \(no module named '\w+'\): "
        r"pip install 'corrigible\[eval\]'\n",
        result.stderr,
    ), result.stderr
    report = core_cli("report", tmp_path)
    assert report.returncode == 2 and "pip install 'corrigible[" in report.stderr
    assert report.stderr.count("\n") == 1
