"""What the guard answers, and about whom: :class:`GuardDecision`, :class:`Agent`, built-in rule ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from corrigible.containment.guard._matchers import Effect

FAIL_CLOSED = "fail-closed"
PROTECTED = "protected"
DEFAULT = "default"
KILL_SWITCH = "kill-switch"

_MAX_DEPTH = 32
"""Argument nesting deeper than this is treated as malformed (and fails closed)."""
_RULE_CACHE_LIMIT = 1024


# -- public value types ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Agent:
    """Who is calling: an identity and its roles, matched by ``when.agent`` conditions."""

    id: str
    roles: frozenset[str] = frozenset()

    def __init__(self, id: str, roles: Iterable[str] = ()) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "roles", frozenset(roles))

    @classmethod
    def of(cls, value: Agent | str | Mapping[str, Any] | None) -> Agent | None:
        """Accept an Agent, a bare id, or ``{"id": ..., "roles": [...]}``."""
        if value is None or isinstance(value, Agent):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls(str(value.get("id", "")), [str(r) for r in value.get("roles", ()) or ()])
        raise TypeError(
            f"agent must be an Agent, a string or a mapping, not {type(value).__name__}"
        )


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """The guard's answer for one call. ``evidence`` never quotes sensitive content."""

    effect: Effect
    rule_id: str
    reason: str
    policy_version: str
    evidence: tuple[str, ...] = ()
    incident: bool = False
    """True for a call that touched a protected control (or a rule that says so)."""
    policy_name: str = ""
    tool: str = ""

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"

    @property
    def audit_decision(self) -> Literal["allow", "block", "require_approval", "incident"]:
        """What the audit log records: a blocked incident is an ``incident``, so an auditor can
        find attempts on protected controls without re-reading reasons."""
        return "incident" if self.incident and self.effect == "block" else self.effect

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "effect": self.effect,
            "rule_id": self.rule_id,
            "reason": self.reason,
            "incident": self.incident,
            "evidence": list(self.evidence),
            "policy_name": self.policy_name,
            "policy_version": self.policy_version,
        }
