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

import re
import urllib.parse
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from corrigible.containment.audit import AuditInputError, AuditStore, Checkpoint, VerifyReport

__all__ = [
    "URL_SCHEMES",
    "describe_target",
    "is_postgres_url",
    "mask_passwords",
    "open_audit_log",
    "redact_url",
    "verify_audit_log",
]

URL_SCHEMES = ("postgresql://", "postgres://")
"""The URL prefixes that name a PostgreSQL log (libpq's two spellings)."""


def open_audit_log(target: str | Path, *, create: bool = True, **kwargs: Any) -> AuditStore:
    """Open the audit log at ``target``: a SQLite file, or a ``postgresql://`` URL.

    ``kwargs`` go to the store (``signing_key``, ``checkpoint_every``, ``durable``,
    ``timeout``: both stores take the same ones). With ``create=False`` a log that does not
    exist yet is an :class:`AuditInputError` (exit code 2) instead of being created — what
    tools that only add to an existing log (``corrigible audit checkpoint``) want.
    """
    if is_postgres_url(target):
        from corrigible.containment.audit_postgres import PostgresAuditLog

        return PostgresAuditLog(str(target), create=create, **kwargs)
    from corrigible.containment.audit_sqlite import AuditLog

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

    The same checks and report for both; see :func:`corrigible.containment.audit_sqlite.verify`.
    Raises :class:`AuditInputError` (exit code 2) when the log, checkpoint or key is unusable.
    """
    if is_postgres_url(target):
        from corrigible.containment.audit_postgres import verify_postgres

        return verify_postgres(str(target), checkpoint=checkpoint, public_key=public_key)
    from corrigible.containment.audit_sqlite import verify

    return verify(Path(target), checkpoint=checkpoint, public_key=public_key)


# --------------------------------------------------------------------------------------------
# URLs


def is_postgres_url(target: object) -> bool:
    """True when ``target`` is a ``postgresql://`` or ``postgres://`` URL (not a path)."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def describe_target(target: str | Path) -> str:
    """``target`` fit to print: a path as is, a URL with its password masked."""
    return redact_url(str(target)) if is_postgres_url(target) else str(target)


_PASSWORD_PARAM = re.compile(r"((?:^|[?&\s])[a-z_]*password\s*=\s*)[^&\s]*", re.IGNORECASE)
"""A ``password=`` (or ``sslpassword=``) parameter, in a URL's query or a key=value string."""


def redact_url(url: str) -> str:
    """The URL with every password in it (``user:PASSWORD@`` or ``?password=``) shown as ``***``.

    What every message, report and log line uses instead of the URL itself.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _PASSWORD_PARAM.sub(r"\1***", url)
    head, mark, query = rest.partition("?")
    at = head.rfind("@")  # the last @: a password may itself hold an unescaped @
    if at >= 0 and ":" in head[:at]:
        head = f"{head[:at].split(':', 1)[0]}:***{head[at:]}"
    query = _PASSWORD_PARAM.sub(r"\1***", query)
    return f"{scheme}{sep}{head}{mark}{query}"


def mask_passwords(text: str, url: str) -> str:
    """``text`` (say, a driver's error message) with every password spelled in ``url`` masked.

    libpq quotes the whole URL in some messages: that is replaced by its redacted form first,
    then any password left (raw or percent-decoded) becomes ``***``.
    """
    text = text.replace(url, redact_url(url))
    found: list[str] = []
    _, _, rest = url.partition("://")
    head, _, query = rest.partition("?")
    at = head.rfind("@")
    if at >= 0 and ":" in head[:at]:
        found.append(head[:at].split(":", 1)[1])
    found += [m.group(0)[len(m.group(1)) :] for m in _PASSWORD_PARAM.finditer(query)]
    found += [urllib.parse.unquote(s) for s in found]
    for secret in sorted({s for s in found if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
