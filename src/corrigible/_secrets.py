"""Credential values, scrubbed from everything we store or print.

Some providers echo the API key back in an error body. Whatever a provider says ends up in a
sample's error, so without this the key would reach ``results.sqlite``, ``export`` output,
``classify`` verdicts and the terminal. The values scrubbed are those of the environment
variables that hold credentials (names ending in ``API_KEY``, ``_TOKEN``, ``_SECRET``,
``PASSWORD`` or ``_KEY``, at least 8 characters long), read when a record is made, so a key
configured for any provider is covered without a list of providers.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["REDACTED", "scrub", "scrub_data", "scrub_log_dir", "secret_values"]

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


def _forms(secrets: list[str]) -> list[bytes]:
    """Each secret as raw UTF-8 and as it reads inside a JSON string, longest first."""
    forms = {s.encode() for s in secrets} | {json.dumps(s)[1:-1].encode() for s in secrets}
    return sorted(forms, key=len, reverse=True)


def _scrub_bytes(data: bytes, forms: list[bytes]) -> bytes:
    for form in forms:
        data = data.replace(form, REDACTED.encode())
    return data


def scrub_log_dir(log_dir: Path, secrets: list[str] | None = None) -> list[Path]:
    """Remove credential values from the Inspect logs in ``log_dir``; the files changed.

    Inspect writes its own log (``.eval``: a zip of JSON members; or ``.json``) with the
    sample's error text, so an echoed key would survive there after the store is clean. A log
    is rewritten only when it holds a secret, member by member into a temporary file that then
    replaces it, so an interruption leaves either the old file or the scrubbed one. ``.eval``
    members are zstd-compressed: ``inspect_ai`` must have been imported (it teaches ``zipfile``
    that method).
    """
    forms = _forms(secret_values() if secrets is None else secrets)
    changed: list[Path] = []
    if not forms or not log_dir.is_dir():
        return changed
    for path in sorted(log_dir.iterdir()):
        if path.suffix == ".json":
            scrubbed = _scrub_json(path, forms)
        elif path.suffix == ".eval" and zipfile.is_zipfile(path):
            scrubbed = _scrub_zip(path, forms)
        else:
            scrubbed = False
        if scrubbed:
            changed.append(path)
    return changed


def _scrub_json(path: Path, forms: list[bytes]) -> bool:
    data = path.read_bytes()
    if not any(f in data for f in forms):
        return False
    _replace(path, lambda out: out.write(_scrub_bytes(data, forms)))
    return True


def _scrub_zip(path: Path, forms: list[bytes]) -> bool:
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    if not any(f in data for _, data in members for f in forms):
        return False

    def write(out: Any) -> None:
        with zipfile.ZipFile(out, "w") as archive:
            for info, data in members:
                archive.writestr(info, _scrub_bytes(data, forms), compress_type=info.compress_type)

    _replace(path, write)
    return True


def _replace(path: Path, write: Any) -> None:
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as out:
        try:
            write(out)
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    os.replace(out.name, path)
