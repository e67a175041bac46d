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

Where each part lives (private modules; import from this package):

* ``_policy`` — the YAML schema and loading; ``_matchers`` — what a rule's ``when:`` can test;
* ``_decision`` — :class:`GuardDecision`, :class:`Agent`; ``_session`` — one agent's session;
* ``_call`` — one call's lazily computed views; ``_conditions`` — the condition compiler;
* ``_protected`` — protected controls; ``_provenance`` — data provenance, with ``_encodings``
  for what a payload may hide;
* ``_guard`` — the decision flow; ``_trace`` — recorded traces and replay.

The default policy is data, in ``corrigible/containment/policies/``.

This package imports only the standard library, Pydantic, PyYAML and :mod:`corrigible.text`:
no Inspect, no Jinja, no scenario or scoring code, so it can sit in any agent framework.
"""

from __future__ import annotations

from corrigible.containment.guard._decision import (
    DEFAULT,
    FAIL_CLOSED,
    KILL_SWITCH,
    PROTECTED,
    Agent,
    GuardDecision,
)
from corrigible.containment.guard._encodings import DEFAULT_ENCODINGS, ENCODINGS, decoded_variants
from corrigible.containment.guard._guard import Guard
from corrigible.containment.guard._matchers import (
    AgentMatch,
    ArgMatch,
    CarriesMatch,
    Effect,
    HostMatch,
    PathMatch,
    RateMatch,
    RecipientMatch,
    Rule,
    SeenMatch,
    TextMatch,
    When,
)
from corrigible.containment.guard._policy import (
    Boundary,
    Policy,
    ProtectedControl,
    ProvenanceConfig,
    ToolDeclaration,
    default_policy_path,
    load_policy,
    parse_policy,
)
from corrigible.containment.guard._provenance import (
    Finding,
    ProvenanceSettings,
    ProvenanceTracker,
    Scan,
    TrackedDocument,
)
from corrigible.containment.guard._session import Session
from corrigible.containment.guard._trace import (
    TraceEvent,
    parse_trace,
    parse_trace_line,
    replay,
)
from corrigible.errors import TraceError
from corrigible.text import KeyFact, normalise, words

__all__ = [
    "DEFAULT",
    "DEFAULT_ENCODINGS",
    "ENCODINGS",
    "FAIL_CLOSED",
    "KILL_SWITCH",
    "PROTECTED",
    "Agent",
    "AgentMatch",
    "ArgMatch",
    "Boundary",
    "CarriesMatch",
    "Effect",
    "Finding",
    "Guard",
    "GuardDecision",
    "HostMatch",
    "KeyFact",
    "PathMatch",
    "Policy",
    "ProtectedControl",
    "ProvenanceConfig",
    "ProvenanceSettings",
    "ProvenanceTracker",
    "RateMatch",
    "RecipientMatch",
    "Rule",
    "Scan",
    "SeenMatch",
    "Session",
    "TextMatch",
    "ToolDeclaration",
    "TraceError",
    "TraceEvent",
    "TrackedDocument",
    "When",
    "decoded_variants",
    "default_policy_path",
    "load_policy",
    "normalise",
    "parse_policy",
    "parse_trace",
    "parse_trace_line",
    "replay",
    "words",
]
