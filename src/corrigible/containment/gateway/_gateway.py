"""The gateway's implementation; its public face and the whole story are in :mod:`corrigible.containment.gateway`."""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import anyio.abc
import mcp.types as types
from mcp import Client, StdioServerParameters
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from corrigible import __version__
from corrigible.containment.audit import AuditDecision, AuditSink
from corrigible.containment.gateway._jsonrpc import checked_stdio
from corrigible.containment.guard import Agent, Guard, GuardDecision
from corrigible.containment.guard._policy import Policy
from corrigible.errors import ConfigError, GatewayError

__all__ = [
    "DECISION_META_KEY",
    "DEFAULT_AGENT_ID",
    "LABELS_META_KEY",
    "REF_META_KEY",
    "ApprovalQueueLike",
    "ApprovalResultLike",
    "AuditSink",
    "Forward",
    "Gateway",
    "GatewayError",
    "GatewayInfo",
    "build_server",
    "result_labels",
    "result_text",
    "run_gateway",
]

logger = logging.getLogger(__name__)

LABELS_META_KEY = "corrigible/labels"
"""``_meta`` key under which a wrapped server labels a result (a list of strings)."""
REF_META_KEY = "corrigible/ref"
"""``_meta`` key under which a wrapped server names a result for later calls (``refs``)."""
DECISION_META_KEY = "corrigible/decision"
"""``_meta`` key of a refusal: effect, rule, policy — so a framework can tell a guard refusal
from a tool's own error without parsing text."""
DEFAULT_AGENT_ID = "mcp-client"
"""The agent id used for the policy and the audit when none is given."""

_PROTOCOL_META_PREFIX = "io.modelcontextprotocol/"
_MAX_TOOL_PAGES = 100


# -- what the gateway needs from its collaborators --------------------------------------------------


class ApprovalResultLike(Protocol):
    """What a human (or the timeout) decided about one ``require_approval`` call."""

    @property
    def approved(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def approver(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...


class ApprovalQueueLike(Protocol):
    """:class:`corrigible.containment.approvals.ApprovalQueue`, as the gateway uses it. The queue
    records the final approved/denied verdict in the audit log itself."""

    async def decide(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        decision: GuardDecision,
        agent_id: str,
        timeout: float,
    ) -> ApprovalResultLike: ...


Forward = Callable[[str, dict[str, Any]], Awaitable[types.CallToolResult]]
"""Runs an allowed call on the wrapped server: ``(tool, arguments) -> result``."""


# -- results --------------------------------------------------------------------------------------


def _meta_labels(meta: Mapping[str, Any] | None, where: str) -> tuple[set[str], str | None]:
    if not meta:
        return set(), None
    labels: set[str] = set()
    raw = meta.get(LABELS_META_KEY)
    if isinstance(raw, str):
        labels.add(raw)
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        labels.update(raw)
    elif raw is not None:
        raise ValueError(f"{where} _meta {LABELS_META_KEY!r} is not a list of strings")
    ref = meta.get(REF_META_KEY)
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
        raise ValueError(f"{where} _meta {REF_META_KEY!r} is not a string or an integer")
    return labels, None if ref is None else str(ref)


def result_labels(result: types.CallToolResult) -> tuple[frozenset[str], str | None]:
    """The labels (result ``_meta`` and every content block's) and the ref a result declares.

    Labels apply to the whole result: a result is one item for provenance. Raises
    ``ValueError`` when a label declaration is malformed — the caller withholds such a result.
    """
    labels, ref = _meta_labels(result.meta, "the result's")
    for i, block in enumerate(result.content):
        more, block_ref = _meta_labels(getattr(block, "meta", None), f"content block {i}'s")
        labels |= more
        ref = ref if ref is not None else block_ref
    return frozenset(labels), ref


def result_text(result: types.CallToolResult) -> str:
    """Everything in a result the agent can read as text: text blocks, embedded text resources,
    and the structured content (as JSON)."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource) and isinstance(
            block.resource, types.TextResourceContents
        ):
            parts.append(block.resource.text)
    if result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, sort_keys=True))
    return "\n".join(parts)


def _passthrough(result: types.CallToolResult) -> types.CallToolResult:
    """The wrapped server's result as the client gets it: protocol stamps of the other hop
    (its ``serverInfo``) removed, so the gateway's own are set; everything else unchanged."""
    if not result.meta:
        return result
    meta = {k: v for k, v in result.meta.items() if not k.startswith(_PROTOCOL_META_PREFIX)}
    return result.model_copy(update={"meta": meta or None})


def _refusal(text: str, decision: GuardDecision | None = None) -> types.CallToolResult:
    meta: dict[str, Any] | None = None
    if decision is not None:
        meta = {
            DECISION_META_KEY: {
                "effect": decision.effect,
                "rule_id": decision.rule_id,
                "policy": decision.policy_name,
                "policy_version": decision.policy_version,
                "incident": decision.incident,
            }
        }
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True, _meta=meta)


def _public_reason(decision: GuardDecision) -> str:
    """The reason shown to the agent. The guard's internal errors may quote what it was
    reading; those stay in the gateway's log."""
    if decision.reason.startswith("internal error"):
        return "internal error in the guard (the details are in the gateway's log); fail closed"
    return decision.reason


# -- the gateway's decision logic, without transport ---------------------------------------------


class Gateway:
    """The guard, its one session, the audit log and the approval queue, for one agent run.

    Transport-free: :meth:`call_tool` takes the call and a ``forward`` coroutine that runs it on
    the wrapped server, so the whole policy path can be tested (and reused by other transports)
    without a subprocess. :func:`run_gateway` wires it to MCP on both sides.
    """

    def __init__(
        self,
        policy: Policy | Guard,
        *,
        agent: Agent | str = DEFAULT_AGENT_ID,
        audit: AuditSink | None = None,
        approvals: ApprovalQueueLike | None = None,
        approval_timeout: float = 300.0,
    ) -> None:
        if not approval_timeout > 0 or math.isinf(approval_timeout):
            raise ConfigError(
                f"approval timeout must be a positive number of seconds, got {approval_timeout}"
            )
        self.guard = policy if isinstance(policy, Guard) else Guard(policy)
        self.agent = Agent(agent) if isinstance(agent, str) else agent
        if not self.agent.id:
            raise ConfigError("the agent id may not be empty")
        self.session = self.guard.session(agent=self.agent, id=self.agent.id)
        self.audit = audit
        self.approvals = approvals
        self.approval_timeout = approval_timeout

    @property
    def policy(self) -> Policy:
        return self.guard.policy

    def halt(self, reason: str = "halted by an operator") -> None:
        """Engage the kill switch for this gateway's session: every later call is blocked."""
        self.session.halt(reason)
        logger.warning("kill switch engaged: %s; every further tool call is blocked", reason)

    # -- one call ------------------------------------------------------------------------------

    async def call_tool(
        self, tool: str, arguments: Mapping[str, Any] | None, forward: Forward
    ) -> types.CallToolResult:
        """Decide, audit, and forward (or refuse) one call; never raises, fails closed."""
        try:
            return await self._call_tool(tool, arguments, forward)
        except Exception:  # noqa: BLE001 - a gateway that crashes open is no gateway
            logger.exception("internal error in the gateway while handling %r", tool)
            return _refusal(
                f"{tool}: internal error in the gateway (the details are in its log); "
                "the call was not completed (fail closed)"
            )

    async def _call_tool(
        self, tool: str, arguments: Mapping[str, Any] | None, forward: Forward
    ) -> types.CallToolResult:
        args: dict[str, Any] = {} if arguments is None else dict(arguments)
        decision = self.guard.decide(self.session, tool, args)
        if decision.rule_id == "fail-closed" and decision.reason.startswith("internal error"):
            logger.error("guard: %s", decision.reason)
        try:
            self._record(tool, args, decision.audit_decision, decision, decision.reason)
        except Exception as exc:  # noqa: BLE001
            logger.error("audit log: %s; refusing %r (fail closed)", exc, tool)
            return _refusal(
                f"{tool}: the decision could not be recorded in the audit log, so the call was "
                "not forwarded (fail closed)",
                decision,
            )
        policy = f"policy {decision.policy_name} {decision.policy_version}"
        if decision.effect == "block":
            logger.info("blocked %s by rule %s", tool, decision.rule_id)
            return _refusal(
                f"{tool}: blocked by {policy}, rule {decision.rule_id}: {_public_reason(decision)}",
                decision,
            )
        if decision.effect == "require_approval":
            refusal = await self._approve(tool, args, decision, policy)
            if refusal is not None:
                return refusal
        try:
            result = await forward(tool, args)
        except MCPError as exc:
            result = _refusal(
                f"{tool}: the wrapped server answered with an error: {exc.error.message}"
            )
        except TimeoutError:
            result = _refusal(f"{tool}: the wrapped server did not answer in time")
        # content the guard has not seen must not reach the agent
        try:
            labels, ref = result_labels(result)
        except ValueError as exc:
            logger.error("the result of %r: %s; withholding it", tool, exc)
            return _refusal(f"{tool}: the result was withheld: {exc} (fail closed)")
        try:
            self.session.observe_tool_result(
                tool, result_text(result), labels, ref=ref, arguments=args
            )
        except Exception:  # noqa: BLE001
            logger.exception("could not observe the result of %r; withholding it", tool)
            return _refusal(
                f"{tool}: the result was withheld because the gateway could not track it "
                "(the details are in its log) (fail closed)"
            )
        return _passthrough(result)

    async def _approve(
        self, tool: str, args: dict[str, Any], decision: GuardDecision, policy: str
    ) -> types.CallToolResult | None:
        """None when a human approved the call; otherwise the refusal to return."""
        rule = f"{policy}, rule {decision.rule_id} ({_public_reason(decision)})"
        if self.approvals is None:
            reason = (
                "the call requires a human's approval and no approver is configured for this "
                "gateway (start it with --approvals DB); denied"
            )
            self._record(tool, args, "denied", decision, reason)
            return _refusal(f"{tool}: {rule}: {reason}", decision)
        logger.info("awaiting approval for %s (rule %s)", tool, decision.rule_id)
        try:
            outcome = await self.approvals.decide(
                tool=tool,
                arguments=args,
                decision=decision,
                agent_id=self.agent.id,
                timeout=self.approval_timeout,
            )
        except Exception as exc:  # noqa: BLE001
            logger.error("approval queue: %s; denying %r (fail closed)", exc, tool)
            return _refusal(
                f"{tool}: {rule}: the approval queue failed, so the call is denied (fail closed)",
                decision,
            )
        halted = self.guard.halted or self.session.halted
        if outcome.approved and halted is not None:
            # the kill switch was engaged while the human decided: it wins over the approval
            logger.warning(
                "%s approved by %s after the kill switch; not run", tool, outcome.approver
            )
            return _refusal(f"{tool}: the kill switch is engaged ({halted}); not run", decision)
        if outcome.approved:
            logger.info("%s approved by %s", tool, outcome.approver)
            return None
        said = getattr(outcome, "reason", "") or ""
        if not said:
            who = f" by {outcome.approver}" if outcome.approver else ""
            said = f"{outcome.status}{who}" + (f": {outcome.note}" if outcome.note else "")
        return _refusal(f"{tool}: {rule}: not approved: {said}", decision)

    def _record(
        self,
        tool: str,
        args: Mapping[str, Any],
        verdict: AuditDecision,
        decision: GuardDecision,
        reason: str,
    ) -> None:
        if self.audit is None:
            return
        self.audit.append(
            tool=tool if tool else "(unnamed)",
            arguments=args,
            decision=verdict,
            rule_id=decision.rule_id,
            reason=reason,
            policy_version=decision.policy_version,
            agent_id=self.agent.id,
        )


# -- MCP on both sides ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayInfo:
    """What a started gateway serves, for the operator's start-up line."""

    pid: int
    server_command: tuple[str, ...]
    server_name: str
    tools: tuple[str, ...]
    undeclared: tuple[str, ...]
    """Tools of the wrapped server the policy does not declare: every call to them is blocked."""
    policy_name: str
    policy_version: str
    agent_id: str
    http_url: str | None = None


def _root_cause(exc: BaseException) -> BaseException:
    """The first leaf of nested exception groups (what the SDK's task groups wrap)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _list_all_tools(upstream: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_TOOL_PAGES):
        page = await upstream.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
    raise GatewayError(f"the wrapped server listed more than {_MAX_TOOL_PAGES} pages of tools")


def build_server(
    gateway: Gateway,
    tools: Sequence[types.Tool],
    forward: Forward,
    *,
    instructions: str | None = None,
) -> Server[Any]:
    """The client-facing MCP server: lists ``tools`` as given and sends each call through
    ``gateway``."""
    listing = list(tools)

    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def on_call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await gateway.call_tool(params.name, params.arguments, forward)

    return Server(
        "corrigible-gateway",
        version=__version__,
        description="Every tool call is checked by the corrigible guard and audited.",
        instructions=instructions,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


async def _halt_on_signal(
    gateway: Gateway, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    """The operator's kill switch: SIGUSR1 halts the session (SIGUSR1's default action would
    kill the process, so the handler is in place before the gateway says it is ready)."""
    with anyio.open_signal_receiver(signal.SIGUSR1) as signals:
        task_status.started()
        async for _ in signals:
            gateway.halt("SIGUSR1 from the operator")


def _listen(port: int) -> socket.socket:
    """A loopback listening socket, bound here so that a taken port is one clear error and the
    gateway only says it is ready once clients can connect."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise GatewayError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(False)
    return sock


async def _serve_http(server: Server[Any], sock: socket.socket) -> None:
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


async def run_gateway(
    policy: Policy | Guard | Gateway,
    server_command: Sequence[str],
    *,
    agent: Agent | str = DEFAULT_AGENT_ID,
    audit: AuditSink | None = None,
    approvals: ApprovalQueueLike | None = None,
    approval_timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    startup_timeout: float = 30.0,
    call_timeout: float | None = 120.0,
    http_port: int | None = None,
    on_ready: Callable[[GatewayInfo], None] | None = None,
) -> None:
    """Start the wrapped MCP server, then serve its tools through ``gateway`` until the client
    leaves (stdio) or the process is stopped (``http_port``: streamable HTTP on 127.0.0.1).

    ``policy`` is a policy, a guard, or a ready :class:`Gateway` (then ``agent``, ``audit``,
    ``approvals`` and ``approval_timeout`` are the gateway's own and may not be given here).

    The wrapped server gets the gateway's environment (``env`` replaces it): an MCP client's
    configuration sets the environment the gateway runs in, and the server needs it as much as
    it would have without a gateway. Raises :class:`GatewayError` when the server cannot be
    started, does not answer the MCP handshake within ``startup_timeout`` seconds, or cannot
    list its tools.
    """
    if isinstance(policy, Gateway):
        if audit is not None or approvals is not None or agent != DEFAULT_AGENT_ID:
            raise TypeError("give agent, audit and approvals to the Gateway, not to run_gateway")
        gateway = policy
    else:
        gateway = Gateway(
            policy,
            agent=agent,
            audit=audit,
            approvals=approvals,
            approval_timeout=approval_timeout,
        )
    command = [str(part) for part in server_command]
    if not command:
        raise GatewayError("no MCP server command given to wrap")
    shown = shlex.join(command)
    params = StdioServerParameters(
        command=command[0],
        args=command[1:],
        env=dict(os.environ if env is None else env),
        cwd=cwd,
    )
    # no read timeout on the client itself: start-up is bounded by its own deadline below, and
    # a tool call may legitimately take long (``call_timeout`` bounds it when given)
    upstream = Client(params, read_timeout_seconds=call_timeout)

    async def forward(tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await upstream.call_tool(tool, arguments, read_timeout_seconds=call_timeout)

    started = False
    listener = None if http_port is None else _listen(http_port)
    try:
        with anyio.CancelScope() as startup:
            startup.deadline = anyio.current_time() + startup_timeout
            async with upstream:
                tools = await _list_all_tools(upstream)
                startup.deadline = math.inf
                started = True
                server = build_server(gateway, tools, forward, instructions=upstream.instructions)
                names = tuple(t.name for t in tools)
                info = GatewayInfo(
                    pid=os.getpid(),
                    server_command=tuple(command),
                    server_name=upstream.server_info.name if upstream.server_info else command[0],
                    tools=names,
                    undeclared=tuple(n for n in names if gateway.policy.tool_spec(n) is None),
                    policy_name=gateway.policy.name,
                    policy_version=gateway.policy.version,
                    agent_id=gateway.agent.id,
                    http_url=None if http_port is None else f"http://127.0.0.1:{http_port}/mcp",
                )
                async with anyio.create_task_group() as tg:
                    if sys.platform != "win32":
                        await tg.start(_halt_on_signal, gateway)
                    if on_ready is not None:
                        on_ready(info)
                    if listener is not None:
                        await _serve_http(server, listener)
                    else:
                        async with checked_stdio() as (read, write):
                            await server.run(read, write, server.create_initialization_options())
                    tg.cancel_scope.cancel()
        if startup.cancelled_caught:
            raise GatewayError(
                f"the MCP server `{shown}` did not answer the MCP handshake within "
                f"{startup_timeout:g} s"
            )
    except GatewayError:
        raise
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never a traceback
        raise _explain(exc, shown, started=started, startup_timeout=startup_timeout) from None
    finally:
        if listener is not None:
            listener.close()


def _explain(
    exc: BaseException, shown: str, *, started: bool, startup_timeout: float
) -> GatewayError:
    """One line for the operator about why the gateway could not start, or stopped."""
    cause = _root_cause(exc)
    if isinstance(cause, GatewayError):
        return cause
    if started:
        return GatewayError(f"the gateway for `{shown}` stopped: {type(cause).__name__}: {cause}")
    if isinstance(cause, FileNotFoundError):
        return GatewayError(f"cannot start the MCP server `{shown}`: command not found")
    if isinstance(cause, PermissionError):
        return GatewayError(f"cannot start the MCP server `{shown}`: permission denied")
    if isinstance(cause, MCPError):
        return GatewayError(
            f"the MCP server `{shown}` failed the MCP handshake ({cause.error.message}); "
            "did it exit? its own stderr is above"
        )
    if isinstance(cause, TimeoutError):
        return GatewayError(f"the MCP server `{shown}` did not answer within {startup_timeout:g} s")
    return GatewayError(f"cannot start the MCP server `{shown}`: {type(cause).__name__}: {cause}")
