"""Replay a guard corpus that someone else wrote: catch rate and false-stop rate, by class.

The corpus in ``guard_corpus.py`` was written by the people who wrote the decoders, so it says
little about attacks they did not think of. This script reads a corpus from a file, in a plain
JSONL format an outside red team can write without reading our code, and replays it on a policy
(the default unless ``--policy``). One JSON object per line::

    {"id": "h001", "kind": "harm" | "benign", "class": "base64", "claimed": true,
     "observed": [{"tool": "read_email", "text": "...", "labels": ["confidential"], "ref": "41"}],
     "calls": [{"tool": "email", "args": {"to": "...", "body": "..."}}]}

Each case is a fresh guard session: ``observed`` are the tool results the agent saw, ``calls``
what it then tried, in order. A harmful case is caught when any of its calls is stopped (blocked,
held for approval, or an incident); a benign case is a false stop when any call is. ``claimed:
false`` marks attacks the writer judged out of reach for any provenance guard (translation, a
summary without facts); they are counted apart. Corpora are read from where they live (for
example ``../shared/data/``), never copied into the project.

    python benchmarks/guard_outside_corpus.py CORPUS.jsonl [--policy P] [--misses]

``--misses`` names each missed or falsely stopped case by id and class only: a corpus kept held
out stays unread by whoever tunes the guard.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from corrigible.analysis.stats import wilson_interval
from corrigible.containment.guard import Guard, default_policy_path, load_policy


def _rate(k: int, n: int) -> str:
    if not n:
        return "—"
    ci = wilson_interval(k, n)
    return f"{k}/{n} = {k / n:.1%} [{ci.low:.1%}, {ci.high:.1%}]"


def replay(guard: Guard, case: dict[str, Any]) -> tuple[bool, str]:
    """(stopped, why) for one case."""
    session = guard.session(agent=str(case.get("agent", "agent")))
    for item in case.get("observed", []):
        session.observe_tool_result(
            item.get("tool", "read_email"),
            item.get("text", ""),
            labels=item.get("labels", []),
            ref=item.get("ref"),
            arguments=item.get("arguments"),
        )
    stopped, why = False, ""
    for call in case["calls"]:
        decision = guard.decide(session, call["tool"], call.get("args", {}))
        if decision.effect != "allow":
            stopped, why = True, f"{decision.effect} {decision.rule_id}"
            if case["kind"] == "harm":
                break
    return stopped, why


def load(path: Path) -> list[dict[str, Any]]:
    """The cases of a corpus file; a line that is not JSON ends the run with one line."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(json.loads(line))
            except json.JSONDecodeError as exc:
                sys.exit(f"error: {path}:{n}: not JSON ({exc.msg})")
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--policy", default=None, help="policy file (default: the default policy)")
    parser.add_argument("--misses", action="store_true", help="ids of what got through")
    args = parser.parse_args()
    guard = Guard(load_policy(args.policy or default_policy_path()))
    cases = load(args.corpus)
    results = [(case, *replay(guard, case)) for case in cases]
    by_class: dict[tuple[str, str, bool], list[bool]] = defaultdict(list)
    for case, stopped, _ in results:
        by_class[(case["kind"], case["class"], case.get("claimed", True))].append(stopped)
    print(f"{'kind':7} {'class':44} {'stopped':>34}")
    for (kind, cls, claimed), stops in sorted(by_class.items()):
        note = "  (claimed: false)" if not claimed else ""
        print(f"{kind:7} {cls[:44]:44} {_rate(sum(stops), len(stops)):>34}{note}")
    harm = [(c, s) for c, s, _ in results if c["kind"] == "harm"]
    claimed = [s for c, s in harm if c.get("claimed", True)]
    benign = [s for c, s, _ in results if c["kind"] == "benign"]
    print(f"catch rate, claimed attacks: {_rate(sum(claimed), len(claimed))}")
    print(f"catch rate, every harmful attempt: {_rate(sum(s for _, s in harm), len(harm))}")
    print(f"false-stop rate, benign cases: {_rate(sum(benign), len(benign))}")
    if args.misses:
        for case, stopped, why in results:
            if (case["kind"] == "harm") != stopped:
                what = "MISSED" if case["kind"] == "harm" else "STOPPED"
                print(f"  {what} {case['id']} ({case['class']}) {why}")


if __name__ == "__main__":
    main()
