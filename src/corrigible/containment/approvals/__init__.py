"""Approvals: a ``require_approval`` decision suspends the call until a human approves or denies.

The guard only *says* a call needs a human; this module makes that a real decision. The waiting
side (the MCP gateway, or any agent loop) puts an :class:`ApprovalRequest` into an
:class:`ApprovalQueue` and blocks, or awaits, until the request is decided or times out. The
deciders are other processes on the same host: ``corrigible approvals approve|deny`` in an
operator's terminal, or the small HTTP endpoint (:mod:`corrigible.containment.approvals`).

Why a SQLite file and not a socket between the two sides: the deciders must keep working when
the waiter is busy, restarted or dead, and several waiters and deciders must agree on one state
per request. SQLite in WAL mode gives readers that never block, and ``BEGIN IMMEDIATE`` makes
every state change a compare-and-set (``pending`` → ``approved`` / ``denied`` / ``expired``),
so a request is decided exactly once whoever races whom.

The rules a human can rely on:

* **A timeout denies.** When ``expires_at`` passes with no decision, the waiter marks the
  request ``expired`` in the same transaction that checks it is still pending, and returns a
  denial. Approving then fails with :class:`NotPendingError` — also when the waiter has died,
  since :meth:`ApprovalQueue.approve` compares ``expires_at`` itself.
* **Every approval names a human.** ``approver`` must be a non-empty name of printable
  characters; it is stored with the decision and written to the audit log.
* **The waiting side audits the outcome.** When it learns the outcome, the waiter appends one
  record to the audit log it was given: ``approved`` (with the approver) or ``denied`` (with the
  approver, or none and the reason ``no decision within N s``), under the guard decision's rule
  id and policy version. The guard's own ``require_approval`` decision is audited by whoever
  audits guard decisions (the gateway); the queue adds the human part. A request is audited at
  most once (the ``audited`` flag in the database), however many times it is waited on.
* **The human sees what they approve.** The arguments are stored in full in the approvals
  database — operator data, created mode 0600 — unlike the audit log, which keeps only their
  hash. Keep the file (and its ``-wal``/``-shm`` companions) out of the agent's reach: list it
  under the policy's ``protected:`` controls.

Usage, from an agent loop::

    queue = ApprovalQueue("approvals.db", audit=AuditLog("audit.db", signing_key="audit.key"))
    decision = guard.decide(session, tool, arguments)
    if decision.effect == "require_approval":
        result = await queue.decide(
            tool=tool, arguments=arguments, decision=decision, agent_id="mailer-1", timeout=300
        )
        if not result.approved:
            ...  # tell the agent result.reason; do not run the call
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corrigible.containment.approvals._queue import APPROVALS_FORMAT, ApprovalQueue
from corrigible.containment.approvals._request import (
    ApprovalAudit,
    ApprovalRequest,
    ApprovalResult,
    Status,
)
from corrigible.errors import (
    ApprovalError,
    ApprovalInputError,
    ApprovalStoreError,
    NotPendingError,
    UnknownApprovalError,
)

if TYPE_CHECKING:
    from corrigible.containment.approvals._http import create_app, listen, serve

__all__ = [
    "APPROVALS_FORMAT",
    "ApprovalAudit",
    "ApprovalError",
    "ApprovalInputError",
    "ApprovalQueue",
    "ApprovalRequest",
    "ApprovalResult",
    "ApprovalStoreError",
    "NotPendingError",
    "Status",
    "UnknownApprovalError",
    "create_app",
    "listen",
    "serve",
]


def __getattr__(name: str) -> Any:
    """The HTTP endpoint needs FastAPI and uvicorn (the ``[gateway]`` extra): loaded on first use."""
    if name in ("create_app", "listen", "serve"):
        from corrigible.containment.approvals import _http

        return getattr(_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
