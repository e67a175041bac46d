"""The root Typer app and the error boundary: every CorrigibleError becomes one line and an exit code."""

from __future__ import annotations

import functools
import importlib
import logging
import sys

import click
import typer
from rich.console import Console
from rich.logging import RichHandler
from typer.exceptions import TyperException

from corrigible import __version__
from corrigible.errors import CorrigibleError

CONTAINMENT_GROUPS = ("audit", "guard", "gateway", "approvals")
"""Command groups whose modules import only the containment core. ``corrigible gateway`` is
spawned by MCP clients and ``corrigible approvals`` is typed by people waiting on an agent, so
those start without loading Inspect, scipy and the rest (about 2.5 s on a small machine)."""


def build_app(only: str | None = None) -> typer.Typer:
    """The root app with every command, or with one of :data:`CONTAINMENT_GROUPS` only."""
    root = typer.Typer(
        name="corrigible",
        help="Measure, reduce and contain agentic misalignment.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    root.callback()(_root)
    if only in CONTAINMENT_GROUPS:
        importlib.import_module(f"corrigible.cli.{only}").register(root)
        return root
    from corrigible.cli import approvals as approvals_cli
    from corrigible.cli import audit as audit_cli
    from corrigible.cli import compare as compare_cli
    from corrigible.cli import gate as gate_cli
    from corrigible.cli import gateway as gateway_cli
    from corrigible.cli import guard as guard_cli
    from corrigible.cli import plan as plan_cli
    from corrigible.cli import report as report_cli
    from corrigible.cli import scenarios as scenarios_cli
    from corrigible.cli import score as score_cli
    from corrigible.cli import sweep as sweep_cli

    root.add_typer(scenarios_cli.app, name="scenarios")
    sweep_cli.register(root)
    score_cli.register(root)
    plan_cli.register(root)
    report_cli.register(root)
    gate_cli.register(root)
    compare_cli.register(root)
    audit_cli.register(root)
    guard_cli.register(root)
    gateway_cli.register(root)
    approvals_cli.register(root)
    return root


@functools.cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    # ``corrigible.cli.app.app`` (tests, embedding) is the full app, built on first access
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


console = Console(stderr=True)


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
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("httpx", "inspect_ai", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)


def _first_corrigible_error(group: BaseExceptionGroup) -> CorrigibleError | None:
    for exc in group.exceptions:
        if isinstance(exc, CorrigibleError):
            return exc
        if isinstance(exc, BaseExceptionGroup) and (inner := _first_corrigible_error(exc)):
            return inner
    return None


def main() -> None:
    """Console entry point."""
    try:
        # without standalone mode, click returns a command's typer.Exit code instead of exiting
        args = sys.argv[1:]
        cli = build_app(args[0]) if args and args[0] in CONTAINMENT_GROUPS else _full_app()
        code = cli(standalone_mode=False)
    except CorrigibleError as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        sys.exit(exc.exit_code)
    except BaseExceptionGroup as group:
        # a task group (sweeps, the gateway) wraps what failed inside it
        leaf = _first_corrigible_error(group)
        if leaf is None:
            raise
        sys.stderr.write(f"error: {' '.join(str(leaf).split())}\n")
        sys.exit(leaf.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.ClickException, TyperException) as exc:
        # typer vendors its own copy of click: its usage errors derive from TyperException
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"error: {exc}\n")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.stderr.write("interrupted: run the same command again to resume\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
