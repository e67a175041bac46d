"""How long the CLI takes to start: ``corrigible --help`` and three subcommands' ``--help``.

Why it matters: ``corrigible gateway`` is spawned by MCP clients, ``corrigible approvals`` is typed
by people waiting on an agent, and every command's ``--help`` is how a newcomer finds their way.
Each command module imports only Typer and Rich until the command runs.

Every command is run ``--repeat`` times as a fresh subprocess, interleaved with ``python -c pass``
(the interpreter's own start-up) in the same invocation, so the ratios hold on a noisy machine.
Prints the median and best wall time of each, and each median as a multiple of the baseline.
Target: ``corrigible --help`` ≤ 0.5 s on an idle 2-core machine.

    python benchmarks/cli_startup.py [--repeat 15] [--compare-src OLD/src]

``--compare-src`` also times ``corrigible --help`` from another source tree (say, a worktree of an
older commit: ``git worktree add /tmp/old <commit>``, then ``--compare-src /tmp/old/src``), run
with this interpreter and its installed dependencies, in the same interleaved loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS: list[tuple[str, list[str]]] = [
    ("corrigible --help", ["--help"]),
    ("corrigible run --help", ["run", "--help"]),
    ("corrigible guard replay --help", ["guard", "replay", "--help"]),
    ("corrigible report --help", ["report", "--help"]),
]


def _entry_point() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).parent / "corrigible"
    if script.exists():
        return [str(script)]
    found = shutil.which("corrigible")
    return [found] if found else [sys.executable, "-m", "corrigible.cli.app"]


def _time(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--compare-src", type=Path, help="another source tree to time as well")
    args = parser.parse_args()
    entry = _entry_point()
    runs: dict[str, list[float]] = {"python -c pass": []} | {name: [] for name, _ in COMMANDS}
    other = f"--help from {args.compare_src}" if args.compare_src else None
    other_env = {**os.environ, "PYTHONPATH": str(args.compare_src)} if args.compare_src else None
    other_argv = [sys.executable, "-m", "corrigible.cli.app", "--help"]
    if other:
        runs[other] = []
    for _, argv in COMMANDS:  # warm the file cache and bytecode once
        _time([*entry, *argv])
    for _ in range(args.repeat):
        runs["python -c pass"].append(_time([sys.executable, "-c", "pass"]))
        for name, argv in COMMANDS:
            runs[name].append(_time([*entry, *argv]))
        if other:
            runs[other].append(_time(other_argv, other_env))
    base = statistics.median(runs["python -c pass"])
    width = max(34, *(len(name) for name in runs))
    print(f"{'command':{width}} {'median':>9} {'best':>9} {'× python':>9}   (n={args.repeat} each)")
    for name, times in runs.items():
        median = statistics.median(times)
        print(f"{name:{width}} {median:8.3f}s {min(times):8.3f}s {median / base:8.1f}×")
    top = statistics.median(runs["corrigible --help"])
    verdict = "met" if top <= 0.5 else "NOT met"
    print(f"target corrigible --help <= 0.5 s: {verdict} ({top:.3f} s median)")


if __name__ == "__main__":
    main()
