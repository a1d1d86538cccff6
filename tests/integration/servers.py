"""Servers for integration tests: uvicorn in a thread on a free loopback port (after httpx's serve_in_thread)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in a background thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`tokenlane emulate ARGS` in its own process on a free loopback port; yields its base URL and the process.

    Timing tests use it rather than a thread: a server in the test's own process shares the interpreter lock with
    the client it is measuring."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "tokenlane", "emulate", *args, "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("emulator did not start")
            time.sleep(0.1)
        yield url, server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)


def _chunk(text: str) -> bytes:
    return b'data: {"choices":[{"index":0,"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


SHAPES = {
    "shape_choices": b'data: {"choices":[1]}\n\n',
    "shape_delta": b'data: {"choices":[{"delta":"x"}]}\n\n',
    "shape_usage": b'data: {"choices":[],"usage":{"completion_tokens":"many"}}\n\n',
    "shape_list": b"data: [1, 2]\n\n",
}
"""Valid SSE carrying JSON of the wrong shape."""


async def _misbehave(request: Request) -> Response:
    """The model name picks the failure: ok, reset, 500, 400, stall, badsse, badjson, nodone, flaky, empty, cut, short,
    longline, redirect (to another port), redirect_same (to this server), and the wrong JSON shapes in SHAPES."""
    body = await request.json()
    mode = body["model"]
    if mode == "redirect":
        return Response(status_code=307, headers={"Location": "http://127.0.0.1:9/v1/chat/completions"})
    if mode == "redirect_same":
        return Response(status_code=307, headers={"Location": "/v2/chat/completions"})
    if mode in SHAPES:
        return StreamingResponse(iter([SHAPES[mode], b"data: [DONE]\n\n"]), media_type="text/event-stream")
    if mode == "empty":  # finished, on purpose, with nothing to say
        stop = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        return StreamingResponse(iter([stop, b"data: [DONE]\n\n"]), media_type="text/event-stream")
    if mode == "cut":  # [DONE] with no token and no reason: the server stopped the request
        return StreamingResponse(iter([b"data: [DONE]\n\n"]), media_type="text/event-stream")
    if mode == "longline":
        return StreamingResponse(iter([_chunk("a"), b"data: " + b"x" * (2 << 20)]), media_type="text/event-stream")
    if mode == "flaky":
        request.app.state.count += 1
        mode = "500" if body.get("max_tokens", 1) > 1 and request.app.state.count % 2 == 0 else "ok"
    if mode in ("400", "500"):
        return JSONResponse({"error": {"message": "nope"}}, status_code=int(mode))

    async def gen() -> Any:
        for i in range(1 if mode == "short" else 5):
            yield _chunk(f"t{i}")
            await asyncio.sleep(0.005)
        if mode == "reset":
            raise RuntimeError("connection dropped mid-stream")
        if mode == "stall":
            await asyncio.sleep(5)
        if mode == "badsse":
            yield b"this is not server-sent events\n\n"
        if mode == "badjson":
            yield b"data: {not json\n\n"
        if mode != "nousage":
            yield b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}\n\n'
        if mode != "nodone":
            yield b"data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


async def _redirected(request: Request) -> Response:
    body = await request.json()
    return await _misbehave_as(request, {**body, "model": "ok"})


async def _misbehave_as(request: Request, body: dict[str, Any]) -> Response:
    async def gen() -> Any:
        for i in range(5):
            yield _chunk(f"t{i}")
        yield b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}\n\n'
        yield b"data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


def misbehaving_app() -> Starlette:
    app = Starlette(
        routes=[Route("/v1/chat/completions", _misbehave, methods=["POST"]), Route("/v2/chat/completions", _redirected, methods=["POST"])]
    )
    app.state.count = 0
    return app
