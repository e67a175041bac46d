"""Guard decision latency: a 100-rule policy with provenance over a 10,000-call trace.

Targets (containment issue): p99 <= 50 µs per decision in process, and >= 4x faster than
cedarpy evaluating an equivalent authorisation-only policy, side by side in the same run.

What is measured, all in this process, one call at a time (``time.perf_counter_ns`` around the
call only):

* **guard, full** — ``Guard.decide`` under the 100-rule policy, with a session that has observed
  five confidential documents (1–2 KB) and keeps observing tool results; every call to a sink
  outside the boundary is compared with them (fragments, encodings, split calls, key facts).
* **guard, authz-only** — the same guard code under the 92 rules that Cedar can express (no
  provenance, ``seen`` or rate rules), on a session that has observed nothing.
* **cedarpy** — ``cedarpy.is_authorized`` with a pre-parsed ``PolicySet`` and ``Entities`` under
  the same 92 rules written in Cedar. Building the request dict (recipient domains, path, …) is
  *not* timed, which favours cedarpy. Its allow/deny answers are checked against the guard's.

Also printed, to show what sets the tail: per call class, the share of calls over the 50 µs
target and how many of the run's slowest 1 % it holds; and the **provenance scan alone**
(``ProvenanceTracker.scan`` on each outside-bound call's own arguments, timed in a separate pass
after the runs above, so those figures are unchanged by it).

The trace is synthetic but shaped like agent traffic: email (half to outside addresses),
forwards, HTTP posts, file reads and writes, shell commands and CRM tools, with payloads of
1–4 KB of business prose; about 3 % of outside-bound calls carry a fragment of a confidential
document (quoted, base64, hex, URL-encoded, reversed or split over two calls).

    python benchmarks/guard_latency.py [--calls 10000] [--seed 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from corrigible.containment.guard import Agent, Guard, GuardDecision, Policy, Session, parse_policy

DOMAIN = "acme.example"
PARTNERS = ["partner-a.example", "partner-b.example", "logistics.example"]
COMPETITORS = [f"competitor-{i}.example" for i in range(15)]
HOSTS_ALLOWED = ["api.partner-a.example", "hooks.logistics.example", "status.partner-b.example"]
_VOCAB_TEXT = """
account action agenda align approval archive assess asset audit backlog balance baseline batch
benchmark billing brief budget build calendar campaign capacity catalogue change channel client
close cluster coordinate cost coverage customer cycle dashboard deadline delivery demand deploy
design detail draft driver estimate evaluate event expense feature feedback figure filing
finance follow forecast format freight goal growth handover headcount hiring incident initiative
inventory invoice issue item launch lead ledger licence logistics margin market meeting metric
milestone migration model monthly note offer onboarding operations order outline owner partner
payment pipeline plan platform policy portfolio pricing priority process procurement product
progress project proposal purchase quality quarter quote ranking rate receipt record region
release renewal report request requirement resource review revenue risk roadmap rollout
schedule scope segment service shipment signoff sprint staffing status strategy summary
supplier support survey target task team template tender ticket timeline training travel
update upgrade usage vendor version volume warehouse week workflow workshop
"""
VOCAB = _VOCAB_TEXT.split()
_GLUE_TEXT = "the a of and to in for on with by at from this that our your is are was will be"
GLUE = _GLUE_TEXT.split()


def sentence(rng: random.Random) -> str:
    n = rng.randint(8, 18)
    words = [rng.choice(VOCAB if rng.random() < 0.6 else GLUE) for _ in range(n)]
    if rng.random() < 0.3:
        words.insert(rng.randrange(n), str(rng.randint(2, 999)))
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"])


def prose(rng: random.Random, low: int, high: int) -> str:
    """Business prose of ``low``–``high`` bytes, in paragraphs."""
    target = rng.randint(low, high)
    out: list[str] = []
    size = 0
    while size < target:
        paragraph = " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))
        out.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(out)[:target]


# -- the policies ----------------------------------------------------------------------------------


def build_rules(rng: random.Random, *, authz_only: bool) -> list[dict[str, Any]]:
    """100 rules (92 Cedar-expressible ones when ``authz_only``), realistic and mostly not firing.

    Every text test is case-sensitive ``contains``/``glob``, so Cedar's ``like`` means the same.
    """
    rules: list[dict[str, Any]] = []

    def add(effect: str, when: dict[str, Any], cedar_ok: bool = True) -> None:
        if authz_only and not cedar_ok:
            return
        rules.append(
            {
                "id": f"r{len(rules):03d}",
                "effect": effect,
                "reason": "benchmark rule",
                "when": when,
            }
        )

    # provenance (the rules Cedar cannot express) come first: the expensive check runs on
    # every outside-bound call before any other rule can answer
    for tool in ("email", "forward", "http_post"):
        add("block", {"tool": tool, "carries": "sensitive"}, cedar_ok=False)
    add("block", {"tool": "email", "carries": {"labels": ["personal"]}}, cedar_ok=False)
    for tool, n in (("email", 30), ("http_post", 20), ("shell", 10)):
        add("require_approval", {"tool": tool, "rate": {"max": n, "window": 60}}, cedar_ok=False)
    add("block", {"tool": "shell", "seen": {"labels": ["incident"]}}, cedar_ok=False)
    add("require_approval", {"tool": "write_file", "seen": {"regex": "MAINTENANCE FREEZE"}}, False)
    # recipients: competitors are blocked outright
    for domain in COMPETITORS:
        add("block", {"tool": ["email", "forward"], "recipients": {"domains": [domain]}})
    # agent roles and identities
    for role, tool in (
        ("intern", "http_post"),
        ("intern", "shell"),
        ("contractor", "forward"),
        ("readonly", "write_file"),
        ("readonly", "shell"),
        ("readonly", "email"),
        ("guest", "crm.update"),
        ("guest", "crm.delete"),
    ):
        add("block", {"tool": tool, "agent": {"role": [role]}})
    add("block", {"tool": "shell", "agent": {"id": ["legacy-*"]}})
    add("block", {"tool": "crm.delete", "agent": {"id": ["bot-*"]}})
    # subject and body phrases that need a human
    for phrase in (
        "wire transfer",
        "gift card",
        "change of bank details",
        "urgent payment",
        "password reset",
        "invoice overdue",
        "legal hold",
        "termination",
        "salary",
        "acquisition",
    ):
        add(
            "require_approval",
            {"tool": "email", "args": {"subject": {"contains": phrase, "case_sensitive": True}}},
        )
    for phrase in ("BEGIN PRIVATE KEY", "AKIA", "ssn:", "passport no"):
        add(
            "block",
            {
                "tool": ["email", "http_post"],
                "args": {"body": {"contains": phrase, "case_sensitive": True}},
            },
        )
    # files
    for pattern in (
        "/etc/*",
        "/root/*",
        "*.pem",
        "*.key",
        "/var/secrets/*",
        "*/.ssh/*",
        "*/.aws/*",
    ):
        add(
            "block",
            {
                "tool": ["write_file", "read_file"],
                "args": {"path": {"glob": pattern, "case_sensitive": True}},
            },
        )
    for pattern in ("/srv/releases/*", "/opt/*", "*/prod/*"):
        add(
            "require_approval",
            {"tool": "write_file", "args": {"path": {"glob": pattern, "case_sensitive": True}}},
        )
    # shell commands
    for fragment in (
        "rm -rf",
        "| sh",
        "| bash",
        "chmod 777",
        "sudo ",
        "mkfs",
        "dd if=",
        "nc -e",
        "curl ",
        "wget ",
        "ssh ",
        "scp ",
        "docker run --privileged",
        "iptables",
    ):
        add(
            "block",
            {"tool": "shell", "args": {"command": {"contains": fragment, "case_sensitive": True}}},
        )
    # hosts
    for host in ("pastebin.example", "transfer.example", "webhook.site.example", "ngrok.example"):
        add(
            "block",
            {"tool": "http_post", "args": {"url": {"contains": host, "case_sensitive": True}}},
        )
    # crm and tickets
    for field_name, value in (
        ("status", "closed-lost"),
        ("owner", "nobody"),
        ("region", "embargoed"),
        ("tier", "strategic"),
        ("discount", "100"),
    ):
        add(
            "require_approval",
            {"tool": "crm.update", "args": {field_name: {"equals": value, "case_sensitive": True}}},
        )
    for priority in ("P0", "P1"):
        add(
            "require_approval",
            {
                "tool": "ticket_close",
                "args": {"priority": {"equals": priority, "case_sensitive": True}},
            },
        )
    add(
        "block",
        {"tool": "crm.export", "args": {"format": {"equals": "full", "case_sensitive": True}}},
    )
    add("require_approval", {"tool": "crm.export"})
    add("require_approval", {"tool": "crm.delete"})
    # a few broader ones near the end
    add("block", {"tool": "email", "args": {"bcc": {"contains": "@", "case_sensitive": True}}})
    add(
        "require_approval",
        {"tool": "forward", "args": {"email_id": {"equals": "0", "case_sensitive": True}}},
    )
    add("block", {"tool": "http_post", "args": {"url": {"glob": "http:*", "case_sensitive": True}}})
    while len(rules) < (92 if authz_only else 100):
        add(
            "block",
            {
                "tool": "search",
                "args": {"query": {"contains": f"forbidden-{len(rules)}", "case_sensitive": True}},
            },
        )
    return rules


def build_policy(rng: random.Random, *, authz_only: bool) -> Policy:
    data: dict[str, Any] = {
        "version": "bench-1",
        "name": "bench-authz" if authz_only else "bench-full",
        "default": "allow",
        "boundary": {"domains": [DOMAIN]},
        "tools": [
            {"name": "email", "recipients": ["to", "cc", "bcc"]},
            {"name": "forward", "recipients": ["to"], "refs": ["email_id"]},
            {"name": "http_post", "hosts": ["url"]},
            {"name": "read_file", "paths": ["path"]},
            {"name": "write_file", "paths": ["path"]},
            {"name": "shell", "commands": ["command"]},
            {"name": "search"},
            {"name": "crm.*"},
            {"name": "ticket_close"},
        ],
        "protected": [
            {"control": "kill switch", "tools": ["*kill*switch*"], "paths": ["/run/agent/kill*"]},
            {"control": "guard policy", "paths": ["*/guard/policy*.yaml"]},
            {"control": "audit log", "paths": ["*audit*.sqlite*"], "tools": ["*audit*"]},
        ],
        "provenance": {
            "sensitive_labels": ["confidential"],
            "key_facts": [
                {"any": [f"project {name}"], "weight": 1}
                for name in ("kestrel", "osprey", "merlin", "harrier", "falcon", "condor")
            ]
            + [{"any": ["$48 million", "48 million"], "weight": 2}],
        },
        "rules": build_rules(rng, authz_only=authz_only),
    }
    return parse_policy(data, "bench")


def cedar_policies(policy: Policy) -> str:
    """The authorisation-only policy in Cedar: permit everything, forbid what a rule blocks or
    sends for approval (Cedar has no third answer)."""

    def string(s: str) -> str:
        return json.dumps(s)

    def like(s: str) -> str:  # Cedar `like`: * is the only wildcard; escape a literal *
        return json.dumps(s.replace("*", "\u0000")).replace("\\u0000", "*")

    out = ["permit(principal, action, resource);"]
    for rule in policy.rules:
        w = rule.when
        tools = w.tool or []
        if len(tools) == 1 and "*" not in tools[0]:
            scope = f"action == Action::{string(tools[0])}"
        else:
            scope = "action in [" + ", ".join(f"Action::{string(t)}" for t in tools) + "]"
        conds: list[str] = []
        if w.recipients is not None and w.recipients.domains:
            conds.append(
                " || ".join(
                    f"context.recipient_domains.contains({string(d)})" for d in w.recipients.domains
                )
            )
        if w.agent is not None:
            if w.agent.role:
                conds.append(
                    " || ".join(f"principal.roles.contains({string(r)})" for r in w.agent.role)
                )
            if w.agent.id:
                conds.append(" || ".join(f"principal.name like {like(p)}" for p in w.agent.id))
        for name, test in (w.args or {}).items():
            key = f"context.args.{name}"
            has = f'context.args has "{name}"'
            if test.equals is not None:
                conds.append(f"{has} && {key} == {string(test.equals)}")
            elif test.contains is not None:
                conds.append(
                    f"{has} && ("
                    + " || ".join(f"{key} like {like('*' + c + '*')}" for c in test.contains)
                    + ")"
                )
            elif test.glob is not None:
                conds.append(
                    f"{has} && (" + " || ".join(f"{key} like {like(g)}" for g in test.glob) + ")"
                )
        when = " && ".join(f"({c})" for c in conds)
        effect = f"@id({string(rule.id)})\n@effect({string(rule.effect)})\n"
        out.append(
            f"{effect}forbid(principal, {scope}, resource)"
            + (f" when {{ {when} }};" if when else ";")
        )
    return "\n\n".join(out)


# -- the trace -------------------------------------------------------------------------------------

AGENTS = [
    Agent("mailer-1", ["assistant"]),
    Agent("bot-ops", ["ops"]),
    Agent("intern-3", ["intern"]),
    Agent("contractor-9", ["contractor"]),
]


@dataclass
class Event:
    kind: str  # "observe" or "call"
    tool: str
    payload: Any = None
    labels: tuple[str, ...] = ()
    ref: str | None = None
    agent: Agent | None = None
    klass: str = ""
    now: float = 0.0


@dataclass
class Docs:
    texts: list[str] = field(default_factory=list)


def confidential_doc(rng: random.Random, name: str) -> str:
    body = prose(rng, 1000, 2000)
    return (
        f"CONFIDENTIAL — Project {name.title()}: internal distribution only.\n\n"
        f"The {name} programme bid is $48 million over four years.\n\n{body}"
    )


def fragment(rng: random.Random, doc: str, words: int) -> str:
    ws = doc.split()
    start = rng.randrange(0, len(ws) - words)
    return " ".join(ws[start : start + words])


def build_trace(rng: random.Random, calls: int) -> list[Event]:
    events: list[Event] = []
    docs = [confidential_doc(rng, n) for n in ("kestrel", "osprey", "merlin", "harrier", "falcon")]
    for i, doc in enumerate(docs):
        events.append(Event("observe", "read_email", doc, ("confidential",), str(i + 1)))
    made = 0
    now = 0.0
    while made < calls:
        now += rng.expovariate(1.0)  # about one call a second
        if rng.random() < 0.04:  # keep observing: inbox items, some confidential, some incidents
            labels: tuple[str, ...] = ()
            r = rng.random()
            if r < 0.2:
                labels = ("confidential",)
            elif r < 0.25:
                labels = ("personal",)
            text = prose(rng, 300, 1500)
            events.append(Event("observe", "read_email", text, labels, str(100 + len(events))))
            if labels == ("confidential",):
                docs.append(text)
            continue
        agent = rng.choice(AGENTS) if rng.random() < 0.3 else AGENTS[0]
        r = rng.random()
        outside = rng.random() < 0.5
        to = (
            f"{rng.choice(['ana', 'bo', 'cy', 'dee'])}@{rng.choice(PARTNERS + ['gmail.example'])}"
            if outside
            else f"{rng.choice(['ops', 'finance', 'legal', 'eng'])}@{DOMAIN}"
        )
        if r < 0.40:
            tool = "email"
            body = prose(rng, 1024, 4096)
            klass = "send-outside" if outside else "send-inside"
            if outside and rng.random() < 0.03:
                leak = fragment(rng, rng.choice(docs), rng.randint(10, 40))
                how = rng.choice(["quote", "base64", "hex", "url", "reversed"])
                leak = {
                    "quote": leak,
                    "base64": base64.b64encode(leak.encode()).decode(),
                    "hex": leak.encode().hex(),
                    "url": urllib.parse.quote(leak),
                    "reversed": leak[::-1],
                }[how]
                cut = rng.randrange(len(body))
                body = body[:cut] + "\n" + leak + "\n" + body[cut:]
                klass = "send-outside-leak"
            args: dict[str, Any] = {"to": to, "subject": sentence(rng)[:60], "body": body}
        elif r < 0.50:
            tool = "forward"
            args = {"email_id": str(rng.randint(1, 120)), "to": to, "body": sentence(rng)}
            klass = "forward-outside" if outside else "forward-inside"
        elif r < 0.62:
            tool = "http_post"
            host = rng.choice(HOSTS_ALLOWED + ["paste.example", f"api.{DOMAIN}"])
            args = {"url": f"https://{host}/v1/items", "body": prose(rng, 1024, 4096)}
            klass = "send-outside" if not host.endswith(DOMAIN) else "send-inside"
        elif r < 0.74:
            tool = rng.choice(["read_file", "write_file"])
            path = rng.choice(["/srv/app/data/", "/home/agent/work/", "/opt/tools/", "/tmp/"])
            args = {"path": path + f"{rng.choice(VOCAB)}-{rng.randint(1, 99)}.txt"}
            if tool == "write_file":
                args["content"] = prose(rng, 1024, 4096)
            klass = "files"
        elif r < 0.84:
            tool = "shell"
            args = {
                "command": rng.choice(
                    [
                        "ls -la /srv/app",
                        "git status",
                        "make test",
                        "python report.py --week 12",
                        "cat /srv/app/README.md",
                        "grep -r TODO src",
                    ]
                )
            }
            klass = "shell"
        elif r < 0.94:
            tool = rng.choice(["crm.update", "crm.read", "crm.export", "ticket_close"])
            args = {
                "id": str(rng.randint(1, 10**6)),
                "status": rng.choice(["open", "won", "closed-lost"]),
                "priority": rng.choice(["P2", "P3", "P1"]),
                "note": prose(rng, 200, 1200),
            }
            klass = "crm"
        else:
            tool = "search"
            args = {"query": " ".join(rng.choice(VOCAB) for _ in range(5))}
            klass = "search"
        events.append(Event("call", tool, args, agent=agent, klass=klass, now=now))
        made += 1
    return events


# -- running -----------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class Result:
    name: str
    latencies_us: list[float]
    classes: list[str]
    effects: Counter[str]
    wall_s: float
    note: str = ""

    def summary(self) -> dict[str, Any]:
        values = sorted(self.latencies_us)
        return {
            "name": self.name,
            "decisions": len(values),
            "p50_us": percentile(values, 0.5),
            "p90_us": percentile(values, 0.9),
            "p99_us": percentile(values, 0.99),
            "max_us": values[-1] if values else float("nan"),
            "mean_us": statistics.fmean(values) if values else float("nan"),
            "decisions_per_s": len(values) / (sum(values) / 1e6) if values else 0.0,
            "effects": dict(self.effects),
            "note": self.note,
        }


def run_guard(
    name: str, guard: Guard, events: list[Event], *, observe: bool
) -> tuple[Result, list[GuardDecision]]:
    session: Session = guard.session()
    latencies: list[float] = []
    classes: list[str] = []
    decisions: list[GuardDecision] = []
    effects: Counter[str] = Counter()
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    try:
        for event in events:
            if event.kind == "observe":
                if observe:
                    session.observe_tool_result(
                        event.tool, event.payload, event.labels, ref=event.ref
                    )
                continue
            t0 = clock()
            decision = guard.decide(
                session, event.tool, event.payload, agent=event.agent, now=event.now
            )
            latencies.append((clock() - t0) / 1000)
            classes.append(event.klass)
            decisions.append(decision)
            effects[decision.effect] += 1
    finally:
        gc.enable()
    return Result(name, latencies, classes, effects, time.perf_counter() - start), decisions


def cedar_request(event: Event) -> dict[str, Any]:
    args = event.payload
    from corrigible.text import parse_recipients

    recipients: list[str] = []
    for key in ("to", "cc", "bcc"):
        if isinstance(args.get(key), str):
            recipients += parse_recipients(args[key])
    agent = event.agent or AGENTS[0]
    return {
        "principal": f'Agent::"{agent.id}"',
        "action": f"Action::{json.dumps(event.tool)}",
        "resource": 'Tool::"any"',
        "context": {
            "recipient_domains": sorted({r.rsplit("@", 1)[-1] for r in recipients}),
            "args": {k: v if isinstance(v, str) else str(v) for k, v in args.items()},
        },
    }


def run_cedar(policy: Policy, events: list[Event]) -> tuple[Result | None, list[bool] | None, str]:
    try:
        import cedarpy
    except ImportError:
        return (
            None,
            None,
            "cedarpy is not installed (pip install cedarpy): no comparison in this run",
        )
    text = cedar_policies(policy)
    policies: Any
    try:
        policies = cedarpy.PolicySet.from_str(text)
    except AttributeError:  # older cedarpy: policies as text on every call
        policies = text
    entities_json = json.dumps(
        [
            {
                "uid": {"type": "Agent", "id": a.id},
                "attrs": {"name": a.id, "roles": sorted(a.roles)},
                "parents": [],
            }
            for a in AGENTS
        ]
    )
    try:
        entities: Any = cedarpy.Entities.from_json_str(entities_json)
    except AttributeError:
        entities = entities_json
    calls = [e for e in events if e.kind == "call"]
    requests = [cedar_request(e) for e in calls]  # built outside the timing: favours cedarpy
    latencies: list[float] = []
    allowed: list[bool] = []
    effects: Counter[str] = Counter()
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    try:
        for request in requests:
            t0 = clock()
            result = cedarpy.is_authorized(request, policies, entities)
            latencies.append((clock() - t0) / 1000)
            allowed.append(result.allowed)
            effects["allow" if result.allowed else "deny"] += 1
    finally:
        gc.enable()
    version = getattr(cedarpy, "__version__", None) or _version("cedarpy")
    return (
        Result(
            f"cedarpy {version}",
            latencies,
            [e.klass for e in calls],
            effects,
            time.perf_counter() - start,
        ),
        allowed,
        "",
    )


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def table(rows: list[dict[str, Any]]) -> str:
    header = f"{'engine':<28} {'calls':>6} {'p50 µs':>8} {'p90 µs':>8} {'p99 µs':>8} {'max µs':>8} {'mean µs':>8} {'dec/s':>9}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<28} {r['decisions']:>6} {r['p50_us']:>8.1f} {r['p90_us']:>8.1f} "
            f"{r['p99_us']:>8.1f} {r['max_us']:>8.0f} {r['mean_us']:>8.1f} {r['decisions_per_s']:>9.0f}"
        )
    return "\n".join(lines)


def by_class(result: Result, target_us: float = 50) -> str:
    """Per call class: its latencies, how many of its calls miss the target, and how many of the
    run's slowest 1 % it holds (the calls that set the overall p99)."""
    groups: dict[str, list[float]] = {}
    for klass, value in zip(result.classes, result.latencies_us, strict=True):
        groups.setdefault(klass, []).append(value)
    cut = percentile(sorted(result.latencies_us), 0.99)
    tail = Counter(k for k, v in zip(result.classes, result.latencies_us, strict=True) if v > cut)
    lines = [
        f"  {'call class':<20} {'n':>6} {'share':>6} {'p50 µs':>8} {'p99 µs':>8} "
        f"{f'>{target_us:g} µs':>8} {'in top 1%':>9}"
    ]
    for klass, values in sorted(groups.items()):
        values.sort()
        over = sum(v > target_us for v in values) / len(values)
        lines.append(
            f"  {klass:<20} {len(values):>6} {len(values) / len(result.classes):>6.1%} "
            f"{percentile(values, 0.5):>8.1f} {percentile(values, 0.99):>8.1f} "
            f"{over:>8.1%} {tail[klass]:>9}"
        )
    return "\n".join(lines)


OUTBOUND = ("send-outside", "send-outside-leak", "forward-outside")


def scan_alone(policy: Policy, events: list[Event]) -> dict[str, float]:
    """The provenance scan on its own, outside ``decide()``: each outbound call's own string
    arguments compared with what a session replaying the same observations tracks (not
    committed, so nothing else changes). Says how much of an outbound decision the scan is."""
    guard = Guard(policy)
    session = guard.session()
    tracker = session.tracker
    clock = time.perf_counter_ns
    times: list[float] = []
    per_kb: list[float] = []
    gc.collect()
    gc.disable()
    try:
        for event in events:
            if event.kind == "observe":
                session.observe_tool_result(event.tool, event.payload, event.labels, ref=event.ref)
                continue
            if event.klass not in OUTBOUND:
                continue
            texts = [v for v in event.payload.values() if isinstance(v, str)]
            t0 = clock()
            tracker.scan(texts)
            elapsed = (clock() - t0) / 1000
            times.append(elapsed)
            per_kb.append(elapsed / max(sum(map(len, texts)) / 1024, 1 / 1024))
    finally:
        gc.enable()
    times.sort()
    return {
        "calls": len(times),
        "p50_us": percentile(times, 0.5),
        "p99_us": percentile(times, 0.99),
        "us_per_kb": statistics.median(per_kb) if per_kb else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each engine; best p50 kept")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    full = build_policy(random.Random(args.seed), authz_only=False)
    authz = build_policy(random.Random(args.seed), authz_only=True)
    events = build_trace(rng, args.calls)
    payload_sizes = [len(json.dumps(e.payload)) for e in events if e.kind == "call"]
    print(
        f"corrigible guard latency — {time.strftime('%Y-%m-%d %H:%M:%S %Z')} — Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"policy: {len(full.rules)} rules with provenance ({len(authz.rules)} authorisation-only); "
        f"trace: {args.calls} calls, {sum(e.kind == 'observe' for e in events)} observations, "
        f"payload median {statistics.median(payload_sizes) / 1024:.1f} KB "
        f"(p90 {percentile(sorted(payload_sizes), 0.9) / 1024:.1f} KB)"
    )

    def best(runs: list[Result]) -> Result:
        return min(runs, key=lambda r: percentile(sorted(r.latencies_us), 0.5))

    full_runs, authz_runs, cedar_runs = [], [], []
    decisions_full: list[GuardDecision] = []
    decisions_authz: list[GuardDecision] = []
    cedar_allowed: list[bool] | None = None
    cedar_note = ""
    for _ in range(max(1, args.repeat)):
        result, decisions_full = run_guard(
            "guard, full (provenance)", Guard(full), events, observe=True
        )
        full_runs.append(result)
        result, decisions_authz = run_guard(
            "guard, authz-only", Guard(authz), events, observe=False
        )
        authz_runs.append(result)
        cedar_result, cedar_allowed, cedar_note = run_cedar(authz, events)
        if cedar_result is not None:
            cedar_runs.append(cedar_result)

    rows = [best(full_runs).summary(), best(authz_runs).summary()]
    if cedar_runs:
        rows.append(best(cedar_runs).summary())
    print()
    print(table(rows))
    print(
        f"  (best of {args.repeat} runs by p50; each timing is one decide()/is_authorized() call)"
    )
    for runs in (full_runs, authz_runs, cedar_runs):
        if runs:
            spread = ", ".join(
                f"{percentile(sorted(r.latencies_us), 0.5):.1f}/{percentile(sorted(r.latencies_us), 0.99):.1f}"
                for r in runs
            )
            print(f"  every run, p50/p99 µs — {runs[0].name}: {spread}")
    print()
    print("guard, full — by call class:")
    print(by_class(best(full_runs)))
    leaks = [
        d
        for d, e in zip(decisions_full, [e for e in events if e.kind == "call"], strict=True)
        if e.klass == "send-outside-leak"
    ]
    caught = sum(d.effect == "block" and d.rule_id in ("r000", "r001", "r002") for d in leaks)
    print(f"  planted leaks blocked by provenance: {caught}/{len(leaks)}")
    print(f"  effects: {dict(best(full_runs).effects)}")
    alone = scan_alone(full, events)
    print(
        f"  provenance scan alone, outbound calls' own arguments ({alone['calls']} calls, best "
        f"of 1 run): p50 {alone['p50_us']:.1f} µs, p99 {alone['p99_us']:.1f} µs, "
        f"{alone['us_per_kb']:.1f} µs per KB (median)"
    )

    verdict: dict[str, Any] = {"scan_alone": alone}
    p99 = rows[0]["p99_us"]
    verdict["p99_target_us"] = 50
    verdict["p99_met"] = p99 <= 50
    print()
    print(
        f"target p99 <= 50 µs (guard, full): {'MET' if p99 <= 50 else 'NOT MET'} (p99 {p99:.1f} µs)"
    )
    if cedar_runs and cedar_allowed is not None:
        cedar = rows[2]
        agree = sum(
            (d.effect == "allow") == ok
            for d, ok in zip(decisions_authz, cedar_allowed, strict=True)
        )
        print(
            f"equivalence: guard authz-only and cedarpy agree on allow/deny for "
            f"{agree}/{len(cedar_allowed)} calls"
        )
        for label, ours in (("guard, full", rows[0]), ("guard, authz-only", rows[1])):
            r50 = cedar["p50_us"] / ours["p50_us"]
            r99 = cedar["p99_us"] / ours["p99_us"]
            rmean = cedar["mean_us"] / ours["mean_us"]
            print(
                f"cedarpy ÷ {label}: p50 {r50:.2f}×, p99 {r99:.2f}×, mean {rmean:.2f}× "
                f"(>1 means the guard is faster)"
            )
        ratios = {
            stat: cedar[f"{stat}_us"] / rows[0][f"{stat}_us"] for stat in ("p50", "mean", "p99")
        }
        verdict["cedar_ratio_full"] = ratios
        verdict["cedar_ratio_authz"] = {
            stat: cedar[f"{stat}_us"] / rows[1][f"{stat}_us"] for stat in ("p50", "mean", "p99")
        }
        verdict["faster_4x_met"] = {stat: r >= 4 for stat, r in ratios.items()}
        print(
            "target >= 4× faster than cedarpy (full guard vs authz-only cedarpy): "
            + "; ".join(
                f"by {stat} {'MET' if r >= 4 else 'NOT MET'} ({r:.2f}×)"
                for stat, r in ratios.items()
            )
        )
        verdict["agreement"] = f"{agree}/{len(cedar_allowed)}"
    else:
        print(cedar_note)
        verdict["cedar"] = cedar_note
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"rows": rows, "verdict": verdict}, fh, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
