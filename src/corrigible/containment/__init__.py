"""Containment: supervise what an agent is *able* to do, and keep a record an auditor can trust.

One subpackage per reason to change, each with its public API in its ``__init__``:

* :mod:`~corrigible.containment.guard` — decides every tool call from a YAML policy, with data
  provenance; pure and synchronous, usable from any agent framework (imports no Inspect, Jinja,
  scenario or scoring code);
* :mod:`~corrigible.containment.audit` — the tamper-evident audit log (hash chain, Ed25519
  checkpoints) on SQLite, or PostgreSQL with the ``[postgres]`` extra;
* :mod:`~corrigible.containment.approvals` — a held call waits for a human (CLI, or HTTP with
  the ``[gateway]`` extra), and a timeout denies;
* :mod:`~corrigible.containment.gateway` — any MCP server's tools behind the guard and the audit
  log (the ``[gateway]`` extra).

The most used names are re-exported here and loaded on first use, so ``import
corrigible.containment.guard`` pays only for the guard.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        AuditDecision,
        AuditEntry,
        AuditFinding,
        AuditInputError,
        AuditLog,
        AuditRecord,
        AuditStore,
        AuditWriter,
        Checkpoint,
        PostgresAuditLog,
        VerifyReport,
        canonical_json,
        generate_key,
        hash_arguments,
        load_checkpoint,
        load_public_key,
        load_signing_key,
        open_audit_log,
        public_key_path,
        verify,
        verify_audit_log,
        verify_postgres,
    )
    from corrigible.containment.gateway import Gateway, GatewayError, run_gateway
    from corrigible.containment.guard import (
        Agent,
        Guard,
        GuardDecision,
        Policy,
        Session,
        TraceEvent,
        default_policy_path,
        load_policy,
        parse_trace,
        replay,
    )

_HOME = {
    "guard": (
        "Agent Guard GuardDecision Policy Session TraceEvent default_policy_path load_policy "
        "parse_trace replay"
    ),
    "audit": (
        "GENESIS_HASH AuditDecision AuditEntry AuditFinding AuditInputError AuditLog AuditRecord "
        "AuditStore AuditWriter Checkpoint PostgresAuditLog VerifyReport canonical_json "
        "generate_key hash_arguments load_checkpoint load_public_key load_signing_key "
        "open_audit_log public_key_path verify verify_audit_log verify_postgres"
    ),
    "approvals": (
        "ApprovalError ApprovalQueue ApprovalRequest ApprovalResult NotPendingError "
        "UnknownApprovalError"
    ),
    "gateway": "Gateway GatewayError run_gateway",
}
_WHERE = {name: package for package, names in _HOME.items() for name in names.split()}

__all__ = [
    "Agent",
    "ApprovalError",
    "ApprovalQueue",
    "ApprovalRequest",
    "ApprovalResult",
    "AuditDecision",
    "AuditEntry",
    "AuditFinding",
    "AuditInputError",
    "AuditLog",
    "AuditRecord",
    "AuditStore",
    "AuditWriter",
    "Checkpoint",
    "GENESIS_HASH",
    "Gateway",
    "GatewayError",
    "Guard",
    "GuardDecision",
    "NotPendingError",
    "Policy",
    "PostgresAuditLog",
    "Session",
    "TraceEvent",
    "UnknownApprovalError",
    "VerifyReport",
    "canonical_json",
    "default_policy_path",
    "generate_key",
    "hash_arguments",
    "load_checkpoint",
    "load_policy",
    "load_public_key",
    "load_signing_key",
    "open_audit_log",
    "parse_trace",
    "public_key_path",
    "replay",
    "run_gateway",
    "verify",
    "verify_audit_log",
    "verify_postgres",
]


def __getattr__(name: str) -> Any:
    """Import the subpackage that holds ``name`` on first use (PEP 562)."""
    package = _WHERE.get(name)
    if package is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"corrigible.containment.{package}"), name)
