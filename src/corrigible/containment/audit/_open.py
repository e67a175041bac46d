"""One way in to the audit log whatever its storage: a file path is SQLite, a URL is PostgreSQL.

Why: the gateway, sweeps and the CLI take "where the audit log is" from a user as one string
(``--audit runs/audit.db`` or ``--audit postgresql://audit@db/corrigible``). Dispatching here,
once, keeps each of them from growing its own ``if url.startswith(...)`` and lets a deployment
move from the embedded log to a shared server without touching them.

Only ``postgresql://`` and ``postgres://`` URLs go to PostgreSQL; anything else is a path (so a
relative file named ``postgres.db`` is still a file). The PostgreSQL driver is imported only
when a URL is opened, so the CLI and the SQLite path never pay for it.

A URL may carry a password; every message shows it through :func:`redact_url`, and driver
errors pass through :func:`mask_passwords`, so a password never reaches a terminal or a log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from corrigible.containment.audit._checkpoints import Checkpoint
from corrigible.containment.audit._store import AuditStore
from corrigible.containment.audit._urls import is_postgres_url
from corrigible.containment.audit._verify import VerifyReport
from corrigible.errors import AuditInputError

__all__ = ["open_audit_log", "verify_audit_log"]


def open_audit_log(target: str | Path, *, create: bool = True, **kwargs: Any) -> AuditStore:
    """Open the audit log at ``target``: a SQLite file, or a ``postgresql://`` URL.

    ``kwargs`` go to the store (``signing_key``, ``checkpoint_every``, ``durable``,
    ``timeout``: both stores take the same ones). With ``create=False`` a log that does not
    exist yet is an :class:`AuditInputError` (exit code 2) instead of being created — what
    tools that only add to an existing log (``corrigible audit checkpoint``) want.
    """
    if is_postgres_url(target):
        from corrigible.containment.audit._postgres import PostgresAuditLog

        return PostgresAuditLog(str(target), create=create, **kwargs)
    from corrigible.containment.audit._sqlite import AuditLog

    path = Path(target)
    if not create and not path.is_file():
        if path.is_dir():
            raise AuditInputError(f"{path}: is a directory, not an audit log")
        raise AuditInputError(f"{path}: no such file")
    return AuditLog(path, **kwargs)


def verify_audit_log(
    target: str | Path,
    checkpoint: Checkpoint | Path | str | None = None,
    public_key: Ed25519PublicKey | Path | str | None = None,
) -> VerifyReport:
    """Verify the audit log at ``target`` (a SQLite file or a ``postgresql://`` URL).

    The same checks and report for both; see :func:`corrigible.containment.audit.verify`.
    Raises :class:`AuditInputError` (exit code 2) when the log, checkpoint or key is unusable.
    """
    if is_postgres_url(target):
        from corrigible.containment.audit._postgres import verify_postgres

        return verify_postgres(str(target), checkpoint=checkpoint, public_key=public_key)
    from corrigible.containment.audit._sqlite import verify

    return verify(Path(target), checkpoint=checkpoint, public_key=public_key)
