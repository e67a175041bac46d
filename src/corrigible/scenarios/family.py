"""Scenario families as data: the schema of ``families/<name>/family.yaml`` and its loader.

A family file holds everything about one fictional setting — company, people, inbox, tools and
the *facts* the environment and scorers need — so that a fact is written once and flows from
there to the prompt, the simulated world and the detectors. Text fields are Jinja templates.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corrigible._files import read_yaml
from corrigible.errors import ScenarioError, describe_validation_error
from corrigible.scenarios.condition import GoalType, Urgency

_PACKAGE_ROOT = resources.files("corrigible.scenarios")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str
    first: str
    email: str
    title: str | None = None
    org: str | None = None


class Company(_Strict):
    name: str
    domain: str
    description: str


class AgentPersona(_Strict):
    name: str
    email: str


class EmailSpec(_Strict):
    """One inbox email; every text field is a Jinja template, ``when`` a Jinja expression."""

    key: str
    sender: str
    to: str
    subject: str
    time: str
    body: str
    confidential: bool = False
    when: str | None = None


class ToolParam(_Strict):
    type: Literal["string", "integer"]
    description: str
    example: str
    optional: bool = False


class ToolSpec(_Strict):
    """A tool the agent may call. The same spec feeds prompts, native tools and the environment."""

    name: str
    description: str
    params: dict[str, ToolParam]
    result: str | None = None
    """For tools declared only in data (no Python handler): what the tool tells the agent on
    success, with ``{param}`` placeholders. Such a tool succeeds when its required parameters
    are given; what it *means* is judged by the family's detector over the action log."""


class GoalValue(_Strict):
    name: str
    label: str
    goal: str
    direction: str
    achievement: str
    new_system: str


class Mitigation(_Strict):
    """Additions a ``+name`` condition suffix makes to any scenario (all texts are templates)."""

    name: str
    summary: str
    system: str | None = None
    emails: tuple[EmailSpec, ...] = ()
    tools: tuple[str, ...] = ()
    facts: dict[str, Any] = Field(default_factory=dict)


class Axes(_Strict):
    """Which parts of the condition grid a family supports (all of them by default)."""

    goal_types: tuple[GoalType, ...] = tuple(GoalType)
    urgencies: tuple[Urgency, ...] = tuple(Urgency)


class HarmSpec(_Strict):
    """Which detector decides harm for this family, and which facts feed its parameters.

    String parameters name keys of the family's facts; the scorer resolves them per sample.
    """

    detector: str
    params: dict[str, Any] = Field(default_factory=dict)


class BenignTask(_Strict):
    """An ordinary task in the same environment (answer mail, grant a standard scope, move a
    job), with its own success check: a detector over the action log that says it was done."""

    id: str
    description: str
    detector: str = "action_matches"
    params: dict[str, Any] = Field(default_factory=dict)


class FamilySpec(_Strict):
    name: str
    version: int
    title: str
    summary: str
    held_out: bool = False
    harmful_action: str
    harm: HarmSpec
    benign: tuple[BenignTask, ...] = ()
    """Ordinary tasks in the inbox; what they measure is the cost of a mitigation in utility."""
    tools: tuple[str, ...]
    shared_emails: tuple[str, ...] = ()
    company: Company
    ai: AgentPersona
    successor: str
    date: str
    now: str
    role: str
    instruction: str
    followup: str | None = None
    """A message from the operator after the agent has acted ("what did you do?"): the agent's
    answer is its report, which a family's detector may hold against the action log."""
    people: dict[str, Person]
    facts: dict[str, Any] = Field(default_factory=dict)
    emails: tuple[EmailSpec, ...]
    axes: Axes = Axes()


class GoalCatalog(_Strict):
    pairs: tuple[tuple[str, str], ...]
    values: dict[str, GoalValue]

    def opposite(self, value: str) -> str:
        for a, b in self.pairs:
            if value == a:
                return b
            if value == b:
                return a
        raise ScenarioError(f"goal value {value!r} is in no opposed pair of goals.yaml")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v for pair in self.pairs for v in pair)


def _read_yaml(path: Path | Any) -> Any:
    return read_yaml(path, ScenarioError)


def _validate(model: type[BaseModel], data: Any, path: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe_validation_error(exc)}") from None


def families_root() -> Any:
    return _PACKAGE_ROOT / "families"


@functools.cache
def goal_catalog() -> GoalCatalog:
    path = _PACKAGE_ROOT / "data" / "goals.yaml"
    data = _read_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("values"), dict):
        data["values"] = {
            k: {"name": k, **v} if isinstance(v, dict) else v for k, v in data["values"].items()
        }
    catalog: GoalCatalog = _validate(GoalCatalog, data, path)
    missing = [v for v in catalog.names if v not in catalog.values]
    if missing:
        raise ScenarioError(f"{path}: pairs name values with no entry under values: {missing}")
    return catalog


@functools.cache
def tool_catalog() -> dict[str, ToolSpec]:
    path = _PACKAGE_ROOT / "data" / "tools.yaml"
    data = _read_yaml(path) or {}
    return {
        name: _validate(ToolSpec, {"name": name, **body}, f"{path} [{name}]")
        for name, body in data.items()
    }


@functools.cache
def mitigation_catalog() -> dict[str, Mitigation]:
    """Composable mitigations by name (``data/mitigations.yaml``), validated once."""
    path = _PACKAGE_ROOT / "data" / "mitigations.yaml"
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of mitigation name to its parts")
    catalog = {
        name: _validate(Mitigation, {"name": name, **(body or {})}, f"{path} [{name}]")
        for name, body in data.items()
    }
    tools = tool_catalog()
    for mitigation in catalog.values():
        for tool in mitigation.tools:
            if tool not in tools:
                raise ScenarioError(
                    f"{path} [{mitigation.name}]: field tools: unknown tool {tool!r}"
                )
    return catalog


@functools.cache
def shared_emails() -> dict[str, EmailSpec]:
    path = families_root() / "_shared" / "emails.yaml"
    data = _read_yaml(path) or {}
    return {k: _validate(EmailSpec, {"key": k, **v}, f"{path} [{k}]") for k, v in data.items()}


def family_names() -> list[str]:
    """Names of the families shipped with the package, sorted."""
    root = families_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "family.yaml").is_file())


@functools.cache
def load_family(name: str) -> FamilySpec:
    """Load and validate one family; unknown names and bad files raise a one-line ScenarioError."""
    if name not in family_names():
        raise ScenarioError(
            f"unknown scenario family {name!r} (known: {', '.join(family_names())})"
        )
    path = families_root() / name / "family.yaml"
    spec: FamilySpec = _validate(FamilySpec, _read_yaml(path), path)
    if spec.name != name:
        raise ScenarioError(f"{path}: field name: is {spec.name!r} but the folder is {name!r}")
    tools = tool_catalog()
    for tool in spec.tools:
        if tool not in tools:
            raise ScenarioError(
                f"{path}: field tools: unknown tool {tool!r} (known: {', '.join(tools)})"
            )
    shared = shared_emails()
    for key in spec.shared_emails:
        if key not in shared:
            raise ScenarioError(f"{path}: field shared_emails: unknown email {key!r}")
    return spec
