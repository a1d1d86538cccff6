"""An OpenAI-compatible server that behaves like a given box: streams paced by the capacity model's engine.

Endpoints: POST /v1/chat/completions, POST /v1/completions (streaming SSE or not), GET /v1/models, GET /health,
GET /metrics (Prometheus: its own `tokenlane_*` series and vLLM's names, `VLLM_METRICS`, labelled `model_name`, so
that dashboards and autoscalers written for vLLM read it). Prompt length is estimated at 4 bytes per token (OpenAI's
rule of thumb); output is filler text, one token per chunk; `max_tokens` is honoured (generation runs to it, as with
`ignore_eos`), and `usage` is reported (in the last chunk when `stream_options.include_usage` is set), with
`prompt_tokens_details.cached_tokens` where the engine caches prefixes (emulate/pacing.py: PrefixCache; the cached
part of a prompt costs no prefill, as in the simulator). Malformed requests get OpenAI-style error JSON; beyond
`max_streams` concurrent requests the server answers 429.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tokenlane.asgi import BodyLimit
from tokenlane.capacity import Deployment
from tokenlane.emulate.pacing import PacedEngine, PrefixCache

MAX_BODY_BYTES = 4 << 20
"""Largest request body accepted, bytes (413 beyond)."""
BYTES_PER_TOKEN = 4
"""Prompt tokens are estimated as UTF-8 bytes / 4 (OpenAI's tokenizer rule of thumb for English)."""
FILLER = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do")
DEFAULT_MAX_TOKENS = 256
VLLM_METRICS = (
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:e2e_request_latency_seconds",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
)
"""The vLLM series the emulator exposes, as vLLM's V1 engine names them (docs.vllm.ai, "Production Metrics"; KEDA and
vLLM's Grafana dashboard read them). kv_cache_usage_perc is a fraction, 1 = full, as vLLM reports it."""
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 640)
TOKEN_GAP_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class _Common(BaseModel):
    """The parameters the emulator honours or checks; unknown extra parameters are accepted and ignored (as OpenAI-
    compatible servers do), known ones must have the right type and range."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="only one choice per request is emulated")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)


class ChatRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1)


class CompletionRequest(_Common):
    prompt: str | list[str]


class _VllmMetrics:
    """The emulator's state and requests under vLLM's metric names (`VLLM_METRICS`), labelled with the served model."""

    def __init__(self, registry: CollectorRegistry, model_name: str) -> None:
        label = {"labelnames": ["model_name"], "registry": registry}
        latency = {"buckets": LATENCY_BUCKETS_S, **label}
        self.running = Gauge("vllm:num_requests_running", "Requests in the running batch", **label).labels(model_name)
        self.waiting = Gauge("vllm:num_requests_waiting", "Requests waiting for admission", **label).labels(model_name)
        self.kv = Gauge("vllm:kv_cache_usage_perc", "KV cache in use, 1 = full", **label).labels(model_name)
        self.ttft = Histogram("vllm:time_to_first_token_seconds", "Time to first token", **latency).labels(model_name)
        self.gap = Histogram("vllm:inter_token_latency_seconds", "Between tokens", buckets=TOKEN_GAP_BUCKETS_S, **label).labels(model_name)
        self.e2e = Histogram("vllm:e2e_request_latency_seconds", "Arrival to last token", **latency).labels(model_name)
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Prompt tokens received", **label).labels(model_name)
        self.generation_tokens = Counter("vllm:generation_tokens", "Tokens generated", **label).labels(model_name)

    def read(self, engine: PacedEngine) -> None:
        """Set the gauges from the engine now."""
        replica = engine.engine
        self.running.set(len(replica.running))
        self.waiting.set(replica.queued)
        self.kv.set(replica.kv_share())

    def token(self, started: float, last: float, *, first: bool) -> float:
        """A token went out now: the first one's TTFT, or the gap since the previous; returns now."""
        now = time.perf_counter()
        (self.ttft.observe(now - started) if first else self.gap.observe(now - last))
        return now

    def finished(self, started: float, generated: int) -> None:
        """A request ended after `generated` tokens."""
        self.generation_tokens.inc(generated)
        self.e2e.observe(time.perf_counter() - started)


def count_prompt_tokens(text: str) -> int:
    """Estimated tokens of `text`: ceil(UTF-8 bytes / 4), at least 1."""
    return max(1, -(-len(text.encode()) // BYTES_PER_TOKEN))


def _error(
    status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status)


def create_app(dep: Deployment, *, model_name: str | None = None, max_streams: int = 512) -> FastAPI:
    """The ASGI app for one emulated replica of `dep`."""
    name = model_name or dep.model.id
    engine: PacedEngine | None = None
    prefix_cache = PrefixCache(BYTES_PER_TOKEN, dep.engine.kv_block_tokens) if dep.engine.supports_prefix_caching else None
    registry = CollectorRegistry()
    requests_total = Counter("tokenlane_requests", "Requests by endpoint and outcome", ["endpoint", "outcome"], registry=registry)
    tokens_total = Counter("tokenlane_generated_tokens", "Output tokens streamed", registry=registry)
    running = Gauge("tokenlane_active_requests", "Requests admitted or queued", registry=registry)
    ttft = Histogram(
        "tokenlane_ttft_seconds", "Time to first token", registry=registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
    )
    vllm = _VllmMetrics(registry, name)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal engine
        engine = PacedEngine(dep)
        engine.start()
        yield
        await engine.stop()

    app = FastAPI(title=f"tokenlane emulate: {dep.model.id} on {dep.num_devices}x {dep.hardware.id} ({dep.engine.id})", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        if err["type"] == "json_invalid":
            return _error(400, "the request body is not valid JSON")
        param = ".".join(str(p) for p in err["loc"] if p != "body")
        return _error(400, f"{param}: {err['msg']}" if param else err["msg"], param=param or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), kind="not_found_error" if exc.status_code == 404 else "invalid_request_error")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "active": engine.active if engine else 0}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "tokenlane-emulate"}]}

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        running.set(engine.active if engine else 0)
        if engine is not None:
            vllm.read(engine)
        return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)

    async def _serve(body: _Common, prompt_text: str, endpoint: Literal["chat", "completions"]) -> Any:
        assert engine is not None
        if body.model != name:
            requests_total.labels(endpoint, "unknown_model").inc()
            return _error(
                404,
                f"The model '{body.model}' does not exist; this server emulates '{name}'",
                kind="not_found_error",
                param="model",
                code="model_not_found",
            )
        if engine.active >= max_streams:
            requests_total.labels(endpoint, "rejected").inc()
            return _error(429, f"too many concurrent requests (limit {max_streams})", kind="rate_limit_error", code="rate_limit_exceeded")
        prompt_tokens = count_prompt_tokens(prompt_text)
        max_tokens = body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS
        limit = engine.context_limit
        if prompt_tokens + max_tokens > limit:
            requests_total.labels(endpoint, "too_long").inc()
            return _error(
                400,
                f"This model's maximum context length is {limit} tokens. However, you requested {prompt_tokens + max_tokens} tokens "
                f"(~{prompt_tokens} in the messages, {max_tokens} in the completion).",
                param="max_tokens",
                code="context_length_exceeded",
            )
        cached = prefix_cache.lookup(prompt_text) if prefix_cache is not None else 0
        stream = engine.submit(prompt_tokens, max_tokens, cached)
        if stream.rejected:
            requests_total.labels(endpoint, "too_long").inc()
            return _error(
                400,
                f"prompt of ~{prompt_tokens} tokens plus max_tokens {max_tokens} exceeds the emulated context",
                param="messages",
                code="context_length_exceeded",
            )
        created, rid = int(time.time()), f"{'chatcmpl' if endpoint == 'chat' else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        obj = "chat.completion" if endpoint == "chat" else "text_completion"
        started = time.perf_counter()

        def piece(i: int) -> str:
            return " " + FILLER[i % len(FILLER)]

        def usage(n: int) -> dict[str, Any]:
            counts: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n}
            if prefix_cache is not None:
                counts["prompt_tokens_details"] = {"cached_tokens": cached}
            return counts

        vllm.prompt_tokens.inc(prompt_tokens)
        if not body.stream:
            n = 0
            text = []
            last = started
            async for i in engine.tokens(stream):
                last = vllm.token(started, last, first=n == 0)
                if n == 0:
                    ttft.observe(time.perf_counter() - started)
                text.append(piece(i))
                n += 1
            tokens_total.inc(n)
            vllm.finished(started, n)
            requests_total.labels(endpoint, "ok").inc()
            choice: dict[str, Any] = {"index": 0, "finish_reason": "length", "logprobs": None}
            if endpoint == "chat":
                choice["message"] = {"role": "assistant", "content": "".join(text)}
            else:
                choice["text"] = "".join(text)
            return JSONResponse({"id": rid, "object": obj, "created": created, "model": name, "choices": [choice], "usage": usage(n)})

        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunk_obj = "chat.completion.chunk" if endpoint == "chat" else "text_completion"

        def event(payload: dict[str, Any]) -> bytes:
            return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()

        def delta(text: str | None, finish: str | None, *, first: bool = False) -> dict[str, Any]:
            if endpoint == "chat":
                d: dict[str, Any] = {"role": "assistant"} if first else {}
                if text is not None:
                    d["content"] = text
                c: dict[str, Any] = {"index": 0, "delta": d, "finish_reason": finish, "logprobs": None}
            else:
                c = {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
            return {"id": rid, "object": chunk_obj, "created": created, "model": name, "choices": [c]}

        async def sse() -> AsyncIterator[bytes]:
            n = 0
            finished = False
            last = started
            try:
                async for i in engine.tokens(stream):
                    last = vllm.token(started, last, first=n == 0)
                    if n == 0:
                        ttft.observe(time.perf_counter() - started)
                    yield event(delta(piece(i), None, first=n == 0))
                    n += 1
                finished = True
                yield event(delta(None if endpoint == "chat" else "", "length"))
                if include_usage:
                    yield event({"id": rid, "object": chunk_obj, "created": created, "model": name, "choices": [], "usage": usage(n)})
                yield b"data: [DONE]\n\n"
            finally:
                if not finished:
                    engine.abort(stream)
                tokens_total.inc(n)
                vllm.finished(started, n)
                requests_total.labels(endpoint, "ok" if finished else "disconnected").inc()

        return StreamingResponse(sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest) -> Any:
        text = "".join(m.content if isinstance(m.content, str) else json.dumps(m.content) for m in body.messages if m.content)
        return await _serve(body, text, "chat")

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest) -> Any:
        return await _serve(body, body.prompt if isinstance(body.prompt, str) else "".join(body.prompt), "completions")

    return app
