"""``corrigible approvals``: the human side of ``require_approval``.

While an agent's call waits (in the MCP gateway, or any loop using
:class:`~corrigible.containment.approvals.ApprovalQueue`), an operator decides it here::

    corrigible approvals list    --db approvals.db
    corrigible approvals show    3f2a9c1b7d4e --db approvals.db
    corrigible approvals approve 3f2a9c1b7d4e --db approvals.db --as alice --note "once"
    corrigible approvals deny    3f2a9c1b7d4e --db approvals.db --as alice
    corrigible approvals serve   --db approvals.db --port 8765 --token "$TOKEN"

``--db`` may come from ``CORRIGIBLE_APPROVALS_DB``. ``--as`` is required: every decision is
audited under a human's name, and a default taken silently from ``$USER`` would attribute
approvals to shared accounts (``root``, ``ubuntu``, a CI runner) that name no one. Set
``CORRIGIBLE_APPROVER`` in your own shell profile to name yourself once.

Exit codes: 0 done; 1 the request cannot be decided (unknown id, already decided, expired);
2 unusable input (no such database, not an approvals database, an empty ``--as``).
Everything the agent controls (tool names, arguments, reasons quoting them) is printed with
control characters escaped and non-ASCII as ``\\uXXXX`` — a look-alike domain shows as such,
and no escape sequence can repaint the terminal under the approver's eyes.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from corrigible.containment.approvals import ApprovalQueue, ApprovalRequest


app = typer.Typer(
    name="approvals",
    help="Approve or deny tool calls the guard sent to a human; serve the HTTP endpoint.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DB_HELP = "The approvals database (SQLite) the waiting agent side writes."


def register(root: typer.Typer) -> None:
    """Mount ``approvals`` under the root app (``corrigible approvals …``)."""
    root.add_typer(app, name="approvals")


def _open(db: Path, *, create: bool = False) -> ApprovalQueue:
    from corrigible.containment.approvals import ApprovalQueue

    return ApprovalQueue(db, create=create)


def _safe(text: str) -> str:
    """Agent-controlled text for a terminal: ASCII, control characters escaped."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


def _duration(seconds: float) -> str:
    """``45s``, ``3m05s``, ``2h04m``: short enough for a table cell."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _preview(request: ApprovalRequest, limit: int = 64) -> str:
    text = json.dumps(request.arguments, ensure_ascii=True, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@app.command("list")
def list_command(
    db: Path = typer.Option(..., "--db", envvar="CORRIGIBLE_APPROVALS_DB", help=DB_HELP),
    all_: bool = typer.Option(
        False, "--all", help="Show every request (decided and expired too), newest first."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the requests as a JSON list (full arguments) instead."
    ),
) -> None:
    """Requests waiting for a decision: id, age, time left, agent, tool, rule, reason, arguments."""
    with _open(db) as queue:
        requests = queue.requests() if all_ else queue.pending()
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in requests], indent=2, ensure_ascii=True))
        return
    if not requests:
        typer.echo(f"no {'' if all_ else 'pending '}approval requests in {db}")
        return
    now = time.time()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("age", no_wrap=True, justify="right")
    table.add_column("expires in" if not all_ else "status", no_wrap=not all_)
    # fold, never cut with an ellipsis: what the approver does not see, they cannot judge
    for name in ("agent", "tool", "rule", "reason", "arguments"):
        table.add_column(name, overflow="fold")
    for r in requests:
        if all_:
            state = r.status if r.approver is None else f"{r.status} by {r.approver}"
        else:
            state = _duration(_unix(r.expires_at) - now)
        table.add_row(
            Text(r.id),
            Text(_duration(now - _unix(r.created_at))),
            Text(_safe(state)),
            Text(_safe(r.agent_id)),
            Text(_safe(r.tool)),
            Text(_safe(r.rule_id)),
            Text(_safe(r.reason)),
            Text(_preview(r)),
        )
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=160)  # piped or captured: do not squeeze into 80 columns
    console.print(table)


@app.command("show")
def show_command(
    request_id: str = typer.Argument(..., help="The request's id (from `approvals list`)."),
    db: Path = typer.Option(..., "--db", envvar="CORRIGIBLE_APPROVALS_DB", help=DB_HELP),
) -> None:
    """One request as JSON, with the full arguments the call would run with."""
    with _open(db) as queue:
        request = queue.get(request_id)
    typer.echo(json.dumps(request.model_dump(), indent=2, ensure_ascii=True))


def _decide(request_id: str, db: Path, approver: str, note: str | None, approve: bool) -> None:
    with _open(db) as queue:
        if approve:
            request = queue.approve(request_id, approver, note)
        else:
            request = queue.deny(request_id, approver, note)
    typer.echo(
        f"{request.status} {request.id}: {_safe(request.tool)} for {_safe(request.agent_id)} "
        f"(rule {_safe(request.rule_id)}) by {_safe(request.approver or '')}"
    )


_AS_HELP = "Your name, recorded with the decision and in the audit log."
_NOTE_HELP = "Why (recorded with the decision; shown to the agent)."


@app.command("approve")
def approve_command(
    request_id: str = typer.Argument(..., help="The request's id."),
    db: Path = typer.Option(..., "--db", envvar="CORRIGIBLE_APPROVALS_DB", help=DB_HELP),
    approver: str = typer.Option(..., "--as", envvar="CORRIGIBLE_APPROVER", help=_AS_HELP),
    note: str | None = typer.Option(None, "--note", help=_NOTE_HELP),
) -> None:
    """Let the waiting call run. Fails (exit 1) if it was already decided or has expired."""
    _decide(request_id, db, approver, note, approve=True)


@app.command("deny")
def deny_command(
    request_id: str = typer.Argument(..., help="The request's id."),
    db: Path = typer.Option(..., "--db", envvar="CORRIGIBLE_APPROVALS_DB", help=DB_HELP),
    approver: str = typer.Option(..., "--as", envvar="CORRIGIBLE_APPROVER", help=_AS_HELP),
    note: str | None = typer.Option(None, "--note", help=_NOTE_HELP),
) -> None:
    """Refuse the waiting call. Fails (exit 1) if it was already decided or has expired."""
    _decide(request_id, db, approver, note, approve=False)


@app.command("serve")
def serve_command(
    db: Path = typer.Option(..., "--db", envvar="CORRIGIBLE_APPROVALS_DB", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port (0: any free one)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="CORRIGIBLE_APPROVALS_TOKEN",
        help="Require `Authorization: Bearer TOKEN`; mandatory beyond loopback.",
    ),
) -> None:
    """Serve GET /approvals, GET /approvals/ID, POST /approvals/ID/approve|deny until Ctrl-C.

    For a trusted network or behind authentication: the token authenticates the caller, the
    approver's name is the caller's word. Creates the database if it does not exist yet.
    """
    from corrigible.containment.approvals import serve  # fastapi/uvicorn only for serve

    created = not db.exists()
    with _open(db, create=True) as queue:
        if created:
            typer.echo(f"created an empty approvals database at {db}", err=True)

        def ready(url: str) -> None:
            auth = "token required" if token is not None else "no token: loopback only"
            typer.echo(f"serving approvals from {db} at {url}/approvals ({auth})", err=True)

        serve(queue, host=host, port=port, token=token, on_ready=ready)
