"""The emulator under bad requests and rude clients: OpenAI-shaped 400s, 413 for huge bodies, a dropped client frees
its slot, SIGTERM ends the server within seconds."""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx
import pytest

from tests.integration.servers import emulator_process, serve_in_thread
from tokenlane import build_deployment, builtin_catalog
from tokenlane.emulate import create_app

DEP = build_deployment(builtin_catalog(), hardware="dgx-spark", model="qwen3-8b", quant="int4-awq", engine="vllm")


@pytest.fixture(scope="module")
def emulator() -> Any:
    with serve_in_thread(create_app(DEP, max_streams=8)) as url:
        yield url


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "qwen3-8b", "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (_chat(max_tokens=1_000_000_000), "context_length_exceeded", "maximum context length"),
        (_chat(n=3), None, "n"),
        (_chat(temperature=-7), None, "temperature"),
        (_chat(max_tokens="10"), None, "max_tokens"),
        (_chat(stream="yes"), None, "stream"),
    ],
)
def test_bad_parameters_get_openai_shaped_400s(emulator: str, body: dict[str, Any], code: str | None, needle: str) -> None:
    r = httpx.post(emulator + "/v1/chat/completions", json=body, timeout=10)
    assert r.status_code == 400
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and needle in (error["message"] + str(error["param"]))
    if code:
        assert error["code"] == code


def test_a_huge_body_gets_413(emulator: str) -> None:
    big = _chat(messages=[{"role": "user", "content": "x" * (5 << 20)}])
    r = httpx.post(emulator + "/v1/chat/completions", json=big, timeout=20)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_a_dropped_client_frees_its_slot_and_is_counted(emulator: str) -> None:
    with httpx.stream("POST", emulator + "/v1/chat/completions", json=_chat(max_tokens=2000, stream=True), timeout=10) as r:
        for _ in r.iter_lines():
            break
    deadline = time.monotonic() + 5
    while httpx.get(emulator + "/health").json()["active"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(emulator + "/health").json()["active"] == 0
    assert 'outcome="disconnected"' in httpx.get(emulator + "/metrics").text


def test_sigterm_stops_the_server_within_five_seconds() -> None:
    args = ("--hardware", "dgx-spark", "--model", "qwen3-8b", "--quant", "int4-awq", "--engine", "vllm")
    with emulator_process(*args) as (url, server):
        with httpx.stream("POST", url + "/v1/chat/completions", json=_chat(max_tokens=5000, stream=True), timeout=10) as r:
            next(r.iter_lines())
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=5)
        assert time.monotonic() - started < 5
