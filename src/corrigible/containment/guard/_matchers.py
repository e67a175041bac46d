"""The policy language's conditions: what a rule's ``when:`` can test (text, arguments, recipients,
hosts, paths, the agent, rates, provenance), as strict Pydantic models, and the rule itself.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from corrigible.containment.guard._regex import compile_regex

Effect = Literal["allow", "block", "require_approval"]

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


def _compile(pattern: str, flags: int = 0) -> Any:
    """A policy pattern, compiled in the linear-time engine (see ``_regex``)."""
    return compile_regex(pattern, ignore_case=bool(flags & re.IGNORECASE))


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
    """Searched anywhere in the value, in RE2 (linear time; see ``_regex``)."""
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
