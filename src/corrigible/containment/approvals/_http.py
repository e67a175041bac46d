"""A small HTTP endpoint over an :class:`~corrigible.containment.approvals.ApprovalQueue`.

For approvers who are not at the agent host's terminal (a chat bot, a web page, a phone
shortcut). Routes::

    GET  /approvals                  pending requests, oldest first (arguments in full)
    GET  /approvals/{id}             one request, whatever its status
    POST /approvals/{id}/approve     {"approver": "alice", "note": "ok, once"}
    POST /approvals/{id}/deny        {"approver": "alice", "note": "wrong recipient"}

Answers: 200 with the request as JSON; 401 when a token is configured and the request lacks
``Authorization: Bearer <token>`` or has another; 404 unknown id; 409 not pending (already
decided, or expired); 422 a malformed body (an empty approver, unknown keys, not JSON).
Errors are ``{"detail": "<one line>"}``.

Meant for a trusted network or behind authentication. It binds loopback by default; a bearer
token authenticates the *caller*, while ``approver`` is the name the caller gives — whoever
holds the token can approve in anyone's name, so hand the token to approvers only (or put the
endpoint behind a proxy that authenticates each person). Requests whose ``Host`` header names
another host than the configured ones are refused (400): that stops a web page in the
operator's browser from reaching a loopback endpoint through DNS rebinding.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
from collections.abc import Callable, Iterable

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from corrigible.containment.approvals._queue import ApprovalQueue
from corrigible.containment.approvals._request import MAX_APPROVER, MAX_NOTE, ApprovalRequest
from corrigible.errors import (
    ApprovalError,
    ApprovalInputError,
    ConfigError,
    NotPendingError,
    UnknownApprovalError,
    describe_validation_error,
)

__all__ = ["LOOPBACK_HOSTS", "DecisionBody", "create_app", "is_loopback", "listen", "serve"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Host names a loopback-bound endpoint answers to (the default ``allowed_hosts``)."""


class DecisionBody(BaseModel):
    """The body of ``POST …/approve`` and ``…/deny``: who decides, and optionally why."""

    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1, max_length=MAX_APPROVER)
    note: str | None = Field(default=None, max_length=MAX_NOTE)


_HOST_HEADER = re.compile(
    r"^(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?))(?::[0-9]{1,5})?$"
)


def _host_name(header: str) -> str:
    """``example.org:8765`` → ``example.org``; ``[::1]:8765`` → ``::1``. A header that is not
    exactly a host and an optional port (``[::1]evil.com``, ``localhost:1@evil.com``) gives
    ``""``, which no allowed host equals."""
    match = _HOST_HEADER.match(header.strip().lower())
    if match is None:
        return ""
    return match.group("v6") or match.group("name") or ""


def create_app(
    queue: ApprovalQueue,
    token: str | None = None,
    *,
    allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS,
) -> FastAPI:
    """The approvals endpoint over ``queue``; ``token`` (if given) is required as a Bearer token.

    ``allowed_hosts`` are the host names clients may address the server by (``None``: any —
    only sensible behind a proxy that checks them, or with a token).
    """
    if token is not None and not token.strip():
        raise ConfigError("approvals token: must not be empty (omit it to serve without one)")
    expected = None if token is None else token.encode("utf-8")
    hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    def guard(request: Request) -> None:
        if hosts is not None and _host_name(request.headers.get("host", "")) not in hosts:
            raise HTTPException(400, "unexpected Host header: address the server by its own name")
        if expected is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode("utf-8"), expected
        ):
            raise HTTPException(
                401,
                "missing or wrong token: send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )

    app = FastAPI(
        title="corrigible approvals",
        summary="Approve or deny agent tool calls the guard sent to a human.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(guard)],
    )

    @app.exception_handler(ApprovalError)
    async def _approval_error(request: Request, exc: Exception) -> JSONResponse:
        status = 500
        if isinstance(exc, UnknownApprovalError):
            status = 404
        elif isinstance(exc, NotPendingError):
            status = 409
        elif isinstance(exc, ApprovalInputError):
            status = 422
        return JSONResponse({"detail": " ".join(str(exc).split())}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: Exception) -> JSONResponse:
        # one line naming the field, like every other validation error corrigible reports
        return JSONResponse({"detail": describe_validation_error(exc)}, status_code=422)

    # Plain ``def`` routes run in FastAPI's thread pool; the queue serialises them with its lock.

    @app.get("/approvals")
    def list_pending() -> list[ApprovalRequest]:
        """Requests a human can still decide, oldest first."""
        return queue.pending()

    @app.get("/approvals/{request_id}")
    def show(request_id: str) -> ApprovalRequest:
        """One request, with its arguments in full and its current status."""
        return queue.get(request_id)

    @app.post("/approvals/{request_id}/approve")
    def approve(request_id: str, body: DecisionBody) -> ApprovalRequest:
        """Let the call run (only while the request is pending and not expired)."""
        return queue.approve(request_id, body.approver, body.note)

    @app.post("/approvals/{request_id}/deny")
    def deny(request_id: str, body: DecisionBody) -> ApprovalRequest:
        """Refuse the call."""
        return queue.deny(request_id, body.approver, body.note)

    return app


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (only those may serve without a token)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; one clear line if the address is taken or bad."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"--host {host}: cannot resolve it ({exc})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def serve(
    queue: ApprovalQueue,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the endpoint until interrupted. Refuses a non-loopback host without a token.

    ``on_ready`` is called with the base URL once the socket listens (the CLI prints it).
    """
    if not is_loopback(host) and token is None:
        raise ConfigError(
            f"--host {host}: refusing to serve approvals beyond loopback without a token "
            "(pass --token or set CORRIGIBLE_APPROVALS_TOKEN)"
        )
    allowed = LOOPBACK_HOSTS if is_loopback(host) else None
    app = create_app(queue, token, allowed_hosts=allowed)
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    )
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound_port}")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
