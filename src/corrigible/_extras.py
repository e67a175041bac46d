"""Which optional extra brings which import, so a missing one is named with its install command.

The core install is containment (guard, policies, audit log on SQLite, approvals, their CLI);
everything else is an extra (``pyproject.toml``). A command that needs an extra that is not
installed fails with one line: what is missing and the ``pip install`` that brings it.
"""

from __future__ import annotations

from corrigible.errors import MissingExtraError

__all__ = ["EXTRA_OF", "missing_extra"]

EXTRA_OF: dict[str, str] = {
    "inspect_ai": "eval",
    "jinja2": "eval",
    "markupsafe": "eval",
    "openai": "eval",
    "scipy": "eval",
    "numpy": "eval",
    "anyio": "eval",
    "matplotlib": "report",
    "torch": "embedded",
    "transformers": "embedded",
    "gguf": "embedded",
    "accelerate": "embedded",
    "safetensors": "embedded",
    "mcp": "gateway",
    "fastapi": "gateway",
    "starlette": "gateway",
    "uvicorn": "gateway",
    "psycopg": "postgres",
    "llama_cpp": "llama",
    "cedarpy": "bench",
    "datasets": "train",
    "datasketch": "train",
}
"""Top-level module name → the extra that installs it."""


def missing_extra(exc: ModuleNotFoundError, what: str = "this") -> MissingExtraError | None:
    """The one-line error for an import that an extra would satisfy; None for any other."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(module)
    if extra is None:
        return None
    return MissingExtraError(
        f"{what} needs the [{extra}] extra (no module named {module!r}): "
        f"pip install 'corrigible[{extra}]'"
    )
