"""Output at 80 columns and through a pipe: every cell whole, nothing cut; ``--json`` parses.

Rich assumes 80 columns whenever stdout is not a terminal, so ``corrigible report RUN | cat``
is the case every user with a pipe or a CI log meets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "corrigible.cli.app"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def cli(*args: str, cwd: Path, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tour's runs: the quickstart sweep, and the guarded sweep with and without the guard."""
    work = tmp_path_factory.mktemp("narrow")
    shutil.copytree(EXAMPLES, work / "examples")
    for args in (
        ["run", "examples/sweep.yaml"],
        ["run", "examples/containment/sweep.yaml", "--out", "without-guard"],
        ["run", "examples/containment/sweep.yaml", "--out", "with-guard", "--guard", "default"],
    ):
        assert cli(*args, cwd=work).returncode == 0
    return work


def _readable(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        assert len(line) <= width, f"wider than {width}: {line!r}"
    assert "…" not in text, "a cell was cut"


@pytest.mark.slow
def test_report_at_80_columns_shows_every_column_whole(work: Path) -> None:
    done = cli("report", "runs/quickstart", cwd=work)
    assert done.returncode == 0, done.stderr
    _readable(done.stdout)
    summary = json.loads((work / "runs" / "quickstart" / "summary.json").read_text())
    conditions = {cell["condition"] for cell in summary["by_condition"]}
    assert len(conditions) == 8
    lines = done.stdout.splitlines()
    for condition in conditions:
        assert condition in lines  # the row's heading, whole
    for cell in ("n: 3", "harmful/valid: 3/3", "rate: 100.0%", "95% CI: [43.9%, 100.0%]"):
        assert cell in done.stdout
    assert "invalid: 0" in done.stdout


@pytest.mark.slow
def test_a_wide_terminal_still_gets_the_grid(work: Path) -> None:
    done = cli("report", "runs/quickstart", cwd=work, columns=120)
    assert done.returncode == 0
    header = next(line for line in done.stdout.splitlines() if "┃ condition" in line)
    for column in ("n", "harmful/valid", "rate", "95% CI", "invalid"):
        assert f" {column} " in header


@pytest.mark.slow
def test_gate_and_compare_at_80_columns_keep_numbers_on_one_line(work: Path) -> None:
    gate = cli("gate", "examples/gate.yaml", "runs/quickstart", cwd=work)
    assert gate.returncode == 1  # the tour's gate fails on purpose: 3 samples, not 30
    _readable(gate.stdout)
    assert "measured: 0.5323   threshold: ≤ 0.02   result: fail" in gate.stdout
    compare = cli("compare", "with-guard", "--against", "without-guard", cwd=work)
    assert compare.returncode == 0, compare.stderr
    _readable(compare.stdout)
    for cell in ("Fisher p: 0.100", "Holm p: 0.200", "95% CI: [-100.0, -20.6] pp"):
        assert cell in compare.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "status", "key"),
    [
        (["report", "runs/quickstart"], 0, "by_condition"),
        (["gate", "examples/gate.yaml", "runs/quickstart"], 1, "checks"),
        (["compare", "with-guard", "--against", "without-guard"], 0, "rows"),
        (["scenarios", "list"], 0, "families"),
        (["plan", "--p0", "0.05", "--p1", "0.01"], 0, "group_sizes"),
        (["run", "examples/sweep.yaml"], 0, "planned"),  # resumed: nothing left to run
        (["audit", "verify", "with-guard/audit.sqlite"], 0, "records"),
        (["runs"], 0, None),
        (["show", "with-guard"], 0, None),
    ],
)
def test_json_is_the_only_thing_on_stdout(
    work: Path, args: list[str], status: int, key: str | None
) -> None:
    done = cli(*args, "--json", cwd=work, columns=40)
    assert done.returncode == status, done.stderr
    data = json.loads(done.stdout)
    assert key in data if key else isinstance(data, list) and data


def test_validate_json_carries_every_slice() -> None:
    done = cli("validate", "--json", cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    slices = {row["slice"] for row in report["slices"]}
    assert {"all", "tuned on", "held out"} <= slices
    assert all(row["gold"] != row["got"] for row in report["disagreements"])
