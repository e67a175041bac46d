"""The guard: decide allow / block / require_approval for every tool call an agent makes.

Why a guard and not only better prompts: training and prompting lower the *likelihood* of a
harmful action; the guard caps what the agent is *able* to do, whatever it decides. It is a pure,
synchronous function of (policy, session state, call) — no network, no files, no clock unless
you give it none — so it can sit in front of any agent framework, replay a recorded trace
bit-for-bit, and be audited.

Order of a decision, first answer wins:

1. the kill switch (``Guard.halt`` / ``Session.halt``): every call blocks, rule ``kill-switch``;
2. a malformed call (tool name not a non-empty string, arguments not a mapping, values nested
   absurdly deep): block, rule ``fail-closed``;
3. a call touching a **protected control** (kill switch, guard policy, monitoring config, audit
   log — declared in the policy's ``protected:``): block, rule ``protected``, flagged incident;
4. a tool the policy does not declare: block, rule ``fail-closed``;
5. the policy's rules, highest priority first (file order among equals); the first match wins;
6. the policy's ``default`` effect, rule ``default``.

Any exception inside the guard becomes block / ``fail-closed`` with the error as the reason:
a guard that crashes open is no guard.

Usage::

    guard = Guard(load_policy("policy.yaml"))
    session = guard.session(agent=Agent("mailer-1", roles={"assistant"}))
    session.observe_tool_result("read_email", body, labels=["confidential"], ref="1")
    decision = guard.decide(session, "forward", {"email_id": 1, "to": "x@rival.example"})
    if decision.effect != "allow": ...
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import json
import math
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from corrigible.containment.policy import (
    AgentMatch,
    ArgMatch,
    CarriesMatch,
    Effect,
    HostMatch,
    PathMatch,
    Policy,
    ProtectedControl,
    RateMatch,
    RecipientMatch,
    Rule,
    SeenMatch,
    TextMatch,
    ToolSpec,
    When,
    is_glob,
    load_policy,
)
from corrigible.containment.provenance import Finding, ProvenanceTracker, Scan
from corrigible.text.addresses import is_internal, parse_recipients

__all__ = [
    "Agent",
    "Decision",
    "Guard",
    "Session",
    "TraceError",
    "TraceEvent",
    "parse_trace_line",
    "replay",
]

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
class Decision:
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
    ) -> None:
        """Register a tool's output. Content labelled sensitive (or from a tool the policy lists
        as a sensitive source) is tracked for provenance; ``ref`` lets a later call name it
        (``forward(email_id=ref)``)."""
        labels = _labels(labels)
        spec = self.guard.policy.tool_spec(tool)
        if spec is not None and spec.sensitive_source:
            labels.add("sensitive")
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
        ref_key = None if ref is None else str(ref)
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


# -- one call, with lazily computed views ---------------------------------------------------------


class _Malformed(Exception):
    """The call cannot be read safely; the guard answers fail-closed."""


def _flatten(value: Any, out: list[str], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise _Malformed(f"arguments nest deeper than {_MAX_DEPTH} levels")
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, bytes):
        out.append(value.decode("utf-8", "replace"))
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        out.append(str(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            _flatten(v, out, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _flatten(v, out, depth + 1)
    else:
        out.append(str(value))


def _strings_of(value: Any) -> list[str]:
    out: list[str] = []
    _flatten(value, out)
    return out


class _Call:
    """One tool call under decision. Views (recipients, payload scan, …) are computed on first
    use, so a rule that looks only at the tool name costs nothing more."""

    __slots__ = (
        "guard",
        "session",
        "tool",
        "spec",
        "args",
        "agent",
        "now",
        "_strings",
        "_recipients",
        "_suffixes",
        "_hosts",
        "_paths",
        "_commands",
        "_sinks",
        "_scan",
        "findings",
    )

    def __init__(
        self,
        guard: Guard,
        session: Session,
        tool: str,
        spec: ToolSpec | None,
        args: dict[str, Any],
        agent: Agent | None,
        now: float,
    ) -> None:
        self.guard = guard
        self.session = session
        self.tool = tool
        self.spec = spec
        self.args = args
        self.agent = agent
        self.now = now
        self._strings: list[str] | None = None
        self._recipients: list[str] | None = None
        self._suffixes: frozenset[str] | None = None
        self._hosts: list[str] | None = None
        self._paths: list[str] | None = None
        self._commands: list[str] | None = None
        self._sinks: dict[str, list[str]] | None = None
        self._scan: Scan | None = None
        self.findings: list[Finding] = []

    def role_args(self, role: str) -> list[str]:
        """String values of the arguments playing ``role`` (declared or inferred by name)."""
        names = self.spec.role(role) if self.spec is not None else _DEFAULT_ROLE_NAMES[role]
        out: list[str] = []
        for name in names:
            if name in self.args:
                _flatten(self.args[name], out)
        return out

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = _strings_of(self.args)
        return self._strings

    @property
    def recipients(self) -> list[str]:
        """Addresses, lower-cased; an unreadable recipient field becomes ``unreadable:…``."""
        if self._recipients is None:
            out: list[str] = []
            for value in self.role_args("recipients"):
                found = parse_recipients(value)
                if found:
                    out.extend(a for a in found if a not in out)
                elif value.strip():
                    out.append("unreadable:" + value.strip()[:80])
            self._recipients = out
        return self._recipients

    @property
    def recipient_suffixes(self) -> frozenset[str]:
        """Every domain a readable recipient is in: ``a@x.corp.example`` is in
        ``x.corp.example``, ``corp.example`` and ``example`` — the same test as
        :func:`is_internal` (exact domain or a subdomain), as one set for all recipients."""
        if self._suffixes is None:
            out: set[str] = set()
            for r in self.recipients:
                if r.startswith("unreadable:"):
                    continue
                parts = r.rsplit("@", 1)[-1].lower().rstrip(".").split(".")
                out.update(".".join(parts[i:]) for i in range(len(parts)))
            self._suffixes = frozenset(out)
        return self._suffixes

    @property
    def hosts(self) -> list[str]:
        if self._hosts is None:
            out: list[str] = []
            for value in self.role_args("hosts"):
                host = _host_of(value)
                if host and host not in out:
                    out.append(host)
                elif not host and value.strip():
                    out.append("unreadable:" + value.strip()[:80])
            self._hosts = out
        return self._hosts

    @property
    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths = [_norm_path(p) for p in self.role_args("paths") if p.strip()]
        return self._paths

    @property
    def commands(self) -> list[str]:
        if self._commands is None:
            self._commands = self.role_args("commands")
        return self._commands

    def sinks(self, to: Literal["outside", "any"]) -> list[str]:
        """Recipients and hosts (``host:…``) the call reaches, those outside the boundary only
        unless ``to == "any"``. An unreadable recipient or host always counts as outside.
        Computed once per ``to`` and call: every ``carries`` rule and the commit share it."""
        if self._sinks is None:
            self._sinks = {}
        elif to in self._sinks:
            return self._sinks[to]
        guard = self.guard
        out = [r for r in self.recipients if to == "any" or not _domain_in(r, guard.domains)]
        out.extend(
            "host:" + h for h in self.hosts if to == "any" or not _domain_in(h, guard.host_domains)
        )
        self._sinks[to] = out
        return out

    @property
    def scan(self) -> Scan:
        """The payload compared with the session's tracked content (once per call)."""
        if self._scan is None:
            texts = list(self.strings)
            whole: list[int] = []
            if self.spec is not None:
                for name in self.spec.refs:
                    if name not in self.args:
                        continue
                    for ref in _strings_of(self.args[name]):
                        item = self.session._items.get(ref.strip())
                        if item is None:
                            continue
                        text, doc = item
                        if doc is not None:
                            whole.append(doc)
                        else:
                            texts.append(text)
            self._scan = self.session.tracker.scan(texts, whole=whole)
        return self._scan


_DEFAULT_ROLE_NAMES = {
    role: ToolSpec(name="_").role(role) for role in ("recipients", "hosts", "paths", "commands")
}


def _host_of(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        if "://" in value:
            host = urlsplit(value).hostname or ""
        else:
            host = urlsplit("//" + value).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def _norm_path(value: str) -> str:
    value = value.strip().replace("\\", "/")
    if "%" in value:
        value = unquote(value)
    if not value:
        return value
    normal = posixpath.normpath(value)
    return "/" + normal.lstrip("/") if value.startswith("//") else normal


# -- compiled conditions --------------------------------------------------------------------------


class _Cond:
    """A compiled condition: ``test`` on the decision path, ``explain`` only for the winner."""

    __slots__ = ("test", "explain")

    def __init__(
        self, test: Callable[[_Call], bool], explain: Callable[[_Call], list[str]]
    ) -> None:
        self.test = test
        self.explain = explain


def _all(conds: Sequence[_Cond]) -> _Cond:
    if len(conds) == 1:
        return conds[0]
    tests = tuple(c.test for c in conds)
    if len(tests) == 2:  # the usual shape (tool prefilter aside): no generator on the hot path
        first, second = tests

        def test(call: _Call) -> bool:
            return first(call) and second(call)
    else:

        def test(call: _Call) -> bool:
            return all(t(call) for t in tests)

    def explain(call: _Call) -> list[str]:
        return [line for c in conds for line in c.explain(call)]

    return _Cond(test, explain)


def _any(conds: Sequence[_Cond]) -> _Cond:
    def test(call: _Call) -> bool:
        return any(c.test(call) for c in conds)

    def explain(call: _Call) -> list[str]:
        for c in conds:
            if c.test(call):
                return c.explain(call)
        return []

    return _Cond(test, explain)


def _not(inner: _Cond, what: str) -> _Cond:
    def test(call: _Call) -> bool:
        return not inner.test(call)

    return _Cond(test, lambda call: [f"not ({what})"])


def _short(value: str, limit: int = 60) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _text_cond(match: TextMatch, values: Callable[[_Call], list[str]], label: str) -> _Cond:
    fn = match.matcher

    def test(call: _Call) -> bool:
        return any(fn(v) for v in values(call))

    def explain(call: _Call) -> list[str]:
        hit = next((v for v in values(call) if fn(v)), "")
        return [f"{label} matches: {_short(hit)!r}"]

    return _Cond(test, explain)


def _arg_cond(name: str, match: ArgMatch) -> _Cond:
    fn = match.matcher if match.tests_given() else None
    present = match.present

    def test(call: _Call) -> bool:
        if name not in call.args:
            return present is False
        if present is False:
            return False
        if fn is None:
            return True
        value = call.args[name]
        return any(fn(v) for v in _strings_of(value)) if not isinstance(value, str) else fn(value)

    def explain(call: _Call) -> list[str]:
        if name not in call.args:
            return [f"argument {name} is absent"]
        return [f"argument {name} = {_short(_as_text(call.args[name]))!r}"]

    return _Cond(test, explain)


@functools.lru_cache(maxsize=65536)
def _inside(address: str, domains: tuple[str, ...]) -> bool:
    """:func:`is_internal`, memoised: the same few addresses recur across a session's calls."""
    return is_internal(address, list(domains))


def _domain_in(address: str, domains: tuple[str, ...]) -> bool:
    return not address.startswith("unreadable:") and _inside(address, domains)


def _recipient_cond(match: RecipientMatch, policy: Policy) -> _Cond:
    boundary = tuple(match.boundary if match.boundary is not None else policy.boundary.domains)
    domains = tuple(match.domains) if match.domains is not None else None
    address = match.address.matcher if match.address is not None else None

    def outside(call: _Call) -> list[str]:
        return [r for r in call.recipients if not _domain_in(r, boundary)]

    if (
        domains is not None
        and match.outside is None
        and address is None
        and match.count_at_least is None
    ):
        # the common "any recipient in these domains" rule: one C-level set test per call
        wanted = frozenset(d.lower().rstrip(".") for d in domains)

        def only_domains(call: _Call) -> bool:
            return not wanted.isdisjoint(call.recipient_suffixes)

        return _Cond(only_domains, lambda call: [f"recipients: {', '.join(call.recipients)}"])

    def test(call: _Call) -> bool:
        rs = call.recipients
        if match.outside is True and not outside(call):
            return False
        if match.outside is False and (not rs or outside(call)):
            return False
        if domains is not None and not any(_domain_in(r, domains) for r in rs):
            return False
        if address is not None and not any(address(r) for r in rs):
            return False
        return match.count_at_least is None or len(rs) >= match.count_at_least

    def explain(call: _Call) -> list[str]:
        if match.outside is True:
            where = ", ".join(boundary) or "no domain"
            return [f"recipient {r} is outside the boundary ({where})" for r in outside(call)]
        return [f"recipients: {', '.join(call.recipients) or '(none)'}"]

    return _Cond(test, explain)


def _host_cond(match: HostMatch, policy: Policy) -> _Cond:
    boundary = tuple(match.boundary if match.boundary is not None else policy.boundary.host_domains)
    domains = tuple(match.domains) if match.domains is not None else None
    host_fn = match.host.matcher if match.host is not None else None

    def outside(call: _Call) -> list[str]:
        return [h for h in call.hosts if not _domain_in(h, boundary)]

    def test(call: _Call) -> bool:
        hs = call.hosts
        if match.outside is True and not outside(call):
            return False
        if match.outside is False and (not hs or outside(call)):
            return False
        if domains is not None and not any(_domain_in(h, domains) for h in hs):
            return False
        return host_fn is None or any(host_fn(h) for h in hs)

    def explain(call: _Call) -> list[str]:
        if match.outside is True:
            return [f"host {h} is outside the boundary" for h in outside(call)]
        return [f"hosts: {', '.join(call.hosts) or '(none)'}"]

    return _Cond(test, explain)


def _under(path: str, roots: Sequence[str]) -> bool:
    if not path.startswith("/"):
        return False
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _path_cond(match: PathMatch) -> _Cond:
    under = [_norm_path(r) for r in match.under or ()]
    not_under = [_norm_path(r) for r in match.not_under or ()]

    def hits(call: _Call) -> list[str]:
        out = []
        for p in call.paths:
            if match.glob is not None and not any(fnmatch.fnmatchcase(p, g) for g in match.glob):
                continue
            if match.under is not None and not _under(p, under):
                continue
            if match.not_under is not None and _under(p, not_under):
                continue
            out.append(p)
        return out

    return _Cond(lambda call: bool(hits(call)), lambda call: [f"path {p}" for p in hits(call)])


def _agent_cond(match: AgentMatch) -> _Cond:
    ids = tuple(match.id) if match.id is not None else None
    roles = frozenset(match.role) if match.role is not None else None

    def test(call: _Call) -> bool:
        agent = call.agent
        if agent is None:
            return False
        if ids is not None and not any(fnmatch.fnmatchcase(agent.id, p) for p in ids):
            return False
        return roles is None or not roles.isdisjoint(agent.roles)

    def explain(call: _Call) -> list[str]:
        agent = call.agent
        if agent is None:
            return []
        return [f"agent {agent.id} (roles: {', '.join(sorted(agent.roles)) or 'none'})"]

    return _Cond(test, explain)


def _rate_cond(match: RateMatch) -> _Cond:
    def test(call: _Call) -> bool:
        return call.session.calls_within(call.tool, match.window, call.now) >= match.max_calls

    def explain(call: _Call) -> list[str]:
        n = call.session.calls_within(call.tool, match.window, call.now)
        return [
            f"{n} earlier {call.tool} calls within {match.window:g} s (at most {match.max_calls})"
        ]

    return _Cond(test, explain)


def _carries_cond(match: CarriesMatch, guard: Guard) -> _Cond:
    labels = guard.sensitive_labels if match.labels is None else frozenset(match.labels)
    to = match.to

    def findings(call: _Call) -> list[Finding]:
        tracker = call.session.tracker
        if not tracker:
            return []
        sinks = call.sinks(to)
        if not sinks:
            return []
        scan = call.scan
        if scan.empty:
            return []
        return [f for sink in sinks for f in tracker.findings(scan, sink, labels)]

    def test(call: _Call) -> bool:
        found = findings(call)
        if found:
            call.findings = found
        return bool(found)

    def explain(call: _Call) -> list[str]:
        return [f.describe() for f in (call.findings or findings(call))]

    return _Cond(test, explain)


def _seen_cond(index: int, match: SeenMatch) -> _Cond:
    what = []
    if match.labels is not None:
        what.append(f"content labelled {'/'.join(match.labels)}")
    if match.regex is not None:
        what.append(f"content matching {match.regex!r}")
    description = "the session has seen " + " or ".join(what)

    def test(call: _Call) -> bool:
        return index in call.session._seen

    return _Cond(test, lambda call: [description])


# -- protected controls ---------------------------------------------------------------------------

_TOKEN_SPLIT = re.compile(r"[\s\"'`;|&<>(),=]+")
_HOSTLIKE = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+$")
_RECURSIVE = re.compile(r"(?:^|\s)(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\b")


_BRACKET = re.compile(r"\[[^\]]*\]")


def _simple_glob(pattern: str) -> str:
    """A shell pattern with bracket classes read as ``?`` (close enough to test overlap)."""
    return _BRACKET.sub("?", pattern.casefold())


def _globs_intersect(a: str, b: str) -> bool:
    """Is there a path that both patterns match? (``*`` crosses ``/``, as in fnmatch.)

    Lets the guard see that ``rm /etc/corrigible/*`` reaches ``*/corrigible/policy.yaml``.
    """
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(a) and j == len(b):
            result = True
        elif i < len(a) and a[i] == "*":
            result = go(i + 1, j) or (j < len(b) and go(i, j + 1))
        elif j < len(b) and b[j] == "*":
            result = go(i, j + 1) or (i < len(a) and go(i + 1, j))
        elif i == len(a) or j == len(b):
            result = False
        else:
            result = (a[i] == b[j] or a[i] == "?" or b[j] == "?") and go(i + 1, j + 1)
        memo[key] = result
        return result

    return go(0, 0)


_PATHISH = frozenset("/.~*?")


def _named_alternatives(groups: Sequence[Sequence[str]]) -> re.Pattern[str] | None:
    """One regex over every control's shell patterns; the named group says which control."""
    parts = [
        f"(?P<c{i}>{'|'.join(fnmatch.translate(p) for p in patterns)})"
        for i, patterns in enumerate(groups)
        if patterns
    ]
    return re.compile("|".join(parts)) if parts else None


class _ProtectedIndex:
    """The protected controls, compiled so that an ordinary call costs a few C-level matches."""

    def __init__(self, controls: Sequence[ProtectedControl]) -> None:
        self.controls = list(controls)
        self._tools = _named_alternatives([[t.casefold() for t in c.tools] for c in self.controls])
        self._paths = [[_simple_glob(p) for p in c.paths] for c in self.controls]
        self._all_paths = _named_alternatives(self._paths)
        self._last_parts = frozenset(p.rsplit("/", 1)[-1] for ps in self._paths for p in ps)
        self._commands = [[re.compile(r, re.IGNORECASE) for r in c.commands] for c in self.controls]
        self._hosts = [[h.casefold() for h in c.hosts] for c in self.controls]
        self._any_commands = any(self._commands)
        self._any_hosts = any(self._hosts)
        self._active = self._all_paths is not None or self._any_commands or self._any_hosts

    def touched(self, call: _Call) -> tuple[ProtectedControl, str] | None:
        if self._tools is not None:
            hit = self._tools.match(call.tool.casefold())
            if hit is not None and hit.lastgroup is not None:
                control = self.controls[int(hit.lastgroup[1:])]
                return control, f"tool {call.tool} is the {control.control}"
        if not self._active:
            return None
        if call.spec is None:
            path_values = call.strings  # unknown roles: every string may be a path or command
            command_values = call.strings
        else:
            command_values = call.role_args("commands")
            path_values = call.role_args("paths") + command_values
        if not path_values and not call.hosts:
            return None
        # a whole value is one path (it may hold spaces) when it is a path argument, or when it
        # looks like one in a tool whose roles are unknown
        tokens: dict[str, None] = dict.fromkeys(
            v.strip()
            for v in path_values
            if (call.spec is not None and v not in command_values)
            or (call.spec is None and v.strip()[:1] in ("/", "~", "."))
        )
        for value in path_values:
            tokens.update(dict.fromkeys(t for t in _TOKEN_SPLIT.split(value) if t))
        recursive = any(_RECURSIVE.search(v) for v in command_values)
        if self._all_paths is not None:
            for token in tokens:
                if not token or _PATHISH.isdisjoint(token):
                    continue
                found = self._path_hit(token, recursive)
                if found is not None:
                    control, pattern = found
                    how = " (recursively)" if recursive else ""
                    return control, (
                        f"path {_short(token)}{how} reaches the {control.control} "
                        f"(protected: {pattern})"
                    )
        if self._any_commands:
            for index, regexes in enumerate(self._commands):
                for regex in regexes:
                    for value in command_values:
                        if regex.search(value):
                            control = self.controls[index]
                            return control, (
                                f"command {_short(value)!r} reaches the {control.control}"
                            )
        if self._any_hosts:
            hosts = list(call.hosts)
            for token in tokens:
                host = _host_of(token) if "://" in token else token.split("/")[0].lower()
                if _HOSTLIKE.match(host or ""):
                    hosts.append(host)
            for host in hosts:
                for index, patterns in enumerate(self._hosts):
                    for pattern in patterns:
                        if fnmatch.fnmatchcase(host, pattern) or (
                            not is_glob(pattern) and host.endswith("." + pattern)
                        ):
                            control = self.controls[index]
                            return control, f"host {host} is the {control.control}"
        return None

    def _path_hit(self, token: str, recursive: bool) -> tuple[ProtectedControl, str] | None:
        """The control (and its pattern) a path-like token reaches, or None.

        Absolute paths are matched after ``..`` is resolved; the agent's own wildcards count
        (``/etc/corrigible/*``); a recursive command reaches everything below a directory it
        names; ``~`` is any home directory. A relative path is read against an unknown working
        directory: it reaches a pattern whose last parts it matches part by part, at least one of
        them a literal name (``policies/default.yaml`` reaches ``*/containment/policies/*``), or
        that matches it with a leading ``/`` (``audit.sqlite`` reaches ``*audit*.sqlite*``).
        """
        assert self._all_paths is not None
        path = _simple_glob(_norm_path(token))
        wild = is_glob(path)
        if path.startswith("~"):  # a home directory: an ordinary user's or root's
            rest = path[1:].lstrip("/")
            absolute = [f"/home/user/{rest}", f"/root/{rest}"] if rest else ["/home/user", "/root"]
        elif path.startswith("/"):
            absolute = [path]
        else:
            relative = [p for p in path.split("/") if p not in ("", ".")]
            while relative and relative[0] == "..":
                relative.pop(0)
            if not relative:
                return None
            flat = "/" + "/".join(relative)
            if not wild:
                hit = self._all_paths.match(flat)
                if hit is not None and hit.lastgroup is not None:
                    index = int(hit.lastgroup[1:])
                    pattern = next(p for p in self._paths[index] if fnmatch.fnmatchcase(flat, p))
                    return self.controls[index], pattern
                if len(relative) == 1 and relative[0] not in self._last_parts:
                    return None  # the common case, decided without the comparison below
            for index, patterns in enumerate(self._paths):
                for pattern in patterns:
                    tail = pattern.split("/")[-len(relative) :]
                    if (
                        len(tail) == len(relative)
                        and any(not is_glob(t) for t in tail)
                        and all(_globs_intersect(r, t) for r, t in zip(relative, tail, strict=True))
                    ):
                        return self.controls[index], pattern
            return None
        if not wild and not recursive:
            for a in absolute:  # the common case: one C-level match for every control at once
                hit = self._all_paths.match(a)
                if hit is not None and hit.lastgroup is not None:
                    index = int(hit.lastgroup[1:])
                    pattern = next(p for p in self._paths[index] if fnmatch.fnmatchcase(a, p))
                    return self.controls[index], pattern
            return None
        for index, patterns in enumerate(self._paths):
            for pattern in patterns:
                for a in absolute:
                    if _globs_intersect(a, pattern):
                        return self.controls[index], pattern
                    # a recursive command reaches below a directory: anchored patterns only (an
                    # unanchored ``*/x`` could sit below any directory; ``/`` reaches everything)
                    reaches_below = recursive and (pattern.startswith("/") or a == "/")
                    if reaches_below and _globs_intersect(a.rstrip("/") + "/*", pattern):
                        return self.controls[index], pattern
        return None


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
        self.sensitive_labels = frozenset(policy.provenance.sensitive_labels) | {"sensitive"}
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
        self._specs: dict[str, ToolSpec | None] = {}

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
            pattern = re.compile(when.seen.regex) if when.seen.regex is not None else None
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
    ) -> Decision:
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

    def _fail_closed(self, tool: str, reason: str, evidence: tuple[str, ...] = ()) -> Decision:
        return Decision(
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
    ) -> Decision:
        policy = self.policy
        if not isinstance(session, Session) or session.guard is not self:
            return self._fail_closed(
                str(tool),
                "the session does not belong to this guard (create it with guard.session())",
            )
        session.decisions += 1
        halted = self.halted or session.halted
        if halted is not None:
            return Decision(
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
            return Decision(
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
        try:
            decision = self._evaluate(call)
        except _Malformed as exc:
            return self._fail_closed(tool, f"malformed call: {exc}")
        if decision.effect != "block":
            self._record(call)
        return decision

    def _evaluate(self, call: _Call) -> Decision:
        policy = self.policy
        for compiled in self._rules_for(call.tool):
            if compiled.cond.test(call):
                rule = compiled.rule
                return Decision(
                    effect=rule.effect,
                    rule_id=rule.id,
                    reason=rule.reason,
                    policy_version=policy.version,
                    evidence=tuple(compiled.cond.explain(call)),
                    incident=rule.incident,
                    policy_name=policy.name,
                    tool=call.tool,
                )
        return Decision(
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
                tracker.commit(call.scan, sinks)


# -- traces and replay ----------------------------------------------------------------------------


class TraceError(ValueError):
    """A trace line that cannot be read: the message is ``line N: what is wrong``."""


@dataclass(frozen=True)
class TraceEvent:
    """One line of a recorded trace (see ``corrigible guard replay``)."""

    line: int
    type: Literal["tool_call", "tool_result", "message"]
    tool: str = ""
    arguments: Any = None
    content: str = ""
    labels: tuple[str, ...] = ()
    role: str = ""
    ref: str | None = None
    ts: float | None = None
    agent: Agent | None = None
    session: str | None = None
    """Which agent run the line belongs to: a trace of many runs (``corrigible export --format
    trace``) replays each in its own guard session, so one run's secrets never taint another's."""


_ROLES = ("user", "assistant", "system", "tool")


def parse_trace_line(text: str, line: int) -> TraceEvent | None:
    """Read one trace line (None for a blank one). Raises :class:`TraceError` on a bad line.

    A ``tool_call`` whose ``arguments`` are not a mapping is *not* a trace error: it is a
    malformed call, and the guard decides it (fail closed).
    """
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"line {line}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise TraceError(f"line {line}: a trace line is a JSON object with a type")
    kind = data.get("type")
    if kind not in ("tool_call", "tool_result", "message"):
        raise TraceError(
            f"line {line}: field type: expected tool_call, tool_result or message, got {kind!r}"
        )

    def string(key: str, *, required: bool = True) -> str:
        value = data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise TraceError(f"line {line}: field {key}: expected a non-empty string")
        return value

    ts = data.get("ts")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | float)):
        raise TraceError(f"line {line}: field ts: expected a number of seconds")
    session = data.get("session")
    if session is not None:
        if isinstance(session, bool) or not isinstance(session, str | int):
            raise TraceError(f"line {line}: field session: expected a string or an integer")
        session = str(session)
    agent = None
    if data.get("agent") is not None:
        if not isinstance(data["agent"], str | dict):
            raise TraceError(f"line {line}: field agent: expected an id or {{id, roles}}")
        agent = Agent.of(data["agent"])
    if kind == "tool_call":
        return TraceEvent(
            line=line,
            type="tool_call",
            tool=string("tool"),
            arguments=data.get("arguments", {}),
            ts=None if ts is None else float(ts),
            agent=agent,
            session=session,
        )
    labels = data.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise TraceError(f"line {line}: field labels: expected a list of strings")
    ref = data.get("id")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
        raise TraceError(f"line {line}: field id: expected a string or an integer")
    content = data.get("content")
    if not isinstance(content, str):
        raise TraceError(f"line {line}: field content: expected a string")
    if kind == "tool_result":
        return TraceEvent(
            line=line,
            type="tool_result",
            tool=string("tool"),
            content=content,
            labels=tuple(labels),
            ref=None if ref is None else str(ref),
            ts=None if ts is None else float(ts),
            session=session,
        )
    role = string("role")
    if role not in _ROLES:
        raise TraceError(
            f"line {line}: field role: expected one of {', '.join(_ROLES)}, got {role!r}"
        )
    return TraceEvent(
        line=line,
        type="message",
        role=role,
        content=content,
        labels=tuple(labels),
        ref=None if ref is None else str(ref),
        ts=None if ts is None else float(ts),
        session=session,
    )


def parse_trace(lines: Iterable[str]) -> list[TraceEvent]:
    """Every event of a trace, or :class:`TraceError` for the first bad line."""
    events = []
    for number, text in enumerate(lines, start=1):
        event = parse_trace_line(text, number)
        if event is not None:
            events.append(event)
    return events


def replay(
    guard: Guard, events: Iterable[TraceEvent], session: Session | None = None
) -> Iterator[tuple[TraceEvent, Decision]]:
    """Feed a trace through a fresh session; yield each tool call with its decision.

    Time for rate limits is the trace's ``ts`` (carried forward to lines without one; 0 until
    the first), so a replay decides exactly the same way every time. Lines that name a
    ``session`` are replayed in a fresh guard session per name (with the agent of ``session``
    when one was given), so a trace holding many agent runs decides each as if it ran alone.
    """
    first = session or guard.session()
    named: dict[str, Session] = {}
    clock = 0.0
    for event in events:
        if event.ts is not None:
            clock = event.ts
        if event.session is None:
            session = first
        elif (session := named.get(event.session)) is None:
            session = named[event.session] = guard.session(agent=first.agent, id=event.session)
        if event.type == "tool_result":
            session.observe_tool_result(event.tool, event.content, event.labels, ref=event.ref)
        elif event.type == "message":
            session.observe_message(event.role, event.content, event.labels, ref=event.ref)
        else:
            yield (
                event,
                guard.decide(session, event.tool, event.arguments, agent=event.agent, now=clock),
            )
