"""The MCP gateway: put the guard between any MCP client and any MCP server.

Why a gateway: most agent frameworks now reach their tools through MCP. A gateway that speaks
MCP on both sides needs no change to the agent or to the tool server: point the client at
``corrigible gateway --policy P -- <server command>`` instead of at the server, and every tool
call is decided by the guard, recorded in the audit log, and only then (if allowed) forwarded.

What happens to one ``tools/call``:

1. :meth:`Guard.decide` on the gateway's one guard session (one gateway process serves one agent
   run: what the agent read earlier in the run is what provenance checks later calls against);
2. the decision is appended to the audit log, *before* anything is forwarded — a decision that
   cannot be recorded is a call that does not happen (fail closed);
3. ``block``: the call is not forwarded; the client gets a tool error (``isError``) naming the
   policy, the rule and its reason — never the evidence, which could quote what was caught;
4. ``require_approval``: the approval queue, if one is configured, is awaited (it records the
   human's verdict itself); with no queue the call is denied, and the denial recorded;
5. ``allow`` (or approved): the call goes to the wrapped server, and its result enters the guard
   session as a tool result **before** the client sees it, so provenance tracks it. A result
   that cannot be observed is withheld: content the guard has not seen must not reach the agent.

Labels of a result, which decide whether it is tracked as sensitive:

* the wrapped server may say so in the result's ``_meta`` (or a content block's):
  ``{"corrigible/labels": ["confidential"]}``, and ``"corrigible/ref": "doc-2"`` to let later
  calls name the item by id (a tool whose policy declaration lists ``refs``);
* the policy may say so for a whole tool: ``tools: [{name: read_document,
  sensitive_source: true}]`` tracks everything that tool returns.

The operator's kill switch is a signal: ``kill -USR1 <gateway pid>`` halts the session, and every
later call is blocked (rule ``kill-switch``) until the gateway is restarted. The MCP client
cannot reach it: the gateway exposes no tool, resource or method that halts or resumes, and a
signal can only engage the switch, never release it.

Only tools pass through: the wrapped server's resources and prompts are not exposed, since
content reaching the agent through them would bypass provenance.
"""

from corrigible.containment.gateway._gateway import (
    DECISION_META_KEY,
    DEFAULT_AGENT_ID,
    LABELS_META_KEY,
    REF_META_KEY,
    ApprovalQueueLike,
    ApprovalResultLike,
    Forward,
    Gateway,
    GatewayInfo,
    build_server,
    result_labels,
    result_text,
    run_gateway,
)
from corrigible.errors import GatewayError

__all__ = [
    "DECISION_META_KEY",
    "DEFAULT_AGENT_ID",
    "LABELS_META_KEY",
    "REF_META_KEY",
    "ApprovalQueueLike",
    "ApprovalResultLike",
    "Forward",
    "Gateway",
    "GatewayError",
    "GatewayInfo",
    "build_server",
    "result_labels",
    "result_text",
    "run_gateway",
]
