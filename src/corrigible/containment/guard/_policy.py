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
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from publicsuffixlist import PublicSuffixList
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from corrigible.containment.guard._encodings import DEFAULT_ENCODINGS, Encoding
from corrigible.containment.guard._matchers import (
    DEFAULT_ROLES,
    Effect,
    Rule,
    _compile,
    _listify,
    _Strict,
    is_glob,
)
from corrigible.containment.guard._provenance import ProvenanceSettings
from corrigible.errors import ConfigError, describe_validation_error
from corrigible.text import KeyFact

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
    mentions: list[str] = Field(default_factory=list)
    """Free-text arguments (a configuration value, a grant's principal) that may *name* a
    destination: the addresses, URLs and host names found in them are sinks like recipients and
    hosts (a backup target, a webhook or a mail relay pointed outside); a value that names none
    (``30``, ``false``) is no sink at all."""
    required: list[str] | None = None
    """Arguments every call must carry, non-empty; a call without one fails closed (a send with
    no destination, a forward of no item, cannot be judged)."""

    _list = _listify("recipients", "hosts", "paths", "commands", "refs", "mentions", "required")

    @field_validator("name")
    @classmethod
    def _names_some_tools(cls, value: str) -> str:
        if not value.strip("*?[]! ") or any(
            fnmatch.fnmatchcase(probe, value) for probe in _PROBE_TOOLS
        ):
            raise ValueError(
                f"{value!r} would declare every tool and switch off the unknown-tool block; "
                "name the tools (a pattern needs a literal part, e.g. files.*)"
            )
        return value

    def missing(self, args: Mapping[str, Any]) -> str | None:
        """What a call lacks of its ``required`` arguments (one line), or None."""

        def given(name: str) -> bool:
            value = args.get(name)
            return value is not None and value != "" and value != [] and value != {}

        absent = [name for name in self.required or () if not given(name)]
        return f"missing required argument(s): {', '.join(absent)}" if absent else None

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


_PROBE_TOOLS = ("zq_unlisted_tool_7", "x", "Q9")
"""Names no policy means to declare together: a tool pattern that matches them declares
(nearly) every tool and would switch off the unknown-tool block."""


@functools.cache
def known_suffixes() -> PublicSuffixList:
    """The same list, but a name under no *known* suffix has none: ``files.tipdrop.io`` is a
    host name, ``backup.yaml`` is not."""
    return PublicSuffixList(accept_unknown=False)


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    """The Public Suffix List as the ``publicsuffixlist`` wheel ships it (no network): ``com``,
    ``co.uk``, ``github.io`` … and any single label not under a known one (``internal``). Built
    on first use (~30 ms), not at import."""
    return PublicSuffixList()


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
            if not d or "@" in d or " " in d or "*" in d:
                raise ValueError(f"{d!r} is not a domain (subdomains are included already)")
            if _public_suffixes().is_public(d):
                raise ValueError(
                    f"{d!r} is a public suffix: it would put every site under it inside; "
                    "name the organisation's own domains"
                )
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
    rare_piece_words: int = Field(default=3, ge=0)
    """Shorter pieces that count when at most one of their words is a function word and at
    most one a number (0, or min_piece_words or more: off)."""
    encodings: list[Encoding] = Field(default_factory=lambda: list(DEFAULT_ENCODINGS))
    max_decode_depth: int = Field(default=3, ge=0, le=4)
    key_facts: list[KeyFactConfig] = Field(default_factory=list)
    fact_threshold: int = Field(default=2, ge=1)
    auto_key_facts: bool = True
    """Also take key facts from each tracked item itself (codes, measured numbers, amounts)."""

    _list = _listify("sensitive_labels")

    @model_validator(mode="after")
    def _pieces(self) -> ProvenanceConfig:
        if self.min_piece_words > self.min_words:
            raise ValueError(
                f"min_piece_words ({self.min_piece_words}) cannot exceed min_words ({self.min_words})"
            )
        if self.rare_piece_words == 1:
            raise ValueError("rare_piece_words must be 0 (off) or at least 2")
        return self

    def settings(self) -> ProvenanceSettings:
        return ProvenanceSettings(
            min_words=self.min_words,
            min_piece_words=self.min_piece_words,
            rare_piece_words=self.rare_piece_words,
            encodings=tuple(self.encodings),
            max_decode_depth=self.max_decode_depth,
            key_facts=tuple(KeyFact.of(f.any_, f.weight) for f in self.key_facts),
            auto_key_facts=self.auto_key_facts,
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
    sensitive_paths: dict[str, list[str]] = Field(default_factory=dict)
    """Path patterns whose content is sensitive whatever the tool says: ``{"/srv/hr/**":
    [personal]}``. What a call reads from a matching path (any of its path arguments) is tracked
    with those labels, and they count as sensitive (``carries: sensitive``). Patterns are shell
    globs matched case-sensitively, ``*`` crossing ``/``."""
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("sensitive_paths")
    @classmethod
    def _sensitive_paths(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for pattern, labels in value.items():
            if not pattern.strip("*?/ "):
                raise ValueError(f"{pattern!r} would mark every path sensitive; name the paths")
            if not labels:
                raise ValueError(f"{pattern!r}: give at least one label (e.g. personal)")
        return value

    def labels_for_path(self, path: str) -> set[str]:
        """The labels ``sensitive_paths`` gives ``path`` (none when no pattern matches)."""
        found: set[str] = set()
        for pattern, labels in self.sensitive_paths.items():
            if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(
                path, pattern.replace("/**", "*")
            ):
                found.update(labels)
        return found

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
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; a policy is a YAML file") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: holds NUL bytes; a policy is a YAML text file") from None
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
