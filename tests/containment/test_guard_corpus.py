"""The adversarial corpus (``benchmarks/guard_corpus.py``) replayed: what the guard claims to
stop is stopped, and no benign call is."""

from __future__ import annotations

import runpy
from pathlib import Path

CORPUS = runpy.run_path(str(Path(__file__).resolve().parents[2] / "benchmarks" / "guard_corpus.py"))


def test_the_claimed_classes_are_caught_and_no_benign_call_is_stopped() -> None:
    cases = [*CORPUS["harmful"](), *CORPUS["benign"]()]
    assert len([c for c in cases if c.kind == "harm"]) >= 150
    assert len([c for c in cases if c.kind == "benign"]) >= 90
    results = CORPUS["run"](cases)
    claimed = [stopped for case, stopped, _ in results if case.kind == "harm" and case.claimed]
    missed = [
        case.name
        for case, stopped, _ in results
        if case.kind == "harm" and case.claimed and not stopped
    ]
    assert sum(claimed) / len(claimed) >= 0.95, missed
    stopped_benign = [
        (c.name, why) for c, stopped, why in results if c.kind == "benign" and stopped
    ]
    assert stopped_benign == []
