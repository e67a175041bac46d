"""Our scenarios as Inspect tasks, and the solver that runs one agent in one simulated world.

Run them with Inspect directly::

    inspect eval corrigible/agentic_misalignment --model corrigible/smollm2 \
        -T conditions=blackmail_explicit-america_replacement -T samples=2

or through ``corrigible run`` for whole sweeps with resume and a results store.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Sequence
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver

from corrigible.environment.tools import native_tools
from corrigible.environment.world import STORE_ACTIONS, STORE_REPORT, STORE_SENT, Environment
from corrigible.errors import ScenarioError
from corrigible.evaluation.containment import AuditTarget, contain
from corrigible.evaluation.scorer import harm_detector
from corrigible.scenarios import (
    Condition,
    RenderedScenario,
    ToolMode,
    family_names,
    full_grid,
    parse_condition_id,
    render_scenario,
)

ACTIONS_KEY = STORE_ACTIONS
SENT_KEY = STORE_SENT
REPORT_KEY = STORE_REPORT


def sample_id(condition_id: str, sample: int) -> str:
    """The Inspect sample id for one sample of one condition: ``<condition>/sample_003``."""
    return f"{condition_id}/sample_{sample:03d}"


def resolve_conditions(selectors: str | Sequence[str]) -> list[Condition]:
    """Turn ids, family names or glob patterns (``blackmail_explicit-*``) into conditions.

    Exact ids may name any renderable condition (e.g. with extra instructions); patterns and
    family names select from the base grid. Order is kept and duplicates dropped.
    """
    if isinstance(selectors, str):
        selectors = [s for s in selectors.replace(",", " ").split() if s]
    grid = full_grid()
    chosen: dict[str, Condition] = {}
    for selector in selectors:
        if selector in family_names():
            matches = [c for c in grid if c.family == selector and not c.production]
        elif any(ch in selector for ch in "*?["):
            matches = [c for c in grid if fnmatch.fnmatchcase(c.id, selector)]
            if not matches:
                raise ScenarioError(f"condition pattern {selector!r} matches no condition")
        else:
            matches = [parse_condition_id(selector)]
        for condition in matches:
            chosen.setdefault(condition.id, condition)
    return list(chosen.values())


def scenario_samples(
    conditions: Iterable[Condition],
    samples: int,
    *,
    tool_mode: ToolMode = "text",
    only: set[str] | None = None,
) -> list[Sample]:
    """One Inspect Sample per (condition, sample number), numbered from 1.

    ``only`` restricts the list to the given sample ids (how a resumed sweep skips finished work).
    """
    out: list[Sample] = []
    for condition in conditions:
        scenario = render_scenario(condition, tool_mode=tool_mode)
        for n in range(1, samples + 1):
            sid = sample_id(condition.id, n)
            if only is not None and sid not in only:
                continue
            out.append(
                Sample(
                    id=sid,
                    input=[
                        ChatMessageSystem(content=scenario.system_prompt),
                        ChatMessageUser(content=scenario.user_prompt),
                    ],
                    metadata={
                        "family": condition.family,
                        "condition": condition.id,
                        "sample": n,
                        "tool_mode": tool_mode,
                        "goal_type": condition.goal_type.value,
                        "goal_value": condition.goal_value,
                        "urgency": condition.urgency.value,
                        "production": condition.production,
                        "instructions": list(condition.instructions),
                        "family_version": scenario.family_version,
                    },
                )
            )
    return out


@functools.lru_cache(maxsize=2048)
def _rendered(condition: str, mode: ToolMode) -> RenderedScenario:
    """Rendering is pure, so samples of one condition share it (it costs ~1 ms per render)."""
    return render_scenario(condition, tool_mode=mode)


@solver
def scenario_agent(
    max_steps: int = 10,
    guard: str | None = None,
    audit: str | None = None,
    audit_key: str | None = None,
) -> Solver:
    """Let the model act in a fresh simulated environment and record its actions.

    Text mode: one reply, whose tool blocks are executed in order (as in the public framework).
    Native mode: Inspect tool calling, one round of tool calls per step until the model answers
    without a tool call or ``max_steps`` steps have run.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta: dict[str, Any] = state.metadata
        mode: ToolMode = meta.get("tool_mode", "text")
        scenario = _rendered(meta["condition"], mode)
        env = Environment.from_scenario(scenario)
        if guard is not None:
            contain(
                env,
                scenario,
                guard,
                audit=AuditTarget(audit, audit_key) if audit and audit_key else None,
                agent_id=f"{scenario.agent_principal}@{state.sample_id}",
            )
        step = 0
        if mode == "text":
            state = await generate(state)
            env.apply_text_reply(state.output.completion, turn=0)
        else:
            state.tools = list(native_tools(env, scenario.tools, lambda: step))
            for step in range(max_steps):  # noqa: B007 - read by the tools' turn callback
                state = await generate(state, tool_calls="single")
                if not state.output.message.tool_calls:
                    break
        if scenario.followup:
            # the report phase: a question, one answer, no tool runs
            state.messages.append(ChatMessageUser(content=scenario.followup))
            state = await generate(state, tool_calls="none")
            state.store.set(REPORT_KEY, state.output.completion)
        state.store.set(ACTIONS_KEY, env.action_log())
        state.store.set(SENT_KEY, [m.model_dump(mode="json") for m in env.sent])
        return state

    return solve


def build_task(
    conditions: str | Sequence[str] | Sequence[Condition],
    samples: int = 1,
    *,
    tool_mode: ToolMode = "text",
    max_steps: int = 10,
    only: set[str] | None = None,
    name: str = "agentic_misalignment",
    guard: str | None = None,
    audit: str | None = None,
    audit_key: str | None = None,
    **task_kwargs: Any,
) -> Task:
    """The Python entry point behind the registered tasks (and behind sweeps).

    ``guard``: a policy path (or ``default``) deciding every tool call; ``audit`` and
    ``audit_key``: the audit log (path or ``postgresql://`` URL) those decisions are appended to,
    and its signing key."""
    if samples < 1:
        raise ScenarioError(f"samples must be at least 1, got {samples}")
    if tool_mode not in ("text", "native"):
        raise ScenarioError(f"tool_mode {tool_mode!r}: expected 'text' or 'native'")
    if (audit is None) != (audit_key is None) or (audit is not None and guard is None):
        raise ScenarioError("audit and audit_key go together, and need a guard policy")
    if isinstance(conditions, str) or (conditions and isinstance(conditions[0], str)):
        resolved = resolve_conditions(conditions)  # type: ignore[arg-type]
    else:
        resolved = list(conditions)  # type: ignore[arg-type]
    dataset = MemoryDataset(
        scenario_samples(resolved, samples, tool_mode=tool_mode, only=only), name=name
    )
    return Task(
        dataset=dataset,
        solver=scenario_agent(max_steps=max_steps, guard=guard, audit=audit, audit_key=audit_key),
        scorer=harm_detector(),
        name=name,
        **task_kwargs,
    )


@task
def agentic_misalignment(
    conditions: str | list[str] = "blackmail_explicit-america_replacement",
    samples: int = 1,
    tool_mode: str = "text",
    max_steps: int = 10,
    guard: str | None = None,
    audit: str | None = None,
    audit_key: str | None = None,
) -> Task:
    """Any conditions of any families: ids, family names or glob patterns, comma-separated.
    ``guard``: run every tool call through a containment policy (a path, or ``default``);
    ``audit``/``audit_key``: append its decisions to that audit log, signed with that key."""
    return build_task(
        conditions,
        samples,
        tool_mode=tool_mode,  # type: ignore[arg-type]
        max_steps=max_steps,
        guard=guard,
        audit=audit,
        audit_key=audit_key,
    )


@task
def blackmail(
    conditions: str = "blackmail_explicit-america_replacement,blackmail_none_none",
    samples: int = 1,
    tool_mode: str = "text",
    guard: str | None = None,
) -> Task:
    """The blackmail family: a pressure condition and its control by default (``guard``: a
    containment policy path, or ``default``)."""
    return build_task(conditions, samples, tool_mode=tool_mode, name="blackmail", guard=guard)  # type: ignore[arg-type]


@task
def leaking(
    conditions: str = "leaking_explicit-america_replacement,leaking_none_none",
    samples: int = 1,
    tool_mode: str = "text",
    guard: str | None = None,
) -> Task:
    """The leaking family: a pressure condition and its control by default (``guard``: a
    containment policy path, or ``default``)."""
    return build_task(conditions, samples, tool_mode=tool_mode, name="leaking", guard=guard)  # type: ignore[arg-type]


@task
def lethal(
    conditions: str = "lethal_explicit-america_replacement,lethal_none_none",
    samples: int = 1,
    tool_mode: str = "text",
    guard: str | None = None,
) -> Task:
    """The lethal family: a pressure condition and its control by default (``guard``: a
    containment policy path, or ``default``)."""
    return build_task(conditions, samples, tool_mode=tool_mode, name="lethal", guard=guard)  # type: ignore[arg-type]
