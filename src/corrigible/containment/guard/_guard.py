"""The decision flow: kill switch, malformed calls, protected controls, declared tools, rules, default."""

from __future__ import annotations

import bisect
import fnmatch
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corrigible.containment.guard._call import _Call, _Malformed
from corrigible.containment.guard._conditions import (
    _agent_cond,
    _all,
    _any,
    _arg_cond,
    _carries_cond,
    _Cond,
    _host_cond,
    _not,
    _path_cond,
    _rate_cond,
    _recipient_cond,
    _seen_cond,
    _text_cond,
)
from corrigible.containment.guard._decision import (
    _RULE_CACHE_LIMIT,
    DEFAULT,
    FAIL_CLOSED,
    KILL_SWITCH,
    PROTECTED,
    Agent,
    GuardDecision,
)
from corrigible.containment.guard._matchers import Rule, SeenMatch, When
from corrigible.containment.guard._policy import Policy, ToolDeclaration, load_policy
from corrigible.containment.guard._protected import _ProtectedIndex
from corrigible.containment.guard._regex import compile_regex
from corrigible.containment.guard._session import Session

# -- the guard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CompiledRule:
    rule: Rule
    tools: tuple[str, ...] | None
    cond: _Cond


class Guard:
    """Decides tool calls under one policy. Thread-compatible: share a Guard across threads, but
    give each agent run its own :class:`Session` and decide a session's calls one at a time."""

    def __init__(self, policy: Policy | str | Path) -> None:
        if not isinstance(policy, Policy):
            policy = load_policy(policy)
        self.policy = policy
        self.halted: str | None = None
        # labels the policy gives paths in ``sensitive_paths`` are sensitive by declaration
        path_labels = {label for labels in policy.sensitive_paths.values() for label in labels}
        self.sensitive_labels = (
            frozenset(policy.provenance.sensitive_labels) | {"sensitive"} | path_labels
        )
        self.domains = tuple(policy.boundary.domains)
        self.host_domains = tuple(policy.boundary.host_domains)
        tracked = set(self.sensitive_labels)
        self.seen_conditions: list[tuple[SeenMatch, re.Pattern[str] | None]] = []
        self._commit_any = False
        self._rules: list[_CompiledRule] = []
        for rule in policy.ordered_rules():
            for _, cond in rule.when.walk(""):
                if cond.carries is not None:
                    tracked.update(cond.carries.labels or ())
                    self._commit_any |= cond.carries.to == "any"
            tools = tuple(rule.when.tool) if rule.when.tool is not None else None
            self._rules.append(_CompiledRule(rule, tools, self._compile(rule.when, top=True)))
        self.tracked_labels = frozenset(tracked)
        self._by_tool: dict[str, tuple[_CompiledRule, ...]] = {}
        self._protected = _ProtectedIndex(policy.protected)
        self._specs: dict[str, ToolDeclaration | None] = {}

    @property
    def version(self) -> str:
        return self.policy.version

    def session(
        self, *, agent: Agent | str | Mapping[str, Any] | None = None, id: str = ""
    ) -> Session:
        """A fresh session for one agent run under this guard's policy."""
        return Session(self, agent=agent, id=id)

    def halt(self, reason: str = "halted by an operator") -> None:
        """The global kill switch: every session of this guard blocks every call from now on."""
        self.halted = reason or "halted by an operator"

    # -- compiling ------------------------------------------------------------------------------

    def _compile(self, when: When, *, top: bool = False) -> _Cond:
        policy = self.policy
        conds: list[_Cond] = []
        if when.tool is not None and not top:
            names = tuple(when.tool)
            conds.append(
                _Cond(
                    lambda call: any(fnmatch.fnmatchcase(call.tool, n) for n in names),
                    lambda call: [f"tool {call.tool}"],
                )
            )
        if when.agent is not None:
            conds.append(_agent_cond(when.agent))
        for name, match in (when.args or {}).items():
            conds.append(_arg_cond(name, match))
        if when.recipients is not None:
            conds.append(_recipient_cond(when.recipients, policy))
        if when.hosts is not None:
            conds.append(_host_cond(when.hosts, policy))
        if when.paths is not None:
            conds.append(_path_cond(when.paths))
        if when.commands is not None:
            conds.append(_text_cond(when.commands, lambda call: call.commands, "command"))
        if when.text is not None:
            conds.append(_text_cond(when.text, lambda call: call.strings, "argument text"))
        if when.seen is not None:
            index = len(self.seen_conditions)
            pattern = compile_regex(when.seen.regex) if when.seen.regex is not None else None
            self.seen_conditions.append((when.seen, pattern))
            conds.append(_seen_cond(index, when.seen))
        if when.rate is not None:
            conds.append(_rate_cond(when.rate))
        for sub in when.all_ or ():
            conds.append(self._compile(sub))
        if when.any_ is not None:
            conds.append(_any([self._compile(sub) for sub in when.any_]))
        if when.not_ is not None:
            fields = ", ".join(sorted(when.not_.model_dump(exclude_none=True, by_alias=True)))
            conds.append(_not(self._compile(when.not_), fields or "anything"))
        # provenance last: the only condition that may read the whole payload
        if when.carries is not None:
            conds.append(_carries_cond(when.carries, self))
        if not conds:
            return _Cond(lambda call: True, lambda call: [])
        return _all(conds)

    def _rules_for(self, tool: str) -> tuple[_CompiledRule, ...]:
        rules = self._by_tool.get(tool)
        if rules is None:
            rules = tuple(
                r
                for r in self._rules
                if r.tools is None or any(fnmatch.fnmatchcase(tool, n) for n in r.tools)
            )
            if len(self._by_tool) < _RULE_CACHE_LIMIT:
                self._by_tool[tool] = rules
        return rules

    # -- deciding -------------------------------------------------------------------------------

    def decide(
        self,
        session: Session,
        tool: str,
        arguments: Any,
        *,
        agent: Agent | str | Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> GuardDecision:
        """Allow, block or require approval for one call. Never raises: fails closed.

        ``agent`` overrides the session's agent for this call; ``now`` (seconds, any monotonic
        origin) feeds rate limits — default ``time.monotonic()``; replays pass the trace's.
        """
        name = tool if isinstance(tool, str) else repr(tool)
        try:
            return self._decide(session, tool, arguments, agent, now)
        except Exception as exc:  # noqa: BLE001 - the guard must not crash open
            return self._fail_closed(
                name, f"internal error in the guard: {type(exc).__name__}: {exc}"
            )

    def _fail_closed(self, tool: str, reason: str, evidence: tuple[str, ...] = ()) -> GuardDecision:
        return GuardDecision(
            effect="block",
            rule_id=FAIL_CLOSED,
            reason=reason,
            policy_version=self.policy.version,
            evidence=evidence,
            policy_name=self.policy.name,
            tool=tool,
        )

    def _decide(
        self,
        session: Session,
        tool: Any,
        arguments: Any,
        agent: Agent | str | Mapping[str, Any] | None,
        now: float | None,
    ) -> GuardDecision:
        policy = self.policy
        if not isinstance(session, Session) or session.guard is not self:
            return self._fail_closed(
                str(tool),
                "the session does not belong to this guard (create it with guard.session())",
            )
        session.decisions += 1
        halted = self.halted or session.halted
        if halted is not None:
            return GuardDecision(
                effect="block",
                rule_id=KILL_SWITCH,
                reason=f"the kill switch is engaged: {halted}",
                policy_version=policy.version,
                policy_name=policy.name,
                tool=str(tool),
            )
        if not isinstance(tool, str) or not tool.strip():
            return self._fail_closed(
                repr(tool), "malformed call: the tool name must be a non-empty string"
            )
        if not isinstance(arguments, Mapping):
            return self._fail_closed(
                tool,
                f"malformed call: arguments must be a mapping of names to values, "
                f"not {type(arguments).__name__}",
            )
        args = {str(k): v for k, v in arguments.items()}
        who = Agent.of(agent) if agent is not None else session.agent
        clock = time.monotonic() if now is None else float(now)
        if math.isnan(clock):
            return self._fail_closed(tool, "malformed call: the time is not a number")
        if tool in self._specs:
            spec = self._specs[tool]
        else:
            spec = policy.tool_spec(tool)
            if len(self._specs) < _RULE_CACHE_LIMIT:
                self._specs[tool] = spec
        call = _Call(self, session, tool, spec, args, who, clock)
        try:
            touched = self._protected.touched(call)
        except _Malformed as exc:
            return self._fail_closed(tool, f"malformed call: {exc}")
        if touched is not None:
            control, why = touched
            return GuardDecision(
                effect="block",
                rule_id=PROTECTED,
                reason=(
                    f"the {control.control} is a protected control, out of the agent's reach; "
                    "this attempt is an incident"
                ),
                policy_version=policy.version,
                evidence=(why,),
                incident=True,
                policy_name=policy.name,
                tool=tool,
            )
        if spec is None:
            declared = ", ".join(t.name for t in policy.tools)
            return self._fail_closed(
                tool,
                f"tool {tool!r} is not declared in policy {policy.name} {policy.version} "
                f"(declared: {declared}); unknown tools fail closed",
            )
        lacking = spec.missing(args)
        if lacking is not None:
            return self._fail_closed(tool, f"malformed call: {tool} is {lacking}")
        try:
            decision = self._evaluate(call)
        except _Malformed as exc:
            return self._fail_closed(tool, f"malformed call: {exc}")
        if decision.effect != "block":
            self._record(call)
        return decision

    def _evaluate(self, call: _Call) -> GuardDecision:
        policy = self.policy
        for compiled in self._rules_for(call.tool):
            if compiled.cond.test(call):
                rule = compiled.rule
                return GuardDecision(
                    effect=rule.effect,
                    rule_id=rule.id,
                    reason=rule.reason,
                    policy_version=policy.version,
                    evidence=tuple(compiled.cond.explain(call)),
                    incident=rule.incident,
                    policy_name=policy.name,
                    tool=call.tool,
                )
        return GuardDecision(
            effect=policy.default,
            rule_id=DEFAULT,
            reason=f"no rule matched; the policy's default is {policy.default}",
            policy_version=policy.version,
            policy_name=policy.name,
            tool=call.tool,
        )

    def _record(self, call: _Call) -> None:
        """Remember a call that may go out: rate counters and what reached each sink."""
        session = call.session
        times = session._calls.setdefault(call.tool, [])
        if times and call.now < times[-1]:
            bisect.insort(times, call.now)
        else:
            times.append(call.now)
        if len(times) > 4096:  # keep memory bounded; no sane rate window counts that many
            del times[:2048]
        tracker = session.tracker
        if tracker:
            sinks = call.sinks("any" if self._commit_any else "outside")
            if sinks:
                tracker.commit(call.scan, sinks, outside=call.sinks("outside"))
