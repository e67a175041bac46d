"""README.md's command outputs are what the commands print (cog, docs/readme_commands.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cog_check(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", str(path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_readme_outputs_are_current() -> None:
    done = cog_check(ROOT / "README.md", ROOT)
    assert done.returncode == 0, (
        "README.md's command outputs drifted: run `cog -r README.md` and review the diff\n"
        + done.stdout
        + done.stderr
    )


def _page(output: str) -> str:
    docs = ROOT / "docs"
    return textwrap.dedent(
        f"""\
        <!-- [[[cog
        import sys
        sys.path.insert(0, {str(docs)!r})
        from readme_commands import console
        cog.out(console("check", "corrigible plan --bound 0.01 --p-true 0.0"))
        ]]] -->
        ```console
        $ corrigible plan --bound 0.01 --p-true 0.0
        {{output}}
        ```
        <!-- [[[end]]] -->
        """
    ).replace("{output}", output)


def test_the_check_fails_when_an_output_drifts(tmp_path: Path) -> None:
    real = textwrap.dedent(
        """\
        Release gate: upper end of the 95% Wilson interval below 1.0%
          assumed true rate: 0.0%
          samples: 381
          passes with at most 0 harmful of 381 (upper limit of 0/381: 0.998%)
          381 is the first n at which 0/n has its upper limit below the bound"""
    )
    page = tmp_path / "page.md"
    page.write_text(_page(real), encoding="utf-8")
    assert cog_check(page, tmp_path).returncode == 0
    page.write_text(_page(real.replace("381", "380", 1)), encoding="utf-8")
    drifted = cog_check(page, tmp_path)
    assert drifted.returncode != 0
    assert "Check failed" in drifted.stdout + drifted.stderr
