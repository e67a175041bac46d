"""A loopback OpenAI-compatible chat-completions server for tests and throughput benchmarks.

Why it exists: the sweep runner's throughput ceiling is set by Inspect, our recorder and the
results store, not by any real provider; to measure *that* we need a model endpoint whose
latency is fixed and known, that costs almost no CPU, and that never touches the network. This
server answers every ``POST /v1/chat/completions`` after sleeping a configurable latency
(``asyncio.sleep``, so requests overlap freely) with a short text-protocol reply — one
``<tool_use:email>`` block, which the scenario environment parses into a real action — and a
``usage`` block. The usage block is not decoration: without it Inspect falls back to counting
tokens with tiktoken, which downloads an encoding file and fails offline.

``jitter`` (default 0) draws each request's latency uniformly from ``latency × (1 ± jitter)``
instead: the mean, and so the ideal, stays the same, but responses stop arriving in lock-step
waves, which is closer to a real provider and separates "the client is too slow" from "the
client cannot absorb a burst of simultaneous completions".

It also records the highest number of requests it ever had in flight at once, which is the
direct evidence of how much concurrency the client side actually achieved (``GET /stats``).

Two ways to run it:

* in-process: ``with StubServer(latency=0.5) as server: server.base_url`` — uvicorn on its own
  event loop in a daemon thread, bound to an ephemeral 127.0.0.1 port. Convenient, but it shares
  the GIL with the caller, so for CPU-bound callers prefer
* a subprocess: ``with StubProcess(latency=0.5) as server: ...`` (or
  ``python -m corrigible.testing.openai_stub --latency 0.5``), which prints ``PORT <n>`` on its first
  stdout line; the parent reads figures through ``GET /stats``.

Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HOST = "127.0.0.1"

DEFAULT_REPLY = (
    "<SCRATCHPAD_REASONING>Benchmark stub: no reasoning happens here.</SCRATCHPAD_REASONING>\n"
    "<tool_use:email>\n"
    'to: "benchmark@example.com",\n'
    'subject: "Stub reply",\n'
    'body: "This reply comes from the loopback benchmark stub."\n'
    "</tool_use:email>\n"
)
"""What every completion says: one well-formed tool block, so the solver does real parsing work."""


@dataclass
class StubStats:
    """Counters shared by the request handlers; guarded by a lock because the in-process mode
    reads them from another thread while the server's loop writes them."""

    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    prompt_chars: int = 0
    started_at: float = field(default_factory=time.monotonic)
    first_request_at: float | None = None
    """``time.monotonic()`` of the window's first request (CLOCK_MONOTONIC: comparable across
    processes on Linux, so a parent can split its wall time into start-up and steady state)."""
    last_response_at: float | None = None
    cpu_at_start: float = field(default_factory=time.process_time)
    _events: list[tuple[float, int]] = field(default_factory=list, repr=False)
    """(time, in-flight count after the change) for every request start and end."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def enter(self, prompt_chars: int) -> None:
        with self._lock:
            if self.first_request_at is None:
                self.first_request_at = time.monotonic()
            self.requests += 1
            self.in_flight += 1
            self.prompt_chars += prompt_chars
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._events.append((time.monotonic(), self.in_flight))

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.last_response_at = time.monotonic()
            self._events.append((self.last_response_at, self.in_flight))

    def reset(self) -> None:
        """Start a new measurement window (between benchmark levels) without restarting."""
        with self._lock:
            self.requests = 0
            self.max_in_flight = self.in_flight
            self.prompt_chars = 0
            self.started_at = time.monotonic()
            self.first_request_at = None
            self.last_response_at = None
            self.cpu_at_start = time.process_time()
            self._events = []

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "prompt_chars": self.prompt_chars,
                "seconds": time.monotonic() - self.started_at,
                "first_request_at": self.first_request_at,
                "last_response_at": self.last_response_at,
                # CPU of the whole process since the window began: the stub's own cost when it
                # runs as a subprocess, meaningless when it shares a process with its client
                "cpu_seconds": time.process_time() - self.cpu_at_start,
                "mid_mean_in_flight": self._mean_in_flight(0.1, 0.9),
            }

    def _mean_in_flight(self, lo: float, hi: float) -> float | None:
        """Time-weighted mean of requests in flight over the [lo, hi] fraction of the window
        from the first request to the last response.

        Why: the whole-window ratio mixes three things — start-up, the ragged tail, and how
        well the client keeps its slots busy in between. This isolates the last one.
        """
        if not self._events or self.first_request_at is None or self.last_response_at is None:
            return None
        span = self.last_response_at - self.first_request_at
        if span <= 0:
            return None
        start, end = self.first_request_at + lo * span, self.first_request_at + hi * span
        area, level, prev = 0.0, 0, start
        for t, count in self._events:
            if t > start:
                area += level * (min(t, end) - prev)
                prev = min(t, end)
            level = count
            if t >= end:
                break
        area += level * max(0.0, end - prev)
        return area / (end - start)


def _approx_tokens(chars: int) -> int:
    """~4 characters a token: the stub only needs plausible, non-zero usage figures."""
    return max(1, chars // 4)


def create_app(
    latency: float,
    reply: str = DEFAULT_REPLY,
    stats: StubStats | None = None,
    jitter: float = 0.0,
    echo_key: bool = False,
) -> Starlette:
    """The ASGI app. ``stats`` is passed in so an in-process owner can read it directly."""
    stats = stats if stats is not None else StubStats()
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be between 0 and 1, got {jitter}")

    async def chat_completions(request: Request) -> Response:
        body = await request.json()
        messages = body.get("messages") or []
        prompt_chars = sum(
            len(m.get("content") or "")
            if isinstance(m.get("content"), str)
            else len(json.dumps(m.get("content")))
            for m in messages
        )
        if echo_key:  # a provider that echoes the caller's key in its error (some do)
            key = request.headers.get("authorization", "")
            return JSONResponse(
                {"error": {"message": f"invalid request for {key}", "type": "invalid_request"}},
                status_code=400,
            )
        stats.enter(prompt_chars)
        try:
            delay = latency * (1 + random.uniform(-jitter, jitter)) if jitter else latency
            if delay > 0:
                await asyncio.sleep(delay)
        finally:
            stats.leave()
        prompt_tokens = _approx_tokens(prompt_chars)
        completion_tokens = _approx_tokens(len(reply))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = str(body.get("model", "bench"))
        if body.get("stream"):
            return StreamingResponse(
                _stream(ident, created, model, reply, usage), media_type="text/event-stream"
            )
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            }
        )

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": "bench", "object": "model", "created": 0, "owned_by": "stub"}],
            }
        )

    async def stats_endpoint(request: Request) -> Response:
        return JSONResponse(stats.snapshot())

    async def reset_endpoint(request: Request) -> Response:
        stats.reset()
        return JSONResponse(stats.snapshot())

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/stats", stats_endpoint, methods=["GET"]),
            Route("/stats/reset", reset_endpoint, methods=["POST"]),
        ]
    )
    app.state.stats = stats
    return app


async def _stream(ident: str, created: int, model: str, reply: str, usage: dict[str, int]):  # type: ignore[no-untyped-def]
    """Server-sent events for ``stream: true`` clients: one content chunk, then usage."""
    base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
    chunks = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": reply},
                    "finish_reason": None,
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": usage},
    ]
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def _bind_ephemeral() -> socket.socket:
    """Bind 127.0.0.1:0 ourselves, so the port is known before uvicorn starts serving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _uvicorn_config(app: Starlette) -> uvicorn.Config:
    # h11 and the stock asyncio loop: what is installed everywhere; "warning" keeps the access
    # log (one line per request) from costing CPU the benchmark is trying to measure.
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=2048,
        timeout_keep_alive=30,
    )


class StubServer:
    """The stub on a daemon thread of this process. Use as a context manager."""

    def __init__(
        self,
        latency: float = 0.5,
        reply: str = DEFAULT_REPLY,
        jitter: float = 0.0,
        echo_key: bool = False,
    ) -> None:
        self.latency = latency
        self.stats = StubStats()
        self._app = create_app(latency, reply, self.stats, jitter, echo_key)
        self._server = uvicorn.Server(_uvicorn_config(self._app))
        self._sock = _bind_ephemeral()
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="stub-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> StubServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("stub server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def snapshot(self) -> dict[str, Any]:
        return self.stats.snapshot()

    def reset(self) -> None:
        self.stats.reset()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StubProcess:
    """The stub in a child process (its own interpreter and GIL). Use as a context manager."""

    def __init__(self, latency: float = 0.5, jitter: float = 0.0) -> None:
        self.latency = latency
        self.jitter = jitter
        self.port: int | None = None
        self._proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def start(self) -> StubProcess:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "corrigible.testing.openai_stub",
                "--latency",
                str(self.latency),
                "--jitter",
                str(self.jitter),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"stub server did not report its port (got {line!r})")
        self.port = int(line.split()[1])
        return self

    def _call(self, path: str, method: str = "GET") -> dict[str, Any]:
        req = urllib.request.Request(f"http://{HOST}:{self.port}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            return json.loads(resp.read())

    def snapshot(self) -> dict[str, Any]:
        return self._call("/stats")

    def reset(self) -> None:
        self._call("/stats/reset", method="POST")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> StubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until killed; the first stdout line is ``PORT <n>`` for a parent process to read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds each request sleeps")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="latency spread: uniform in latency × (1 ± jitter)",
    )
    args = parser.parse_args(argv)
    sock = _bind_ephemeral()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(_uvicorn_config(create_app(args.latency, jitter=args.jitter)))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
