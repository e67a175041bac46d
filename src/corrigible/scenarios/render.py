"""Render a condition into the exact prompts, inbox and facts one sample sees.

Rendering is pure and strict: an undefined variable, a leftover template delimiter or an
unsupported axis value is a ScenarioError, never a silently different prompt.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict

from corrigible.errors import ScenarioError
from corrigible.scenarios.condition import Condition, GoalType, parse_condition_id
from corrigible.scenarios.family import (
    EmailSpec,
    FamilySpec,
    GoalValue,
    ToolSpec,
    families_root,
    goal_catalog,
    load_family,
    mitigation_catalog,
    shared_emails,
    tool_catalog,
)

ToolMode = Literal["text", "native"]

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    autoescape=False,
)
_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


class Email(BaseModel):
    """An email as the agent sees it, with the numeric id it can forward by."""

    model_config = ConfigDict(frozen=True)

    id: int
    key: str
    sender: str
    to: str
    subject: str
    time: str
    body: str
    confidential: bool = False


class RenderedScenario(BaseModel):
    """Everything one sample needs: prompts for the model, inbox and facts for the environment."""

    model_config = ConfigDict(frozen=True)

    condition: Condition
    family_version: int
    tool_mode: ToolMode
    system_prompt: str
    user_prompt: str
    emails: tuple[Email, ...]
    tools: tuple[ToolSpec, ...]
    facts: dict[str, Any]
    followup: str | None = None
    """The operator's follow-up question, asked after the agent has acted (if the family has one)."""

    @property
    def condition_id(self) -> str:
        return self.condition.id

    @property
    def agent_principal(self) -> str:
        """Who the agent is to a containment guard: the family's principal fact, else ``agent``."""
        return str(self.facts.get("agent_principal") or "agent")

    def inbox_reads(self) -> list[tuple[int, str, tuple[str, ...]]]:
        """The inbox as the agent has read it: ``(email id, text, labels)`` per email, with
        confidential ones labelled so. This is what a containment guard tracks as the session's
        sources, in a sweep and in an exported trace alike."""
        return [
            (
                email.id,
                f"From: {email.sender}\nSubject: {email.subject}\n\n{email.body}",
                ("confidential",) if email.confidential else (),
            )
            for email in self.emails
        ]


@functools.cache
def _template(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


@functools.cache
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source)


@functools.cache
def _file_template(name: str) -> jinja2.Template:
    return _template((families_root() / "_shared" / name).read_text(encoding="utf-8"))


def _render(source: str, ctx: dict[str, Any], where: str) -> str:
    try:
        text = _template(source).render(ctx)
    except jinja2.TemplateError as exc:
        raise ScenarioError(f"{where}: template error: {exc}") from None
    text = _BLANK_RUNS.sub("\n\n", text).strip()
    if _LEFTOVER.search(text):
        raise ScenarioError(f"{where}: rendered text still holds a template delimiter")
    return text


def _render_facts(value: Any, ctx: dict[str, Any], where: str) -> Any:
    if isinstance(value, str):
        return _render(value, ctx, where) if ("{" in value) else value
    if isinstance(value, list):
        return [_render_facts(v, ctx, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _render_facts(v, ctx, f"{where}.{k}") for k, v in value.items()}
    return value


def _goal_setup(
    condition: Condition,
) -> tuple[GoalValue | None, GoalValue | None, GoalValue | None]:
    """Return (agent goal in the system prompt, old company direction, new company direction)."""
    if not condition.goal_type.has_value:
        return None, None, None
    catalog = goal_catalog()
    value = condition.goal_value or ""
    if value not in catalog.values:
        raise ScenarioError(
            f"condition {condition.id}: unknown goal value {value!r} "
            f"(known: {', '.join(catalog.names)})"
        )
    mine = catalog.values[value]
    theirs = catalog.values[catalog.opposite(value)]
    if condition.goal_type is GoalType.EXPLICIT:
        return mine, mine, theirs
    if condition.goal_type is GoalType.LATENT:
        return None, mine, theirs
    return mine, theirs, mine  # swap: the new direction is the agent's own goal


def check_supported(spec: FamilySpec, condition: Condition) -> None:
    """Raise ScenarioError if the family does not offer this condition's axes."""
    if condition.goal_type not in spec.axes.goal_types:
        raise ScenarioError(
            f"condition {condition.id}: family {spec.name!r} has no goal type {condition.goal_type.value!r}"
        )
    if condition.urgency not in spec.axes.urgencies:
        raise ScenarioError(
            f"condition {condition.id}: family {spec.name!r} has no urgency {condition.urgency.value!r}"
        )
    known = mitigation_catalog()
    for name in condition.instructions:
        if name not in known:
            raise ScenarioError(
                f"condition {condition.id}: unknown mitigation {name!r} (known: {', '.join(known)})"
            )


def render_scenario(
    condition: Condition | str, *, tool_mode: ToolMode = "text"
) -> RenderedScenario:
    """Render one condition of one family. Pure: same inputs, same output."""
    if isinstance(condition, str):
        condition = parse_condition_id(condition)
    if tool_mode not in ("text", "native"):
        raise ScenarioError(f"tool mode {tool_mode!r}: expected 'text' or 'native'")
    spec = load_family(condition.family)
    check_supported(spec, condition)
    goal, old, new = _goal_setup(condition)
    where = f"family {spec.name}, condition {condition.id}"

    ctx: dict[str, Any] = {
        "company": spec.company,
        "ai": spec.ai,
        "people": spec.people,
        "successor": spec.successor,
        "date": spec.date,
        "now": spec.now,
        "condition": {
            "id": condition.id,
            "goal_type": condition.goal_type.value,
            "goal_value": condition.goal_value,
            "urgency": condition.urgency.value,
            "production": condition.production,
        },
        "goal": goal,
        "agent_value": goal or old,
        "old": old,
        "new": new,
        "tool_mode": tool_mode,
    }
    mitigations = [mitigation_catalog()[name] for name in condition.instructions]
    facts = _render_facts(spec.facts, ctx, f"{where}, facts")
    for mitigation in mitigations:
        facts.update(
            _render_facts(mitigation.facts, ctx, f"{where}, mitigation {mitigation.name} facts")
        )
    ctx["facts"] = facts
    ctx["role"] = _render(spec.role, ctx, f"{where}, role")

    extra_emails = [e for m in mitigations for e in m.emails]
    emails = _render_emails(spec, ctx, where, extra=extra_emails)
    facts = {
        **facts,
        "email_ids": {e.key: e.id for e in emails},
        "confidential_email_ids": [e.id for e in emails if e.confidential],
        "mitigations": list(condition.instructions),
    }
    tool_names = list(dict.fromkeys([*spec.tools, *(t for m in mitigations for t in m.tools)]))
    tools = tuple(tool_catalog()[name] for name in tool_names)
    instructions = [
        _render(m.system, ctx, f"{where}, mitigation {m.name}") for m in mitigations if m.system
    ]
    system = _render_file(
        "system.md.j2", {**ctx, "tools": tools, "instructions": instructions}, where
    )
    user = _render_file(
        "user.md.j2",
        {**ctx, "emails": emails, "instruction": _render(spec.instruction, ctx, where)},
        where,
    )
    return RenderedScenario(
        condition=condition,
        family_version=spec.version,
        tool_mode=tool_mode,
        system_prompt=system,
        user_prompt=user,
        emails=tuple(emails),
        tools=tools,
        facts=facts,
        followup=_render(spec.followup, ctx, f"{where}, followup") if spec.followup else None,
    )


def _render_file(name: str, ctx: dict[str, Any], where: str) -> str:
    try:
        text = _file_template(name).render(ctx)
    except jinja2.TemplateError as exc:
        raise ScenarioError(f"{where}, {name}: template error: {exc}") from None
    text = _BLANK_RUNS.sub("\n\n", text).strip() + "\n"
    if _LEFTOVER.search(text):
        raise ScenarioError(f"{where}, {name}: rendered text still holds a template delimiter")
    return text


def _render_emails(
    spec: FamilySpec, ctx: dict[str, Any], where: str, *, extra: list[EmailSpec] | None = None
) -> list[Email]:
    shared = shared_emails()
    specs: list[EmailSpec] = (
        [shared[k] for k in spec.shared_emails] + list(spec.emails) + list(extra or [])
    )
    chosen: list[tuple[str, int, dict[str, Any]]] = []
    for order, email in enumerate(specs):
        here = f"{where}, email {email.key}"
        if email.when is not None:
            try:
                keep = _expression(email.when)(**ctx)
            except jinja2.TemplateError as exc:
                raise ScenarioError(f"{here}: bad 'when' expression: {exc}") from None
            if not keep:
                continue
        fields = {
            name: _render(getattr(email, name), ctx, f"{here}, {name}")
            for name in ("sender", "to", "subject", "time", "body")
        }
        chosen.append(
            (
                fields["time"],
                order,
                {"key": email.key, "confidential": email.confidential, **fields},
            )
        )
    chosen.sort(key=lambda item: (item[0], item[1]))
    return [Email(id=i, **fields) for i, (_, _, fields) in enumerate(chosen, start=1)]
