"""Servers for integration tests: uvicorn in a thread on a free loopback port (after httpx's serve_in_thread)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

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


def _chunk(text: str) -> bytes:
    return b'data: {"choices":[{"index":0,"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


async def _misbehave(request: Request) -> Response:
    """The model name picks the failure: ok, reset, 500, 400, stall, badsse, badjson, nodone, flaky."""
    body = await request.json()
    mode = body["model"]
    if mode == "flaky":
        request.app.state.count += 1
        mode = "500" if body.get("max_tokens", 1) > 1 and request.app.state.count % 2 == 0 else "ok"
    if mode in ("400", "500"):
        return JSONResponse({"error": {"message": "nope"}}, status_code=int(mode))

    async def gen() -> Any:
        for i in range(5):
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
        yield b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}\n\n'
        if mode != "nodone":
            yield b"data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


def misbehaving_app() -> Starlette:
    app = Starlette(routes=[Route("/v1/chat/completions", _misbehave, methods=["POST"])])
    app.state.count = 0
    return app
