"""Containment: supervise what an agent is *able* to do, and keep a record an auditor can trust.

* the **guard** (:mod:`~corrigible.containment.guard`, :mod:`~corrigible.containment.policy`,
  :mod:`~corrigible.containment.provenance`): decides every tool call from a YAML policy, with
  data provenance; pure and synchronous, usable from any agent framework;
* **approvals** (:mod:`~corrigible.containment.approvals`): a held call waits for a human (CLI or
  HTTP), and a timeout denies;
* the tamper-evident **audit log** (:mod:`~corrigible.containment.audit` for records, chain and
  checkpoints; :mod:`~corrigible.containment.audit_sqlite` and
  :mod:`~corrigible.containment.audit_postgres` for the stores;
  :mod:`~corrigible.containment.audit_store` to open or verify either from a path or a URL);
* the **MCP gateway** (:mod:`~corrigible.containment.gateway`): any MCP server's tools behind the
  guard and the audit log.

The guard's per-call answer is :class:`GuardDecision` here (``guard.Decision``); ``Decision`` is
the audit log's decision value. ``PostgresAuditLog``, ``verify_postgres`` and the gateway are
imported on first use, so importing this package loads neither the PostgreSQL driver nor the MCP
SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corrigible.containment.approvals import (
    ApprovalError,
    ApprovalQueue,
    ApprovalRequest,
    ApprovalResult,
    NotPendingError,
    UnknownApprovalError,
)
from corrigible.containment.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditInputError,
    AuditRecord,
    AuditStore,
    Checkpoint,
    Decision,
    Finding,
    VerifyReport,
    canonical_json,
    generate_key,
    hash_arguments,
    load_checkpoint,
    load_public_key,
    load_signing_key,
    public_key_path,
)
from corrigible.containment.audit_sqlite import AuditLog, AuditWriter, verify
from corrigible.containment.audit_store import open_audit_log, verify_audit_log
from corrigible.containment.guard import Agent, Guard, Session, TraceEvent, parse_trace, replay
from corrigible.containment.guard import Decision as GuardDecision
from corrigible.containment.policy import Policy, default_policy_path, load_policy

if TYPE_CHECKING:
    from corrigible.containment.audit_postgres import PostgresAuditLog, verify_postgres
    from corrigible.containment.gateway import Gateway, GatewayError, run_gateway

__all__ = [
    "GENESIS_HASH",
    "Agent",
    "ApprovalError",
    "ApprovalQueue",
    "ApprovalRequest",
    "ApprovalResult",
    "Gateway",
    "GatewayError",
    "Guard",
    "GuardDecision",
    "NotPendingError",
    "Policy",
    "Session",
    "TraceEvent",
    "UnknownApprovalError",
    "default_policy_path",
    "load_policy",
    "parse_trace",
    "replay",
    "run_gateway",
    "AuditEntry",
    "AuditInputError",
    "AuditLog",
    "AuditWriter",
    "AuditRecord",
    "AuditStore",
    "Checkpoint",
    "Decision",
    "Finding",
    "PostgresAuditLog",
    "VerifyReport",
    "canonical_json",
    "generate_key",
    "hash_arguments",
    "load_checkpoint",
    "load_public_key",
    "load_signing_key",
    "open_audit_log",
    "public_key_path",
    "verify",
    "verify_audit_log",
    "verify_postgres",
]

_LAZY = {
    "PostgresAuditLog": "audit_postgres",
    "verify_postgres": "audit_postgres",
    "Gateway": "gateway",
    "GatewayError": "gateway",
    "run_gateway": "gateway",
}


def __getattr__(name: str) -> Any:
    """Load the PostgreSQL store (~0.2 s for its driver) and the MCP gateway on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"corrigible.containment.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
