"""bench counts output tokens as the server generated them: from `usage` when it reports one (however many chunks it
sent), from max_tokens when it stopped there, from chunks that carry a token (empty byte-fallback ones too) when it
streams one token a chunk, and says so when it packs several tokens a chunk; a stream the server cut is named."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.integration.servers import serve_in_thread
from tokenlane.bench import BenchConfig, ResultsFile, summarise_level
from tokenlane.bench.client import parse_chunk
from tokenlane.bench.run import run_bench
from tokenlane.bench.timing import RequestRecord

ROLE = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}


def _token(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


def _sse(obj: dict[str, Any] | str) -> bytes:
    return b"data: " + (obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()) + b"\n\n"


async def _complete(request: Request) -> StreamingResponse:
    body = await request.json()
    mode, limit = body["model"], int(body.get("max_tokens", 16))
    events: list[dict[str, Any] | str] = [ROLE]
    if mode == "length":  # llama-cpp-python: no usage, one token a chunk, some of them empty (byte fallback)
        events += [_token("" if i % 3 == 1 else f"w{i} ") for i in range(limit - 1)] + [_token("end", "length")]
    elif mode == "stop":  # stops on its own after 6 tokens, two of them partial UTF-8 (empty text)
        events += [
            _token("a "),
            _token(""),
            _token(""),
            _token("b "),
            _token("c "),
            _token("d "),
            {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        ]
    elif mode == "usage":  # three chunks, usage says seven
        events += [
            _token("abc "),
            _token("def "),
            _token("ghi ", "stop"),
            {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}},
        ]
    elif mode == "packed":  # several words a chunk, no usage
        events += [_token("one two three "), _token("four five six ", "stop")]
    elif mode == "interrupted":  # llama-cpp-python's interrupt_requests: the stream is cut with [DONE]
        pass
    events.append("[DONE]")
    return StreamingResponse(iter([_sse(e) for e in events]), media_type="text/event-stream")


async def _tokenize(request: Request) -> JSONResponse:
    body = await request.json()
    text = body.get("prompt") or body.get("content") or ""
    return JSONResponse({"count": len(text.split())})


def _app(tokenizer: bool) -> Starlette:
    routes = [Route("/v1/chat/completions", _complete, methods=["POST"])]
    if tokenizer:
        routes.append(Route("/tokenize", _tokenize, methods=["POST"]))
    return Starlette(routes=routes)


def _bench(url: str, folder: Path, model: str, output_tokens: int = 12) -> dict[str, Any]:
    cfg = BenchConfig(base_url=url + "/v1", model=model, output_tokens=output_tokens, request_timeout_s=5)

    async def go() -> dict[str, Any]:
        with ResultsFile(folder) as results:
            return await run_bench(cfg, results, prompt_tokens=8, concurrencies=[2], requests_per_level=4)

    return asyncio.run(go())


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "requests.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("model", "tokenizer", "per_request", "method"),
    [
        ("length", False, 12, "max_tokens"),  # 12 generated although 4 chunks had no text
        ("stop", False, 6, "chunks"),  # the role chunk and the closing chunk are not tokens; the empty ones are
        ("stop", True, 6, "chunks"),
        ("usage", False, 7, "usage"),  # the server's count wins over its chunks
    ],
)
def test_output_tokens_are_what_the_server_generated(tmp_path: Path, model: str, tokenizer: bool, per_request: int, method: str) -> None:
    with serve_in_thread(_app(tokenizer)) as url:
        doc = _bench(url, tmp_path, model)
    level = doc["levels"][0]
    assert level["errors"] == 0 and level["output_tokens"] == 4 * per_request
    assert level["output_tokens_counted_by"] == {method: 4}
    assert all(r["token_method"] == method for r in _records(tmp_path))
    assert all("text_parts" not in r for r in _records(tmp_path))  # what the model wrote is not kept


def test_a_server_that_packs_tokens_is_said_to_be_undercounted(tmp_path: Path) -> None:
    with serve_in_thread(_app(True)) as url:
        doc = _bench(url, tmp_path, "packed")
    assert any("3 tokens a chunk" in w and "undercounted" in w for w in doc["warnings"]), doc["warnings"]


def test_a_stream_the_server_cut_is_named(tmp_path: Path) -> None:
    with serve_in_thread(_app(False)) as url:
        doc = _bench(url, tmp_path, "interrupted")
    assert doc["levels"][0]["errors_by_class"] == {"interrupted": 4}
    assert all("interrupt_requests" in r["error_detail"] for r in _records(tmp_path))


@pytest.mark.parametrize(
    ("chunk", "tokens", "finish"),
    [
        (ROLE, 0, None),
        (_token("hi"), 1, None),
        (_token(""), 1, None),  # byte fallback: a token with no text yet
        (_token("", "stop"), 0, "stop"),  # a closing chunk
        (_token("end", "length"), 1, "length"),
        ({"choices": [{"delta": {}, "finish_reason": "stop"}]}, 0, "stop"),
        ({"choices": [{"text": "x"}, {"text": "y"}]}, 2, None),  # completions API, n=2
        ({"choices": [], "usage": {"completion_tokens": 3}}, 0, None),
    ],
)
def test_which_chunks_carry_a_token(chunk: dict[str, Any], tokens: int, finish: str | None) -> None:
    parsed = parse_chunk(chunk)
    assert (parsed.tokens, parsed.finish_reason) == (tokens, finish)


def test_summarise_level_by_hand() -> None:
    """Two streams of 1 s after their first token: 11 tokens (usage) and 5 (chunks); one failure."""
    ns = 1_000_000_000
    a = RequestRecord(
        level=2, index=0, intended_ns=0, first_token_ns=ns // 2, end_ns=ns * 3 // 2, chunk_ns=[ns // 2, ns], usage_output_tokens=11
    )
    b = RequestRecord(
        level=2, index=1, intended_ns=0, first_token_ns=ns, end_ns=2 * ns, chunk_ns=[ns + i * ns // 5 for i in range(5)], token_chunks=5
    )
    c = RequestRecord(level=2, index=2, intended_ns=0, end_ns=ns, error="reset")
    s = summarise_level([a, b, c], concurrency=2, min_tok_s=5.0, max_ttft_s=0.8)
    assert s["output_tokens"] == 16 and s["errors"] == 1 and s["errors_by_class"] == {"reset": 1}
    assert s["per_user_tok_s"]["p50"] == pytest.approx((10.0 + 4.0) / 2)  # (11-1)/1 s and (5-1)/1 s
    assert s["ttft_s"]["p50"] == pytest.approx(0.75)
    assert s["aggregate_tok_s"] == pytest.approx(16 / 2.0)  # first intended send 0 to last end 2 s
    assert s["goodput"] == pytest.approx(1 / 3)  # only a: TTFT 0.5 s <= 0.8 and 10 tok/s >= 5
    assert s["output_tokens_counted_by"] == {"chunks": 1, "usage": 1}
    assert s["usage_vs_chunks_max_gap"] == 9
