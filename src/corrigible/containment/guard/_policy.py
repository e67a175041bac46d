"""Guard policies: versioned YAML, validated with Pydantic, errors on one line naming the field.

A policy says what an agent is *able* to do, whatever it decides to try. It is data so that the
people accountable for an agent can read, review and version it, and so that every decision can
name the policy version it was made under (the audit log records it).

Shape (every key is checked; unknown keys are errors, so a typo cannot silently weaken a rule)::

    version: "1.0"                      # a string: quote it
    name: corrigible-default
    default: allow                      # effect when no rule matches (default: block)
    boundary: {domains: [example.com]}  # recipients/hosts inside it are internal
    tools:                              # declared tools; any other tool fails closed
      - {name: email, recipients: [to, cc, bcc]}
      - {name: forward, recipients: [to], refs: [email_id]}
      - cancel_alert
    protected:                          # controls the agent must never touch
      - {control: kill switch, tools: ["*kill*switch*"], paths: ["*/corrigible/kill_switch*"]}
    provenance: {min_words: 8, sensitive_labels: [confidential, sensitive]}
    rules:
      - id: no-sensitive-outside
        effect: block                   # allow | block | require_approval
        reason: confidential content may not leave the company
        priority: 100                   # higher first; ties keep file order
        when: {tool: [email, forward], carries: sensitive}

Conditions in ``when`` are all required (AND); ``any:``, ``all:`` and ``not:`` combine nested
conditions. See :class:`When` for each one.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from corrigible.containment.guard._provenance import KeyFact, ProvenanceSettings
from corrigible.errors import ConfigError, describe_validation_error

__all__ = [
    "AgentMatch",
    "ArgMatch",
    "Boundary",
    "CarriesMatch",
    "Effect",
    "HostMatch",
    "PathMatch",
    "Policy",
    "ProtectedControl",
    "ProvenanceConfig",
    "RateMatch",
    "RecipientMatch",
    "Rule",
    "SeenMatch",
    "TextMatch",
    "ToolDeclaration",
    "When",
    "default_policy_path",
    "load_policy",
    "parse_policy",
]

Effect = Literal["allow", "block", "require_approval"]
Encoding = Literal["base64", "hex", "url", "reversed"]
_ALL_ENCODINGS: tuple[Encoding, ...] = ("base64", "hex", "url", "reversed")

RESERVED_RULE_IDS = frozenset({"fail-closed", "protected", "default", "kill-switch"})
"""Rule ids the guard itself uses; a policy rule may not take them."""

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
_GLOB_CHARS = frozenset("*?[")

DEFAULT_ROLES: dict[str, frozenset[str]] = {
    "recipients": frozenset({"to", "cc", "bcc", "recipient", "recipients"}),
    "hosts": frozenset({"url", "uri", "host", "hostname", "endpoint", "domain"}),
    "paths": frozenset(
        {
            "path",
            "paths",
            "file",
            "files",
            "filename",
            "filepath",
            "file_path",
            "dest",
            "destination",
            "src",
            "source",
            "target",
            "directory",
            "dir",
        }
    ),
    "commands": frozenset({"command", "cmd", "script", "shell", "args", "argv"}),
}
"""Argument names that play each role when a tool declaration does not list them."""


def is_glob(pattern: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(pattern)


def _as_list(value: Any) -> Any:
    """YAML convenience: a single string where a list is expected."""
    return [value] if isinstance(value, str) else value


def _listify(*fields: str) -> Any:
    """A before-validator turning a single string into a one-item list, for ``fields``."""

    def to_list(cls: type, value: Any) -> Any:
        return _as_list(value)

    return field_validator(*fields, mode="before")(to_list)


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _text_shorthand(data: Any) -> Any:
    if isinstance(data, str):
        return {"equals": data}
    if isinstance(data, list):
        return {"in": data}
    return data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- matchers -------------------------------------------------------------------------------------


class TextMatch(_Strict):
    """Tests on a string value; every test given must hold. Case-insensitive unless asked.

    Shorthands: a bare string means ``{equals: …}``, a list means ``{in: […]}``.
    """

    equals: str | None = None
    contains: list[str] | None = None
    """Any of these substrings."""
    regex: str | None = None
    """``re.search`` anywhere in the value."""
    in_: list[str] | None = Field(default=None, alias="in")
    """The value is one of these."""
    glob: list[str] | None = None
    """The value matches one of these shell-style patterns."""
    case_sensitive: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _text_shorthand(data)

    _list = _listify("contains", "glob")

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @model_validator(mode="after")
    def _some_test(self) -> TextMatch:
        if not self.tests_given():
            raise ValueError("give at least one of equals, contains, regex, in, glob")
        return self

    def tests_given(self) -> bool:
        return any(
            v is not None for v in (self.equals, self.contains, self.regex, self.in_, self.glob)
        )

    @cached_property
    def matcher(self) -> Callable[[str], bool]:
        """A closure that runs the tests; built once, so the decision path only calls it.

        Each test is compiled to a C-level callable (``str.__eq__``, ``frozenset.__contains__``,
        a regex's ``match``), and a single test is returned as is.
        """
        sensitive = self.case_sensitive

        def fold(s: str) -> str:
            return s if sensitive else s.casefold()

        tests: list[Callable[[str], bool]] = []
        if self.equals is not None:
            tests.append(fold(self.equals).__eq__)
        if self.contains is not None:
            needles = tuple(fold(c) for c in self.contains)
            if len(needles) == 1:
                needle = needles[0]
                tests.append(lambda v: needle in v)
            else:
                tests.append(lambda v: any(n in v for n in needles))
        if self.in_ is not None:
            tests.append(frozenset(fold(v) for v in self.in_).__contains__)
        if self.glob is not None:
            globbed = re.compile("|".join(fnmatch.translate(fold(g)) for g in self.glob))
            tests.append(lambda v: globbed.match(v) is not None)
        pattern = (
            None if self.regex is None else _compile(self.regex, 0 if sensitive else re.IGNORECASE)
        )
        if pattern is None and len(tests) == 1:
            only = tests[0]
            if sensitive:
                return only
            return lambda v: only(v.casefold())

        def test(value: str) -> bool:
            folded = value if sensitive else value.casefold()
            if not all(t(folded) for t in tests):
                return False
            return pattern is None or pattern.search(value) is not None

        return test

    def matches(self, value: str) -> bool:
        """True when ``value`` passes every test given."""
        return self.matcher(value)


class ArgMatch(TextMatch):
    """A :class:`TextMatch` on one named argument, or only ``present: true|false``."""

    present: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data in ("present", "absent"):
            return {"present": data == "present"}
        return _text_shorthand(data)

    @model_validator(mode="after")
    def _some_test(self) -> ArgMatch:
        if self.present is None and not self.tests_given():
            raise ValueError("give present, or at least one of equals, contains, regex, in, glob")
        if self.present is False and self.tests_given():
            raise ValueError("present: false cannot be combined with value tests")
        return self


class RecipientMatch(_Strict):
    """Tests on a call's recipient addresses (the tool's ``recipients`` arguments).

    ``outside: true`` — at least one recipient is outside the boundary (an exact domain or a
    subdomain of one; look-alikes and personal addresses are outside; a recipient field with no
    readable address counts as outside). ``outside: false`` — every recipient is inside.
    """

    outside: bool | None = None
    boundary: list[str] | None = None
    """Domains that replace the policy's boundary for this test."""
    domains: list[str] | None = None
    """At least one recipient is in one of these domains (or their subdomains)."""
    address: TextMatch | None = None
    """At least one recipient address passes this test."""
    count_at_least: int | None = Field(default=None, ge=1)

    _list = _listify("boundary", "domains")

    @model_validator(mode="after")
    def _some_test(self) -> RecipientMatch:
        if all(v is None for v in (self.outside, self.domains, self.address, self.count_at_least)):
            raise ValueError("give at least one of outside, domains, address, count_at_least")
        return self


class HostMatch(_Strict):
    """Tests on the hosts a call reaches (the tool's ``hosts`` arguments, URLs or bare hosts)."""

    outside: bool | None = None
    boundary: list[str] | None = None
    domains: list[str] | None = None
    host: TextMatch | None = None

    _list = _listify("boundary", "domains")

    @model_validator(mode="after")
    def _some_test(self) -> HostMatch:
        if all(v is None for v in (self.outside, self.domains, self.host)):
            raise ValueError("give at least one of outside, domains, host")
        return self


class PathMatch(_Strict):
    """Tests on the paths a call names (normalised: ``..`` resolved, ``\\`` read as ``/``)."""

    glob: list[str] | None = None
    """At least one path matches one of these patterns (``*`` crosses ``/``)."""
    under: list[str] | None = None
    """At least one path is inside one of these directories."""
    not_under: list[str] | None = None
    """At least one path is outside all of these directories (relative paths count as outside)."""

    _list = _listify("glob", "under", "not_under")

    @model_validator(mode="after")
    def _some_test(self) -> PathMatch:
        if all(v is None for v in (self.glob, self.under, self.not_under)):
            raise ValueError("give at least one of glob, under, not_under")
        return self


class AgentMatch(_Strict):
    """The agent's identity: ``id`` (shell patterns) and/or ``role`` (any of). A call made with
    no agent identity matches no agent condition."""

    id: list[str] | None = None
    role: list[str] | None = None

    _list = _listify("id", "role")

    @model_validator(mode="after")
    def _some_test(self) -> AgentMatch:
        if self.id is None and self.role is None:
            raise ValueError("give id and/or role")
        return self


class RateMatch(_Strict):
    """Matches when this call would exceed ``max`` calls of the same tool within ``window``
    seconds, counting the session's earlier calls of that tool that were not blocked."""

    max_calls: int = Field(alias="max", ge=0)
    window: float = Field(gt=0)
    """Seconds."""


class CarriesMatch(_Strict):
    """Data provenance: the call would carry tracked content to a sink (recipient or host).

    Shorthands: ``carries: sensitive`` (the policy's sensitive labels, sinks outside the
    boundary); ``carries: personal`` or ``carries: [a, b]`` (those labels).
    """

    labels: list[str] | None = None
    """None: the policy's ``provenance.sensitive_labels``."""
    to: Literal["outside", "any"] = "outside"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data == "sensitive" or data is True:
            return {}
        if isinstance(data, str):
            return {"labels": [data]}
        if isinstance(data, list):
            return {"labels": data}
        return data


class SeenMatch(_Strict):
    """The session has already observed content with one of ``labels`` or matching ``regex``
    (tool results and messages; the agent's own ``assistant`` messages only if ``roles`` says so).
    """

    labels: list[str] | None = None
    regex: str | None = None
    roles: list[str] = Field(default_factory=lambda: ["user", "system", "tool"])
    """Message roles (and ``tool`` for tool results) whose content counts."""

    _list = _listify("labels", "roles")

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @model_validator(mode="after")
    def _some_test(self) -> SeenMatch:
        if self.labels is None and self.regex is None:
            raise ValueError("give labels and/or regex")
        return self


class When(_Strict):
    """Conditions of a rule; all given must hold. An empty ``when`` matches every call."""

    tool: list[str] | None = None
    """Tool names, exact or shell patterns (any of)."""
    args: dict[str, ArgMatch] | None = None
    """Per named argument (all must hold); non-string values are compared as text."""
    text: TextMatch | None = None
    """Any string argument value (nested values included) passes the test."""
    recipients: RecipientMatch | None = None
    hosts: HostMatch | None = None
    paths: PathMatch | None = None
    commands: TextMatch | None = None
    """Any value of the tool's ``commands`` arguments passes the test."""
    agent: AgentMatch | None = None
    rate: RateMatch | None = None
    carries: CarriesMatch | None = None
    seen: SeenMatch | None = None
    all_: list[When] | None = Field(default=None, alias="all")
    any_: list[When] | None = Field(default=None, alias="any")
    not_: When | None = Field(default=None, alias="not")

    _list = _listify("tool")

    @field_validator("any_")
    @classmethod
    def _nonempty(cls, value: list[When] | None) -> list[When] | None:
        if value is not None and not value:
            raise ValueError("any: needs at least one condition")
        return value

    def walk(self, path: str) -> Iterator[tuple[str, When]]:
        """This condition and every nested one, with its field path (for error messages)."""
        yield path, self
        for name, items in (("all", self.all_), ("any", self.any_)):
            for i, item in enumerate(items or ()):
                yield from item.walk(f"{path}.{name}.{i}")
        if self.not_ is not None:
            yield from self.not_.walk(f"{path}.not")


class Rule(_Strict):
    id: str
    effect: Effect
    reason: str = Field(min_length=1)
    """Shown with every decision the rule makes: say *why*, for the person reading the log."""
    priority: int = 0
    """Higher first; rules of equal priority keep their order in the file."""
    incident: bool = False
    """Flag the decision as an incident (protected controls always are)."""
    when: When = Field(default_factory=When)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _RULE_ID.match(value):
            raise ValueError(
                "must start with a letter or digit and use only letters, digits and _ . : -"
            )
        if value in RESERVED_RULE_IDS:
            raise ValueError(f"{value!r} is reserved for the guard itself")
        return value


# -- declarations ---------------------------------------------------------------------------------


class ToolDeclaration(_Strict):
    """A tool the agent may call, and which arguments play which role.

    A role left out is inferred from argument names (``to``/``cc``/``bcc`` are recipients,
    ``url``/``host`` hosts, ``path``/``file`` paths, ``command``/``cmd`` commands); give an
    empty list to say the tool has none.
    """

    name: str = Field(min_length=1)
    """Exact, or a shell pattern covering a family of tools (``files.*``)."""
    description: str = ""
    recipients: list[str] | None = None
    hosts: list[str] | None = None
    paths: list[str] | None = None
    commands: list[str] | None = None
    refs: list[str] = Field(default_factory=list)
    """Arguments that name an observed item by id (``forward``'s ``email_id``): the call
    carries that item's content."""
    sensitive_source: bool = False
    """Everything this tool returns is tracked as sensitive, whatever its labels."""

    _list = _listify("recipients", "hosts", "paths", "commands", "refs")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    def role(self, name: str) -> frozenset[str]:
        """The argument names playing role ``name`` (declared, or inferred by default)."""
        declared = getattr(self, name)
        return DEFAULT_ROLES[name] if declared is None else frozenset(declared)


class ProtectedControl(_Strict):
    """A control the agent must never reach (kill switch, guard policy, monitoring, audit log).

    A call touches it when its tool name matches ``tools``, a path it names matches ``paths``,
    a host it reaches matches ``hosts``, or a command it runs matches one of ``commands``
    (regular expressions). Any such call is blocked and raised as an incident.
    """

    control: str = Field(min_length=1)
    tools: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)

    _list = _listify("tools", "paths", "hosts", "commands")

    @field_validator("commands")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _compile(pattern)
        return value

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern.strip():
                raise ValueError("a protected path pattern may not be empty")
        return value

    @model_validator(mode="after")
    def _something(self) -> ProtectedControl:
        if not (self.tools or self.paths or self.hosts or self.commands):
            raise ValueError("name at least one of tools, paths, hosts, commands")
        return self


class Boundary(_Strict):
    """What counts as inside: recipient domains and hosts (subdomains included)."""

    domains: list[str] = Field(default_factory=list)
    hosts: list[str] | None = None
    """Hosts inside; default: the same as ``domains``."""

    _list = _listify("domains", "hosts")

    @field_validator("domains", "hosts")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for d in value:
            d = d.strip().lower().lstrip("@").rstrip(".")
            if not d or "@" in d or " " in d:
                raise ValueError(f"{d!r} is not a domain")
            out.append(d)
        return out

    @property
    def host_domains(self) -> list[str]:
        return self.domains if self.hosts is None else self.hosts


class KeyFactConfig(_Strict):
    """A fact that gives sensitive content away when paraphrased: ways to say it, and a weight."""

    any_: list[str] = Field(alias="any", min_length=1)
    weight: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"any": [data]} if isinstance(data, str) else data


class ProvenanceConfig(_Strict):
    """How provenance is tracked (see :mod:`corrigible.containment.guard._provenance`)."""

    sensitive_labels: list[str] = Field(default_factory=lambda: ["confidential", "sensitive"])
    min_words: int = Field(default=8, ge=2)
    """N: contiguous words of a sensitive item that make a fragment."""
    min_piece_words: int = Field(default=4, ge=2)
    """M: the shortest piece that counts when a fragment is split across calls or reordered."""
    encodings: list[Encoding] = Field(default_factory=lambda: list(_ALL_ENCODINGS))
    max_decode_depth: int = Field(default=2, ge=0, le=4)
    key_facts: list[KeyFactConfig] = Field(default_factory=list)
    fact_threshold: int = Field(default=2, ge=1)

    _list = _listify("sensitive_labels")

    @model_validator(mode="after")
    def _pieces(self) -> ProvenanceConfig:
        if self.min_piece_words > self.min_words:
            raise ValueError(
                f"min_piece_words ({self.min_piece_words}) cannot exceed min_words ({self.min_words})"
            )
        return self

    def settings(self) -> ProvenanceSettings:
        return ProvenanceSettings(
            min_words=self.min_words,
            min_piece_words=self.min_piece_words,
            encodings=tuple(self.encodings),
            max_decode_depth=self.max_decode_depth,
            key_facts=tuple(KeyFact.of(f.any_, f.weight) for f in self.key_facts),
            fact_threshold=self.fact_threshold,
        )


class Policy(_Strict):
    """A whole policy file. Build it with :func:`load_policy` or :func:`parse_policy`, which
    also check that rules only name declared tools."""

    version: str
    name: str = Field(min_length=1)
    description: str = ""
    default: Effect = "block"
    """Effect when no rule matches. Block unless the policy says otherwise: fail closed."""
    boundary: Boundary = Field(default_factory=Boundary)
    tools: list[ToolDeclaration] = Field(min_length=1)
    protected: list[ProtectedControl] = Field(default_factory=list)
    provenance: ProvenanceConfig = Field(default_factory=ProvenanceConfig)
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError('must be a string such as "1.0" (quote it in YAML)')
        if not value.strip():
            raise ValueError("may not be empty")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        names: set[str] = set()
        for tool in self.tools:
            if tool.name in names:
                raise ValueError(f"tool {tool.name!r} is declared twice")
            names.add(tool.name)
        return self

    def tool_spec(self, name: str) -> ToolDeclaration | None:
        """The declaration covering tool ``name``: exact first, then the first pattern."""
        for spec in self.tools:
            if spec.name == name:
                return spec
        for spec in self.tools:
            if is_glob(spec.name) and fnmatch.fnmatchcase(name, spec.name):
                return spec
        return None

    def ordered_rules(self) -> list[Rule]:
        """Rules in evaluation order: priority descending, then file order."""
        return sorted(self.rules, key=lambda r: -r.priority)


# -- loading --------------------------------------------------------------------------------------


def _check_references(policy: Policy) -> str | None:
    """Cross-field checks Pydantic cannot place on a field: the first problem as ``path: msg``."""
    declared = [t.name for t in policy.tools]

    def covered(name: str) -> bool:
        return any(name == d or (is_glob(d) and fnmatch.fnmatchcase(name, d)) for d in declared)

    for r, rule in enumerate(policy.rules):
        for path, cond in rule.when.walk(f"rules.{r}.when"):
            for name in cond.tool or ():
                if is_glob(name):
                    if not any(d == name or fnmatch.fnmatchcase(d, name) for d in declared):
                        return f"{path}.tool: pattern {name!r} matches no declared tool"
                elif not covered(name):
                    return (
                        f"{path}.tool: tool {name!r} is not declared in tools "
                        f"(declared: {', '.join(declared)})"
                    )
            for arg in cond.args or {}:
                if not arg:
                    return f"{path}.args: argument names may not be empty"
    return None


def parse_policy(data: Any, source: str = "policy") -> Policy:
    """Validate already-parsed YAML/JSON data. Errors: ``ConfigError('<source>: field a.b: …')``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a policy is a mapping with version, name, tools and rules")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None
    problem = _check_references(policy)
    if problem is not None:
        raise ConfigError(f"{source}: field {problem}")
    return policy


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; every problem is one line naming the file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such policy file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the policy ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}not valid YAML ({problem})") from None
    return parse_policy(data, str(path))


def default_policy_path() -> Path:
    """The policy shipped for the scenario families: all eight of them, benign tasks allowed."""
    return Path(str(resources.files("corrigible.containment") / "policies" / "default.yaml"))
