"""The root Typer app and the one error boundary of the CLI.

Every command module is named after its command (``run`` lives in ``cli/run.py``) and imports
only Typer and Rich at module level: what a command needs (Inspect, torch, scipy, the MCP SDK…)
is imported when the command runs. So ``corrigible --help``, and any command's ``--help``, start
in a fraction of a second (``benchmarks/cli_startup.py``).

Errors: a :class:`~corrigible.errors.CorrigibleError` raised anywhere under a command, alone or
inside a task group's ``ExceptionGroup``, becomes ``error: <one line>`` on stderr and the error
class's exit code. That happens in :class:`CommandGroup`, so the console script and Typer's
test runner behave alike; command modules never catch errors just to print them.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from corrigible import __version__
from corrigible._extras import missing_extra
from corrigible.errors import CorrigibleError

COMMANDS = (
    "scenarios",
    "run",
    "runs",
    "show",
    "export",
    "demo",
    "classify",
    "validate",
    "plan",
    "report",
    "gate",
    "compare",
    "audit",
    "guard",
    "gateway",
    "approvals",
    "train",
)
"""Command modules under ``corrigible.cli``, in the order ``--help`` lists them."""


def one_line(exc: BaseException) -> str:
    """An error message on one line (messages may quote multi-line input), credentials
    scrubbed (a provider may echo its API key in an error)."""
    from corrigible._secrets import scrub

    return scrub(" ".join(str(exc).split()))


def _first_corrigible_error(group: BaseExceptionGroup[Any]) -> CorrigibleError | None:
    for exc in group.exceptions:
        if isinstance(exc, CorrigibleError):
            return exc
        if isinstance(exc, BaseExceptionGroup) and (inner := _first_corrigible_error(exc)):
            return inner
    return None


class CommandGroup(TyperGroup):
    """The root group: runs a command and turns our errors into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CorrigibleError as exc:
            _fail(exc)
        except ModuleNotFoundError as exc:
            # an optional extra that is not installed: say which, and how to install it
            command = f"corrigible {ctx.invoked_subcommand}" if ctx.invoked_subcommand else "this"
            missing = missing_extra(exc, command)
            if missing is None:
                raise
            _fail(missing)
        except BaseExceptionGroup as group:
            # a task group (sweeps, the gateway) wraps what failed inside it
            leaf = _first_corrigible_error(group)
            if leaf is None:
                raise
            _fail(leaf)


def _fail(exc: CorrigibleError) -> None:
    typer.echo(f"error: {one_line(exc)}", err=True)
    raise typer.Exit(exc.exit_code) from None


def build_app() -> typer.Typer:
    """The root app with every command mounted."""
    root = typer.Typer(
        cls=CommandGroup,
        name="corrigible",
        help="Measure, reduce and contain agentic misalignment.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    root.callback()(_root)
    for name in COMMANDS:
        importlib.import_module(f"corrigible.cli.{name}").register(root)
    return root


@functools.cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    # ``corrigible.cli.app.app`` (tests, embedding) is the full app, built on first access
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"corrigible {__version__}")
        raise typer.Exit()


def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("httpx", "inspect_ai", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Typer's usage errors: its own from 0.29 (which vendors click), click's before that."""
    from typer.exceptions import TyperException

    try:
        import click
    except ModuleNotFoundError:  # typer >= 0.29 does not depend on click
        return (TyperException,)
    return (TyperException, click.ClickException)


def main() -> None:
    """Console entry point."""
    try:
        # without standalone mode, a command's typer.Exit code is returned instead of exiting
        code = _full_app()(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("interrupted: run the same command again to resume\n")
        sys.exit(130)
    except _usage_errors() as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"error: {exc}\n")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
