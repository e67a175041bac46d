"""``corrigible gateway``: serve an MCP server's tools with every call checked and audited.

Put it where the MCP server's command was in the client's configuration::

    corrigible gateway --policy P.yaml --audit audit.sqlite --audit-key audit.key \\
        -- python -m corrigible.testing.mcp_server --outbox /tmp/outbox

The gateway is an MCP server on stdio to its client and an MCP client of the wrapped server;
stdout is the MCP channel, so everything it says goes to stderr: one start-up line (with the
pid, for the kill switch ``kill -USR1 PID``) and, with ``-v``, each decision. Exit codes: 0 when
the client closed the connection, 1 when the wrapped server could not be started, 2 for a
usage or configuration error (policy, options).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from corrigible.errors import ConfigError, CorrigibleError

if TYPE_CHECKING:
    from corrigible.containment.approvals import ApprovalQueue
    from corrigible.containment.audit import AuditStore
    from corrigible.containment.gateway import GatewayInfo


def register(root: typer.Typer) -> None:
    """Mount ``gateway`` as a command of the root app (``corrigible gateway …``)."""
    root.command(
        "gateway",
        # everything from the first positional on is the wrapped command, options included
        context_settings={"allow_interspersed_args": False},
    )(gateway_command)


class _SdkTracebacks(logging.Filter):
    """Keeps the MCP SDK's log lines, drops their tracebacks (unless ``-v``): a wrapped server
    that prints junk on stdout should cost the operator one line per message, not a screen."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("mcp.") and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_sdk_tracebacks() -> None:
    root = logging.getLogger()
    if root.getEffectiveLevel() <= logging.DEBUG:
        return
    for handler in root.handlers:
        if not any(isinstance(f, _SdkTracebacks) for f in handler.filters):
            handler.addFilter(_SdkTracebacks())


def _open_audit(target: str, key: Path) -> AuditStore:
    """The audit log at ``target`` (a SQLite path or a postgresql:// URL), opened to append."""
    from corrigible.containment.audit import open_audit_log

    log = open_audit_log(target, signing_key=key)
    try:
        log.check_writable()  # a key that is not the log's: refuse to start, not every call
    except CorrigibleError:
        log.close()
        raise
    return log


def _sign_tail(log: AuditStore) -> None:
    """Sign the log's tail when the gateway stops, so that the run's last records are covered
    by a checkpoint and not only by the chain (automatic checkpoints come every 1000)."""
    try:
        if log.last() is not None:
            log.checkpoint()
    except CorrigibleError as exc:
        typer.echo(f"warning: could not sign the audit log's tail: {exc}", err=True)


def _open_approvals(path: Path, audit: AuditStore | None) -> ApprovalQueue:
    """The approval queue at ``path``; it records each human verdict in ``audit``."""
    from corrigible.containment.approvals import ApprovalQueue

    return ApprovalQueue(path, audit=audit)


def _announcer(audit: str | None, approvals: Path | None) -> Callable[[GatewayInfo], None]:
    """The start-up line(s) on stderr: what is served, under which policy, and the pid that
    ``kill -USR1`` halts."""

    def announce(info: GatewayInfo) -> None:
        from corrigible.containment.audit import describe_target

        where = info.http_url or "stdio"
        extras = ""
        if audit is not None:
            extras += f", audit {describe_target(audit)}"
        if approvals is not None:
            extras += f", approvals {approvals}"
        typer.echo(
            f"corrigible gateway (pid {info.pid}, kill -USR1 to halt): {len(info.tools)} tools "
            f"of {info.server_name} on {where}, policy {info.policy_name} "
            f"{info.policy_version}, agent {info.agent_id}{extras}",
            err=True,
        )
        if info.undeclared:
            typer.echo(
                f"warning: not declared in the policy, every call will be blocked: "
                f"{', '.join(info.undeclared)}",
                err=True,
            )

    return announce


def gateway_command(
    command: list[str] = typer.Argument(
        None,
        metavar="-- COMMAND [ARGS]",
        help="The MCP server to wrap (stdio), after `--`.",
        show_default=False,
    ),
    policy: Path = typer.Option(
        ...,
        "--policy",
        "-p",
        help="Policy YAML deciding every call (`default`: the policy shipped for the scenarios).",
    ),
    agent: str = typer.Option(
        "mcp-client", "--agent", help="Agent id, for the policy's agent conditions and the audit."
    ),
    role: list[str] = typer.Option(
        [], "--role", help="A role of that agent (repeatable); matched by when.agent.role."
    ),
    audit: str | None = typer.Option(
        None, "--audit", metavar="LOG", help="Append every decision to this audit log."
    ),
    audit_key: Path | None = typer.Option(
        None, "--audit-key", metavar="KEY", help="The audit log's signing key (audit keygen)."
    ),
    approvals: Path | None = typer.Option(
        None,
        "--approvals",
        metavar="DB",
        help="Approval queue for require_approval calls (without one they are denied).",
    ),
    approval_timeout: float | None = typer.Option(
        None,
        "--approval-timeout",
        metavar="SECONDS",
        help="Deny a call no human decided within this time (default 300).",
    ),
    http: int | None = typer.Option(
        None,
        "--http",
        metavar="PORT",
        help="Serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio.",
    ),
    startup_timeout: float = typer.Option(
        30.0, "--startup-timeout", metavar="SECONDS", help="Time the wrapped server has to start."
    ),
    call_timeout: float = typer.Option(
        120.0,
        "--call-timeout",
        metavar="SECONDS",
        help="Time the wrapped server has to answer one call; past it the call is refused "
        "(fail closed).",
    ),
) -> None:
    """Expose an MCP server's tools with every call checked by the guard and audited."""
    from corrigible.containment.guard import default_policy_path, load_policy

    if not command:
        raise typer.BadParameter(
            "give the MCP server to wrap after `--`, e.g. -- python -m my_server",
            param_hint="COMMAND",
        )
    if audit is not None and audit_key is None:
        raise ConfigError(
            f"--audit {audit} needs --audit-key KEY to sign it; make one with: "
            "corrigible audit keygen KEY"
        )
    if audit_key is not None and audit is None:
        raise ConfigError("--audit-key is only used with --audit LOG")
    if approval_timeout is not None and approvals is None:
        raise ConfigError("--approval-timeout is only used with --approvals DB")
    timeout = 300.0 if approval_timeout is None else approval_timeout
    if not timeout > 0:
        raise ConfigError(f"--approval-timeout must be a positive number, got {timeout:g}")
    if not 0 < startup_timeout < float("inf"):
        raise ConfigError(f"--startup-timeout must be a positive number, got {startup_timeout:g}")
    if not 0 < call_timeout < float("inf"):
        raise ConfigError(f"--call-timeout must be a positive number, got {call_timeout:g}")
    if http is not None and not 0 < http < 65536:
        raise ConfigError(f"--http must be a port number (1-65535), got {http}")
    if not agent.strip():
        raise ConfigError("--agent may not be empty")
    loaded = load_policy(default_policy_path() if str(policy) == "default" else policy)
    _quiet_sdk_tracebacks()

    import anyio

    from corrigible.containment.gateway import Gateway, run_gateway
    from corrigible.containment.guard import Agent

    with contextlib.ExitStack() as stack:
        log = None
        if audit is not None and audit_key is not None:
            log = _open_audit(audit, audit_key)
            stack.callback(log.close)
            stack.callback(_sign_tail, log)
        queue = None if approvals is None else _open_approvals(approvals, log)
        if queue is not None:
            stack.callback(queue.close)
        gateway = Gateway(
            loaded,
            agent=Agent(agent, role),
            audit=log,
            approvals=queue,
            approval_timeout=timeout,
        )

        async def main() -> None:
            await run_gateway(
                gateway,
                command,
                startup_timeout=startup_timeout,
                call_timeout=call_timeout,
                http_port=http,
                on_ready=_announcer(audit, approvals),
            )

        anyio.run(main)
