"""The structure docs/ARCHITECTURE.md promises, checked: layers, and a guard that imports alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(statement: str) -> set[str]:
    """Module names loaded by ``statement`` in a fresh interpreter."""
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(out.stdout.split())


def test_the_guard_imports_alone() -> None:
    """A framework that only wants the guard pays for the guard: no Inspect, Jinja or torch, and
    no scenario, scoring or evaluation code."""
    loaded = _loaded_after("import corrigible.containment.guard")
    heavy = {"jinja2", "inspect_ai", "torch", "transformers", "mcp", "fastapi", "psycopg"}
    assert not heavy & {m.split(".")[0] for m in loaded}
    ours = {m for m in loaded if m.startswith("corrigible.")}
    assert not {
        m
        for m in ours
        if m.split(".")[1] in {"scenarios", "scoring", "evaluation", "environment", "models"}
    }
    assert "corrigible.containment.guard" in ours


def test_the_containment_package_loads_its_rooms_on_first_use() -> None:
    loaded = _loaded_after("import corrigible.containment as c; c.Guard")
    assert "corrigible.containment.guard" in loaded
    assert "corrigible.containment.gateway" not in loaded
    assert "corrigible.containment.audit" not in loaded


def test_the_import_contracts_hold() -> None:
    """The layering in pyproject.toml ([tool.importlinter]) holds, with no ignore list."""
    exe = str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ignore_imports" not in (ROOT / "pyproject.toml").read_text()
