"""One agent's session: what it has seen (for provenance), its rate counters, its kill switch."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from corrigible.containment.guard._decision import Agent
from corrigible.containment.guard._provenance import ProvenanceTracker
from corrigible.text.ids import normalise_id

if TYPE_CHECKING:
    from corrigible.containment.guard._guard import Guard


# -- sessions -------------------------------------------------------------------------------------


class Session:
    """What one agent run has seen and done, as far as the guard needs to know.

    Holds the tracked sensitive content, what already went to each sink (for fragments split
    across calls), per-tool call times (rate limits), which ``seen`` conditions have fired, and
    the items that later calls may reference by id. Create it with :meth:`Guard.session`.
    """

    def __init__(
        self, guard: Guard, *, agent: Agent | str | Mapping[str, Any] | None = None, id: str = ""
    ) -> None:
        self.guard = guard
        self.id = id
        self.agent = Agent.of(agent)
        self.halted: str | None = None
        """The reason the kill switch was engaged for this session, or None."""
        self.tracker = ProvenanceTracker(guard.policy.provenance.settings())
        self._seen: set[int] = set()
        self._items: dict[str, tuple[str, int | None]] = {}
        self._calls: dict[str, list[float]] = {}
        self.decisions = 0

    # -- what came in ---------------------------------------------------------------------------

    def observe_tool_result(
        self,
        tool: str,
        content: Any,
        labels: Iterable[str] = (),
        *,
        ref: str | int | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        """Register a tool's output. Content labelled sensitive (or from a tool the policy lists
        as a sensitive source) is tracked for provenance; ``ref`` lets a later call name it
        (``forward(email_id=ref)``).

        ``arguments`` are those of the call that produced the output. They let provenance
        follow what the agent did when the result itself says nothing: the item's id comes
        from the reading tool's declared ``refs`` argument (``read_email(email_id=3)`` is email
        3 even when the mail it returns carries no id), and a path argument that the policy's
        ``sensitive_paths`` covers labels the content.
        """
        labels = _labels(labels)
        spec = self.guard.policy.tool_spec(tool)
        if spec is not None and spec.sensitive_source:
            labels.add("sensitive")
        if arguments:
            if ref is None and spec is not None:
                ref = next(
                    (str(arguments[name]) for name in spec.refs if arguments.get(name) is not None),
                    None,
                )
            if self.guard.policy.sensitive_paths:
                names = spec.role("paths") if spec is not None else frozenset()
                for name, value in arguments.items():
                    if name in names and isinstance(value, str):
                        labels |= self.guard.policy.labels_for_path(value.strip())
        self._observe(_as_text(content), labels, source=f"tool_result:{tool}", role="tool", ref=ref)

    def observe_message(
        self, role: str, content: Any, labels: Iterable[str] = (), *, ref: str | int | None = None
    ) -> None:
        """Register a conversation message (user, assistant, system). Labelled content is
        tracked like a tool result; unlabelled messages only feed ``seen`` conditions."""
        self._observe(
            _as_text(content), _labels(labels), source=f"message:{role}", role=role, ref=ref
        )

    def _observe(
        self, text: str, labels: set[str], *, source: str, role: str, ref: str | int | None
    ) -> None:
        ref_key = None if ref is None else normalise_id(ref)
        doc_index = None
        if labels & self.guard.tracked_labels:
            doc = self.tracker.add(text, labels, source=source, ref=ref_key)
            doc_index = None if doc is None else doc.index
        if ref_key is not None:
            self._items[ref_key] = (text, doc_index)
        for i, (seen, pattern) in enumerate(self.guard.seen_conditions):
            if i in self._seen or role not in seen.roles:
                continue
            if (seen.labels is not None and labels & set(seen.labels)) or (
                pattern is not None and pattern.search(text)
            ):
                self._seen.add(i)

    # -- control --------------------------------------------------------------------------------

    def halt(self, reason: str = "halted by an operator") -> None:
        """The kill switch for this session: every later call is blocked. There is no resume —
        a stopped agent is restarted, deliberately, with a new session."""
        self.halted = reason or "halted by an operator"

    def calls_within(self, tool: str, window: float, now: float) -> int:
        times = self._calls.get(tool)
        if not times:
            return 0
        return len(times) - bisect.bisect_right(times, now - window)


def _labels(labels: Iterable[str] | str) -> set[str]:
    """Labels as a set; a single string is one label (not its characters)."""
    if isinstance(labels, str):
        return {labels}
    return {str(label) for label in labels}


def _as_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    if content is None:
        return ""
    try:
        return json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(content)
