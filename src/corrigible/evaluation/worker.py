"""One shard of a sweep in its own process: ``python -m corrigible.evaluation.worker RUN_DIR SHARD``.

Started by the runner when a sweep has ``workers > 1``. It reads the sweep from the run
directory, runs exactly the sample ids listed in the shard file, and records each finished
sample in the shared results store. It dies with its parent (Linux ``PR_SET_PDEATHSIG``), so a
killed sweep leaves no orphan still calling models.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

import anyio
import yaml

from corrigible.evaluation.config import SweepConfig
from corrigible.evaluation.runner import (
    _Recorder,
    evaluate_pending,
    plan_sweep,
)
from corrigible.results.rundir import CONFIG_FILE, STORE_FILE
from corrigible.results.store import ResultsStore

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent still kills us on normal exit
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


def main(argv: list[str] | None = None, *, parent: int | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m corrigible.evaluation.worker RUN_DIR SHARD_FILE\n")
        return 2
    _die_with_parent(os.getppid() if parent is None else parent)
    run_dir, shard_file = Path(args[0]), Path(args[1])
    body = yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    config = SweepConfig.model_validate(body["config"])
    wanted = set(json.loads(shard_file.read_text(encoding="utf-8")))
    pending = [p for p in plan_sweep(config) if p.id in wanted]
    shares = max(1, config.workers)
    with ResultsStore(run_dir / STORE_FILE) as store:
        recorder = _Recorder(store, None)
        statuses = store.statuses()
        pending = [p for p in pending if statuses.get(p.id) != "ok"]
        if pending:
            anyio.run(
                lambda: evaluate_pending(
                    config, run_dir, pending, recorder, connection_share=shares
                )
            )
    return 0 if recorder.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
