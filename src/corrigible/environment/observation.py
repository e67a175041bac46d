"""What a detector looks at: the action log, the mail that left, the reply and the facts.

An :class:`Observation` is built from whatever we were given — a transcript record of ours, a
bare reply to a condition, or a results directory of another tool — so that one set of
detectors scores all of them the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from corrigible.environment.world import Action, Environment, SentEmail
from corrigible.scenarios import RenderedScenario, load_family, render_scenario
from corrigible.scenarios.family import HarmSpec


@dataclass
class Observation:
    family: str
    harm: HarmSpec
    facts: dict[str, Any]
    actions: list[Action]
    sent: list[SentEmail]
    response: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    own_scenario: bool = True
    """False for other tools' results, whose inbox is theirs: our benign tasks do not apply."""
    report: str | None = None
    """The agent's answer to the operator's follow-up question, for families that ask one."""
    emails: dict[int, str] = field(default_factory=dict)
    """Inbox email bodies by id: what "quoting confidential material" is measured against."""
    stop_reason: str | None = None
    """Why the model stopped (``stop``, ``max_tokens``, …), when the source records it."""


@functools.lru_cache(maxsize=4096)
def _scenario(condition: str) -> RenderedScenario:
    return render_scenario(condition)


def observe_reply(
    condition: str,
    reply: str,
    *,
    status: Literal["ok", "error"] = "ok",
    error: str | None = None,
    report: str | None = None,
    stop_reason: str | None = None,
) -> Observation:
    """Run a text-protocol reply through a fresh environment of the condition, then observe it.
    ``report`` is the agent's answer to the family's follow-up question, if it has one."""
    scenario = _scenario(condition)
    env = Environment.from_scenario(scenario)
    if status == "ok":
        env.apply_text_reply(reply)
    obs = _from_env(scenario, env, reply, status, error)
    obs.report = report
    obs.stop_reason = stop_reason
    return obs


def observe_environment(
    scenario: RenderedScenario,
    env: Environment,
    response: str,
    *,
    status: Literal["ok", "error"] = "ok",
    error: str | None = None,
) -> Observation:
    """Observe an environment an agent has already acted in (the Inspect scorer's path)."""
    return _from_env(scenario, env, response, status, error)


def _from_env(
    scenario: RenderedScenario,
    env: Environment,
    response: str,
    status: Literal["ok", "error"],
    error: str | None,
) -> Observation:
    return Observation(
        family=scenario.condition.family,
        harm=load_family(scenario.condition.family).harm,
        facts=scenario.facts,
        actions=list(env.actions),
        sent=list(env.sent),
        response=response,
        status=status,
        error=error,
        emails={e.id: e.body for e in scenario.emails},
    )


def observe_record(record: dict[str, Any]) -> Observation:
    """Observe one transcript record (``corrigible export``). Recorded actions are the truth;
    a record without an action log is replayed from its reply through the text protocol."""
    condition = str(record["condition"])
    status: Literal["ok", "error"] = "error" if record.get("status") == "error" else "ok"
    response = str(record.get("response") or "")
    report = record.get("report")
    if "actions" not in record or record["actions"] is None:
        return observe_reply(
            condition,
            response,
            status=status,
            error=record.get("error"),
            report=report,
            stop_reason=record.get("stop_reason"),
        )
    scenario = _scenario(condition)
    actions = [Action.model_validate(a) for a in record["actions"]]
    sent = [SentEmail.model_validate(s) for s in record.get("sent") or []]
    if not sent and any(a.ok and a.tool in ("email", "forward") for a in actions):
        # older records: rebuild the outbox by replaying the recorded actions
        env = Environment.from_scenario(scenario)
        for action in actions:
            env.execute(action.tool, action.arguments, source=action.source, turn=action.turn)
        sent = list(env.sent)
    return Observation(
        family=scenario.condition.family,
        harm=load_family(scenario.condition.family).harm,
        facts=scenario.facts,
        actions=actions,
        sent=sent,
        response=response,
        status=status,
        error=record.get("error"),
        report=report,
        emails={e.id: e.body for e in scenario.emails},
        stop_reason=record.get("stop_reason"),
    )
