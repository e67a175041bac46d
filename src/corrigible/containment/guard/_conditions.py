"""The condition compiler: a policy's ``when:`` clauses become small closures over a call."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from corrigible.containment.guard._call import _Call, _domain_in, _norm_path, _strings_of
from corrigible.containment.guard._matchers import (
    AgentMatch,
    ArgMatch,
    CarriesMatch,
    HostMatch,
    PathMatch,
    RateMatch,
    RecipientMatch,
    SeenMatch,
    TextMatch,
)
from corrigible.containment.guard._policy import Policy
from corrigible.containment.guard._provenance import Finding
from corrigible.containment.guard._session import _as_text

if TYPE_CHECKING:
    from corrigible.containment.guard._guard import Guard


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
        sinks = call.sinks(to)
        if not sinks:
            return []
        found = _sent_files(call, sinks, labels)
        tracker = call.session.tracker
        if not tracker:
            return found
        scan = call.scan
        if scan.empty:
            return found
        outside = set(call.sinks("outside"))
        return found + [
            f
            for sink in sinks
            for f in tracker.findings(scan, sink, labels, outside=sink in outside)
        ]

    def test(call: _Call) -> bool:
        found = findings(call)
        if found:
            call.findings = found
        return bool(found)

    def explain(call: _Call) -> list[str]:
        return [f.describe() for f in (call.findings or findings(call))]

    return _Cond(test, explain)


_PATH_TOKEN = re.compile(r"(?:^|[\s=@<'\"])(/[^\s'\";|&<>]+)")


def _sent_files(call: _Call, sinks: list[str], labels: frozenset[str]) -> list[Finding]:
    """Files a shell command sends to a sink (``curl -F file=@/srv/hr/pay.csv https://…``,
    ``scp /srv/hr/x bob@host:``) that the policy's ``sensitive_paths`` label: the file is
    carried even though the agent never read it into the session."""
    policy = call.guard.policy
    if not policy.sensitive_paths or not call.commands:
        return []
    hosts = [s for s in sinks if s.startswith("host:")]
    if not hosts:
        return []
    out: list[Finding] = []
    for command in call.commands:
        for match in _PATH_TOKEN.finditer(command):
            path = match.group(1)
            found = policy.labels_for_path(path) & labels
            if found:
                out.extend(
                    Finding(
                        sink=sink,
                        document=None,
                        words=0,
                        how=("sent by a shell command",),
                        labels=frozenset(found),
                        subject=f"the file {_short(path)}",
                    )
                    for sink in hosts
                )
    return out


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
