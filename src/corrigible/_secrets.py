"""Credential values, scrubbed from everything we store or print.

Some providers echo the API key back in an error body. Whatever a provider says ends up in a
sample's error, so without this the key would reach ``results.sqlite``, ``export`` output,
``classify`` verdicts and the terminal. The values scrubbed are those of the environment
variables that hold credentials (names ending in ``API_KEY``, ``_TOKEN``, ``_SECRET``,
``PASSWORD`` or ``_KEY``, at least 8 characters long), read when a record is made, so a key
configured for any provider is covered without a list of providers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "scrub", "scrub_data", "secret_values"]

REDACTED = "***"
_SECRET_NAME = re.compile(r"(?:API_KEY|_TOKEN|_SECRET|PASSWORD|_KEY)$", re.IGNORECASE)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The credential values configured in the environment, longest first."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v.strip()) >= 8}
    return sorted(found, key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every credential value replaced by ``***``."""
    for secret in secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_data(value: Any, secrets: list[str] | None = None) -> Any:
    """Every string inside ``value`` (dicts, lists) scrubbed; other values as they are."""
    secrets = secret_values() if secrets is None else secrets
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {k: scrub_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v, secrets) for v in value]
    return value
