"""Where an audit log lives, as a user writes it: a path, or a PostgreSQL URL whose password
must never be printed.

Every message about a PostgreSQL log shows the URL through :func:`redact_url`, and driver errors
pass through :func:`mask_passwords`, so a password never reaches a terminal or a log.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

__all__ = ["URL_SCHEMES", "describe_target", "is_postgres_url", "mask_passwords", "redact_url"]

URL_SCHEMES = ("postgresql://", "postgres://")
"""The URL prefixes that name a PostgreSQL log (libpq's two spellings)."""


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
