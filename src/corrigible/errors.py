"""Every error corrigible raises on purpose, in one tree.

Each error carries a message meant for the person at the keyboard: it names the file or field at
fault and says what was expected. The CLI prints ``str(error)`` on one line and exits with the
class's ``exit_code`` (one handler, in :mod:`corrigible.cli.app`); library callers catch
:class:`CorrigibleError` or a subclass::

    CorrigibleError                  1  base class; never raised itself
    ├── ConfigError                  2  a config file or option is malformed or names something unknown
    ├── MissingExtraError            2  a command needs an optional extra that is not installed
    ├── ScenarioError                2  a family's data is malformed, or a condition cannot be rendered
    │   └── UnknownConditionError    2  a condition id does not parse or names nothing
    ├── ModelError                   1  a model could not be loaded or asked
    ├── RunDirError                  2  a run directory is missing, foreign or unreadable
    ├── OutputError                  2  an output path cannot be written
    ├── InteropError                 2  another tool's results file is malformed (the framework's)
    ├── TraceError                   2  a guard trace line cannot be read (also a ValueError)
    ├── AuditError                   1  an audit log, checkpoint or key cannot be written or read
    │   └── AuditInputError          2  the log or checkpoint given to verify is unusable
    ├── ApprovalError                1  an approval could not be submitted, decided or waited for
    │   ├── ApprovalStoreError       2  the approvals database is unusable
    │   ├── ApprovalInputError       2  a value handed to the queue is malformed
    │   ├── UnknownApprovalError     1  no request has this id
    │   └── NotPendingError          1  the request was already decided or expired
    ├── GatewayError                 1  the MCP gateway cannot run
    └── PostgresUnavailable          2  no PostgreSQL binaries for a throwaway test server

Exit codes: 2 means "what you gave me is wrong" (fix the input and run again), 1 means "it could
not be done" (the environment, a provider, a store).
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


class MissingExtraError(CorrigibleError):
    """A command or API needs an optional extra that is not installed; the message says which
    ``pip install`` brings it."""

    exit_code = 2


class InteropError(CorrigibleError, ValueError):
    """A file of another tool's results (the public framework's results directory) is malformed;
    the message names it."""

    exit_code = 2


class TraceError(CorrigibleError, ValueError):
    """A guard trace line that cannot be read: the message is ``line N: what is wrong``."""

    exit_code = 2


class AuditInputError(AuditError):
    """The log or checkpoint given to verify is unusable: missing, unreadable, not an audit log."""

    exit_code = 2


class ApprovalError(CorrigibleError):
    """An approval could not be submitted, decided or waited for."""

    exit_code = 1


class ApprovalStoreError(ApprovalError):
    """The approvals database is unusable: missing, a directory, not an approvals database."""

    exit_code = 2


class ApprovalInputError(ApprovalError):
    """A value handed to the queue is malformed: an empty approver, a bad timeout, arguments
    that are not JSON."""

    exit_code = 2


class UnknownApprovalError(ApprovalError):
    """No request has this id in this database."""


class NotPendingError(ApprovalError):
    """The request was already approved, denied or expired; it cannot be decided again."""


class GatewayError(CorrigibleError):
    """The gateway cannot run: the wrapped server did not start, or did not speak MCP."""

    exit_code = 1


class PostgresUnavailable(CorrigibleError):
    """The PostgreSQL server binaries are missing, or the throwaway server would not start."""

    exit_code = 2


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
