"""The tamper-evident audit log: records, the hash chain, signed checkpoints and their keys.

Why a hash chain *and* signatures. Every guard decision becomes an :class:`AuditRecord` whose
``hash`` covers its own fields and the previous record's hash, so editing, inserting, deleting or
reordering any record breaks the chain at that point. A chain alone has no secret, though:
whoever can write the file can recompute it from the first changed record onwards, or cut off
the tail. Periodic :class:`Checkpoint` s, signed with Ed25519, pin "record *seq* has hash *h*";
one copied somewhere the agent and the log's host cannot reach (:meth:`AuditLog.export_checkpoint`)
turns a consistent rewrite or a truncation into a detectable mismatch.

The exact formulas, so that anyone can check a log without this package:

* ``canonical JSON``: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
  ensure_ascii=True, allow_nan=False)`` encoded as ASCII;
* ``arguments_sha256 = sha256(canonical_json(arguments))`` — arguments are *never* stored, they
  may carry secrets (note that a hash of a low-entropy value, such as a 4-digit code, can be
  found by trying every value: the hash proves which call it was, it does not hide a guessable
  argument);
* ``hash = sha256(prev_hash + canonical_json(record without "hash"))``, ``prev_hash`` being the
  64 lower-case hex characters of the previous record's hash (ASCII), and 64 zeros for seq 1;
* a checkpoint's signature is Ed25519 over ``canonical_json(checkpoint without "signature")``;
  ``key_id = "ed25519:" + sha256(raw public key)[:16 hex]``.

Where each part lives (private modules; import from this package):

* ``_records`` — records and their encoding; ``_keys`` — Ed25519 keys; ``_checkpoints`` —
  signed checkpoints; ``_verify`` — the single-pass :class:`ChainScanner` every backend feeds,
  and the one :class:`VerifyReport`;
* ``_store`` — :class:`AuditStore`, the chain logic once over a few storage primitives;
  ``_writer`` — :class:`AuditWriter`, batched appends in the background;
* ``_sqlite`` (:class:`AuditLog`, embedded, the default) and ``_postgres``
  (:class:`PostgresAuditLog`, several processes or hosts, same schema);
* ``_open`` — :func:`open_audit_log` / :func:`verify_audit_log` from a path or a URL;
  ``_urls`` — URLs whose passwords are never printed.

``PostgresAuditLog`` and ``verify_postgres`` are imported on first use, so importing this package
does not load the PostgreSQL driver (the ``[postgres]`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corrigible.containment.audit._checkpoints import Checkpoint, load_checkpoint
from corrigible.containment.audit._keys import (
    generate_key,
    key_id,
    load_public_key,
    load_signing_key,
    public_key_path,
)
from corrigible.containment.audit._open import open_audit_log, verify_audit_log
from corrigible.containment.audit._records import (
    GENESIS_HASH,
    RECORD_COLUMNS,
    AuditDecision,
    AuditEntry,
    AuditRecord,
    AuditSink,
    canonical_json,
    hash_arguments,
    record_body,
)
from corrigible.containment.audit._sqlite import AuditLog, verify
from corrigible.containment.audit._store import AuditStore
from corrigible.containment.audit._urls import (
    describe_target,
    is_postgres_url,
    mask_passwords,
    redact_url,
)
from corrigible.containment.audit._verify import AuditFinding, ChainScanner, VerifyReport
from corrigible.containment.audit._writer import AuditWriter
from corrigible.errors import AuditInputError

if TYPE_CHECKING:
    from corrigible.containment.audit._postgres import PostgresAuditLog, verify_postgres

__all__ = [
    "GENESIS_HASH",
    "RECORD_COLUMNS",
    "AuditDecision",
    "AuditEntry",
    "AuditFinding",
    "AuditInputError",
    "AuditLog",
    "AuditRecord",
    "AuditSink",
    "AuditStore",
    "AuditWriter",
    "ChainScanner",
    "Checkpoint",
    "PostgresAuditLog",
    "VerifyReport",
    "canonical_json",
    "describe_target",
    "generate_key",
    "hash_arguments",
    "is_postgres_url",
    "key_id",
    "load_checkpoint",
    "load_public_key",
    "load_signing_key",
    "mask_passwords",
    "open_audit_log",
    "public_key_path",
    "record_body",
    "redact_url",
    "verify",
    "verify_audit_log",
    "verify_postgres",
]


def __getattr__(name: str) -> Any:
    """Load the PostgreSQL store (and its driver, ~0.2 s) on first use."""
    if name in ("PostgresAuditLog", "verify_postgres"):
        from corrigible.containment.audit import _postgres

        return getattr(_postgres, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
