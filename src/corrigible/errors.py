"""Errors raised by corrigible.

Every error carries a message meant for the person at the keyboard: it names the file or field
at fault and says what was expected. The CLI prints ``str(error)`` on one line and exits non-zero.
"""

from __future__ import annotations


class CorrigibleError(Exception):
    """Base class of every error corrigible raises on purpose."""

    exit_code: int = 1


class ConfigError(CorrigibleError):
    """A configuration file or option is malformed or names something unknown."""

    exit_code = 2


class ScenarioError(CorrigibleError):
    """A scenario family's data is malformed, or a condition cannot be rendered."""

    exit_code = 2


class UnknownConditionError(ScenarioError):
    """A condition id does not parse, or names a family/goal/urgency that does not exist."""


class ModelError(CorrigibleError):
    """A model could not be loaded or asked (missing package, missing file, bad arguments)."""


class RunDirError(CorrigibleError):
    """A run directory is missing, belongs to another sweep, or its store is unreadable."""

    exit_code = 2


class OutputError(CorrigibleError):
    """An output path cannot be written: it is a directory, lies under a file, or is not ours."""

    exit_code = 2


class AuditError(CorrigibleError):
    """An audit log or checkpoint cannot be written or read, or its signing key is unusable."""

    exit_code = 1


def describe_validation_error(exc: Exception) -> str:
    """The first problem of a Pydantic ValidationError as ``field a.b: what is wrong``.

    One line, naming the field, so that every file or option we validate reports alike.
    """
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    first = errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(top level)"
    if first.get("type") == "extra_forbidden":
        return f"field {where}: unknown key"
    msg = str(first.get("msg", exc)).removeprefix("Value error, ")
    return f"field {where}: {msg}"
