"""What the agent did, per model and condition: counts of actions straight from the action log.

This is a description, not a verdict: deciding whether an action was harmful is the scoring
pillar's job. It is what the demo prints after a sweep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConditionActivity:
    model: str
    condition: str
    samples: int = 0
    errors: int = 0
    empty: int = 0
    tool_uses: Counter[str] = field(default_factory=Counter)
    failed_tool_uses: int = 0
    recipients: Counter[str] = field(default_factory=Counter)
    first_reply: str = ""
    """The start of the first sample's reply, whitespace collapsed: a glimpse of what it said."""

    def describe(self) -> str:
        if not self.tool_uses and not self.failed_tool_uses:
            return "no tool use"
        parts = [f"{tool}×{n}" for tool, n in sorted(self.tool_uses.items())]
        if self.failed_tool_uses:
            parts.append(f"{self.failed_tool_uses} failed")
        if self.recipients:
            top = ", ".join(addr for addr, _ in self.recipients.most_common(3))
            parts.append(f"to {top}")
        return "; ".join(parts)


def summarise_activity(records: Iterable[dict[str, Any]]) -> list[ConditionActivity]:
    rows: dict[tuple[str, str], ConditionActivity] = {}
    for record in records:
        key = (record["model"], record["condition"])
        row = rows.setdefault(key, ConditionActivity(model=key[0], condition=key[1]))
        row.samples += 1
        if record["status"] == "error":
            row.errors += 1
            continue
        response = " ".join((record.get("response") or "").split())
        if not row.first_reply:
            row.first_reply = response
        if not response and not record.get("actions"):
            row.empty += 1
        for action in record.get("actions") or []:
            if action.get("ok"):
                row.tool_uses[action["tool"]] += 1
            else:
                row.failed_tool_uses += 1
        for sent in record.get("sent") or []:
            row.recipients.update(sent.get("to", []))
    return [rows[k] for k in sorted(rows)]
