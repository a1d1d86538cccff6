"""The bench client: streams requests to an OpenAI-compatible endpoint and records what each one measured.

Every failure mode of a server becomes a classified error on its record, never a crash or a hang: refused
connections (connect), connect timeouts (connect_timeout), resets (reset), 4xx/5xx, redirects (redirect, unless
followed), stalls mid-stream (stall), malformed SSE or JSON, JSON of the wrong shape (bad_response, naming the
field), lines too long to read (line_too_long), a stream without [DONE] (no_done) or without content (empty), and
an overall per-request deadline (timeout). A stream far shorter than asked is flagged `short`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.http_exceptions import LineTooLong

from tokenlane.bench.prompts import WORDS, synthetic_prompt
from tokenlane.bench.timing import RequestRecord
from tokenlane.errors import EndpointError
from tokenlane.units import MS_PER_S, NS_PER_S, ns_to_s


@dataclass(frozen=True)
class BenchConfig:
    """How to talk to the endpoint. The API key is held here only; it is never logged or written."""

    base_url: str
    model: str
    endpoint: str = "chat"
    output_tokens: int = 128
    ignore_eos: bool = True
    stall_timeout_s: float = 30.0
    request_timeout_s: float = 600.0
    think_time_s: float = 0.0
    follow_redirects: bool = False
    """Follow 3xx redirects to the same host (scheme, host and port); others are an error that names the target."""
    api_key: str | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return "/chat/completions" if self.endpoint == "chat" else "/completions"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def body(self, prompt: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.output_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.endpoint == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if self.ignore_eos:
            body["ignore_eos"] = True
            body["min_tokens"] = self.output_tokens
        return body


def normalise_base_url(url: str) -> str:
    """`http://host:8000` or `.../v1` or `.../v1/chat/completions` -> `http://host:8000/v1`."""
    url = url.rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        url = url.removesuffix(suffix)
    return url if url.endswith("/v1") else url + "/v1"


SHORT_OUTPUT_FRACTION = 0.5
"""A stream that produced fewer than this share of the tokens asked for (with ignore_eos) is flagged short."""
MAX_REDIRECTS = 3


class BadResponse(ValueError):
    """A chunk whose JSON has the wrong shape; the message names the offending field."""


def _usage_count(usage: dict[str, Any], name: str) -> int | None:
    value = usage.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadResponse(f"usage.{name}: expected a whole number, got {value!r}"[:200])
    return value


@dataclass(frozen=True)
class Chunk:
    """What one streamed JSON chunk carries."""

    text: str
    usage: dict[str, Any] | None
    tokens: int
    """Choices that carry a generated token: a content (or reasoning, or completion text) field, even an empty one
    (byte-fallback and partial UTF-8 tokens stream as empty text), in a delta that is not the opening role chunk, and
    not an empty closing chunk that only gives the finish reason."""
    finish_reason: str | None


def parse_chunk(obj: Any) -> Chunk:
    """What one streamed JSON chunk carries; BadResponse names a field of the wrong shape."""
    if not isinstance(obj, dict):
        raise BadResponse(f"chunk: expected an object, got {type(obj).__name__}")
    usage = obj.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise BadResponse(f"usage: expected an object, got {type(usage).__name__}")
    choices = obj.get("choices")
    if choices is None:
        choices = []
    if not isinstance(choices, list):
        raise BadResponse(f"choices: expected a list, got {type(choices).__name__}")
    text, tokens, finish = "", 0, None
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise BadResponse(f"choices[{i}]: expected an object, got {type(choice).__name__}")
        delta = choice.get("delta")
        if delta is None:
            delta = {}
        if not isinstance(delta, dict):
            raise BadResponse(f"choices[{i}].delta: expected an object, got {type(delta).__name__}")
        reason = choice.get("finish_reason")
        finish = finish or (reason if isinstance(reason, str) else None)
        carried = False
        own = ""
        for where, value in (
            ("delta.content", delta.get("content")),
            ("delta.reasoning_content", delta.get("reasoning_content")),
            ("delta.reasoning", delta.get("reasoning")),
            ("text", choice.get("text")),
        ):
            if value is not None and not isinstance(value, str):
                raise BadResponse(f"choices[{i}].{where}: expected a string, got {type(value).__name__}")
            carried = carried or value is not None
            own = own or (value or "")
        text = text or own
        if carried and "role" not in delta and (own or not isinstance(reason, str)):
            tokens += 1
    return Chunk(text, usage, tokens, finish)


INTERRUPTED = (
    "the server ended the stream with [DONE] but no token and no finish reason: it stopped this request (llama-cpp-python "
    "stops a running stream when another request arrives unless started with --interrupt_requests False)"
)


def _same_host(a: str, b: str) -> bool:
    from urllib.parse import urlsplit

    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


async def stream_one(session: aiohttp.ClientSession, cfg: BenchConfig, prompt: str, record: RequestRecord) -> RequestRecord:
    """Send one streaming request and fill `record` with its timestamps, usage or error class."""
    clock = time.perf_counter_ns
    record.sent_ns = clock()
    done = False
    closed: asyncio.Future[None] | None = None
    url = cfg.base_url + cfg.path
    try:
        async with asyncio.timeout(cfg.request_timeout_s):
            for _ in range(MAX_REDIRECTS + 1):
                resp = await session.post(url, json=cfg.body(prompt), headers=cfg.headers(), allow_redirects=False)
                if resp.status not in (301, 302, 303, 307, 308):
                    break
                location = str(resp.url.join(aiohttp.helpers.URL(resp.headers.get("Location", ""))))
                resp.release()
                if not (cfg.follow_redirects and _same_host(url, location)):
                    why = "" if cfg.follow_redirects else " (pass --follow-redirects to follow same-host redirects)"
                    record.error, record.error_detail = "redirect", f"{resp.status} to {location}{why}"[:300]
                    return record
                record.redirected_to = url = location
            async with resp:
                record.status = resp.status
                record.first_byte_ns = clock()
                # Resolves when the connection goes, with an exception when it was reset: a body read to EOF ends
                # quietly either way, so this is how a reset is told from a close.
                protocol = resp.connection.protocol if resp.connection is not None else None
                closed = protocol.closed if protocol is not None else None
                if resp.status >= 300:
                    text = (await resp.content.read(300)).decode(errors="replace")
                    record.error = "http_4xx" if 400 <= resp.status < 500 else "http_5xx" if resp.status >= 500 else "redirect"
                    record.error_detail = f"{resp.status}: {text}"
                    return record
                async for raw in resp.content:
                    line = raw.strip()
                    if not line or line.startswith(b":"):
                        continue
                    if not line.startswith(b"data:"):
                        if line.startswith((b"event:", b"id:", b"retry:")):
                            continue
                        record.error, record.error_detail = "malformed_sse", line[:200].decode(errors="replace")
                        return record
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        break
                    try:
                        obj = json.loads(data)
                    except (ValueError, RecursionError):
                        record.error, record.error_detail = "malformed_json", data[:200].decode(errors="replace")
                        return record
                    if isinstance(obj, dict) and obj.get("error"):
                        record.error, record.error_detail = "http_5xx", str(obj["error"])[:200]
                        return record
                    try:
                        chunk = parse_chunk(obj)
                    except BadResponse as exc:
                        record.error, record.error_detail = "bad_response", str(exc)
                        return record
                    text, usage = chunk.text, chunk.usage
                    record.token_chunks += chunk.tokens
                    record.finish_reason = record.finish_reason or chunk.finish_reason
                    if text:
                        record.text_parts.append(text)
                    if record.response_id is None and isinstance(obj.get("id"), str):
                        record.response_id = obj["id"][:200]
                    if usage is not None:
                        try:
                            completion, prompt_tokens = _usage_count(usage, "completion_tokens"), _usage_count(usage, "prompt_tokens")
                        except BadResponse as exc:
                            record.error, record.error_detail = "bad_response", str(exc)
                            return record
                        if completion is not None:
                            record.usage_output_tokens = completion
                            record.usage_prompt_tokens = prompt_tokens
                    if text:
                        now = clock()
                        if not record.first_token_ns:
                            record.first_token_ns = now
                        record.chunk_ns.append(now)
        if not done:
            await asyncio.sleep(0)
            lost = closed.exception() if closed is not None and closed.done() else None
            if lost is not None:
                record.error, record.error_detail = "reset", str(lost)[:200]
            else:
                record.error, record.error_detail = "no_done", "stream ended without [DONE]"
        elif not record.chunk_ns and record.finish_reason is None and record.usage_output_tokens is None:
            record.error, record.error_detail = "interrupted", INTERRUPTED
        elif not record.chunk_ns:
            record.error, record.error_detail = (
                "empty",
                f"the stream finished ({record.finish_reason or 'no reason given'}) without any content",
            )
        else:
            if record.usage_output_tokens is None and record.finish_reason == "length":
                record.counted_tokens, record.token_method = cfg.output_tokens, "max_tokens"  # it stopped at the limit asked
            if cfg.ignore_eos and record.output_tokens < SHORT_OUTPUT_FRACTION * cfg.output_tokens:
                record.short = True
    except aiohttp.ClientConnectorError as exc:
        record.error, record.error_detail = "connect", str(exc)[:200]
    except aiohttp.ConnectionTimeoutError:
        record.error, record.error_detail = "connect_timeout", "no connection within the connect timeout"
    except aiohttp.ServerTimeoutError:
        record.error, record.error_detail = "stall", f"no data for {cfg.stall_timeout_s:g} s"
    except TimeoutError:
        record.error, record.error_detail = "timeout", f"over {cfg.request_timeout_s:g} s"
    except LineTooLong as exc:
        record.error, record.error_detail = "line_too_long", " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionResetError) as exc:
        record.error, record.error_detail = "reset", str(exc)[:200] or type(exc).__name__
    except aiohttp.ClientError as exc:
        record.error, record.error_detail = "reset", f"{type(exc).__name__}: {exc}"[:200]
    finally:
        record.end_ns = clock()
    return record


class LoopMonitor:
    """Measures event-loop lag (how late a 10 ms sleep wakes) and the client's CPU share while running."""

    interval_s = 0.01

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._cpu0 = self._wall0 = 0.0

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            self.lags_ms.append((time.perf_counter() - start - self.interval_s) * MS_PER_S)

    def start(self) -> None:
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        """Stop; returns CPU seconds / wall seconds over the run."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        wall = time.perf_counter() - self._wall0
        return (time.process_time() - self._cpu0) / wall if wall > 0 else 0.0


def make_client(cfg: BenchConfig, concurrency: int) -> aiohttp.ClientSession:
    """A session with one connection per concurrent stream; a read gap over the stall timeout fails the request."""
    connector = aiohttp.TCPConnector(limit=max(16, concurrency * 2), force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=cfg.stall_timeout_s)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False)


PROBE_OUTPUT_TOKENS = 16
"""Tokens the probe asks for: enough text to see whether the server streams one token a chunk."""
DEFAULT_TOKENS_PER_WORD = 1.33
"""English text without a tokenizer: about 0.75 words per token (OpenAI's rule of thumb,
https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them)."""


async def _count_tokens(client: aiohttp.ClientSession, cfg: BenchConfig, text: str) -> int | None:
    """Token count of `text` from the server's own tokenizer endpoint (vLLM and SGLang `/tokenize` with `prompt`,
    llama.cpp's `/tokenize` with `content`), or None when it has none."""
    root = cfg.base_url.removesuffix("/v1")
    for body in ({"model": cfg.model, "prompt": text}, {"content": text}):
        try:
            async with client.post(root + "/tokenize", json=body, headers=cfg.headers(), allow_redirects=False) as resp:
                if resp.status != 200:
                    continue
                doc = await resp.json(content_type=None)
        except (aiohttp.ClientError, ValueError, TimeoutError):
            continue
        if isinstance(doc, dict):
            count = doc.get("count")
            tokens = doc.get("tokens")
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                return count
            if isinstance(tokens, list) and tokens:
                return len(tokens)
    return None


@dataclass(frozen=True)
class Probe:
    """What the first request learned about the endpoint."""

    words: int
    """Words of synthetic prompt that make the prompt length asked for."""
    tokens_per_word: float
    sized_by: str
    """usage (the server's reported prompt tokens), tokenizer (its /tokenize endpoint) or default (no count known)."""
    reports_usage: bool
    tokens_per_chunk: float | None = None
    """Without usage: the server's tokenizer count of the probe's streamed text over the chunks that carried it (1: one
    token a chunk, so counting chunks is exact); None when the server has no tokenizer endpoint or reports usage."""


async def probe(cfg: BenchConfig, prompt_tokens: int, vocabulary: tuple[str, ...] = WORDS) -> Probe:
    """Check the endpoint answers, and size the synthetic prompt from the server's reported usage, else its
    tokenizer endpoint, else the default tokens per word (said so in the summary's warnings).

    Raises EndpointError with one clear line.
    """
    words = max(1, prompt_tokens)
    text = synthetic_prompt(words, vocabulary=vocabulary)
    async with make_client(cfg, 1) as client:
        record = RequestRecord(level=0, index=-1, intended_ns=time.perf_counter_ns())
        short = BenchConfig(**{**cfg.__dict__, "output_tokens": PROBE_OUTPUT_TOKENS, "ignore_eos": False})
        await stream_one(client, short, text, record)
        counted = None if record.usage_prompt_tokens else await _count_tokens(client, cfg, text)
        streamed = "".join(record.text_parts)
        in_text = await _count_tokens(client, cfg, streamed) if record.usage_output_tokens is None and streamed.strip() else None
    if record.error in ("connect", "connect_timeout"):
        raise EndpointError(f"cannot connect ({record.error_detail})", path=cfg.base_url)
    if record.error in ("http_4xx", "http_5xx", "redirect"):
        raise EndpointError(f"the endpoint answered {record.error_detail}", path=cfg.base_url + cfg.path)
    if record.error in ("timeout", "stall"):
        raise EndpointError(f"the endpoint did not answer ({record.error_detail})", path=cfg.base_url)
    if record.usage_prompt_tokens:
        per_word, sized_by = record.usage_prompt_tokens / words, "usage"
    elif counted:
        per_word, sized_by = counted / words, "tokenizer"
    else:
        per_word, sized_by = DEFAULT_TOKENS_PER_WORD, "default"
    per_chunk = in_text / record.token_chunks if in_text and record.token_chunks else None
    return Probe(max(1, round(prompt_tokens / per_word)), per_word, sized_by, record.usage_output_tokens is not None, per_chunk)


async def run_closed_loop(
    cfg: BenchConfig,
    *,
    concurrency: int,
    indices: list[int],
    prompt_of: Callable[[int], str],
    on_done: Callable[[RequestRecord], None],
    seed: int,
    ramp_up_s: float = 0.0,
    jitter_s: float = 0.0,
) -> list[RequestRecord]:
    """`concurrency` users sending the requests `indices`, each its next when the last finished (plus exponential think
    time); user k starts `k x ramp_up_s / concurrency` late, and every send waits a uniform [0, jitter_s) extra."""
    queue = iter(indices)
    records: list[RequestRecord] = []
    rng = random.Random(seed)

    async def user(client: aiohttp.ClientSession, k: int) -> None:
        if ramp_up_s > 0:
            await asyncio.sleep(k * ramp_up_s / concurrency)
        for index in queue:
            if jitter_s > 0:
                await asyncio.sleep(rng.uniform(0, jitter_s))
            record = RequestRecord(level=concurrency, index=index, intended_ns=time.perf_counter_ns())
            await stream_one(client, cfg, prompt_of(index), record)
            records.append(record)
            on_done(record)
            if cfg.think_time_s > 0:
                await asyncio.sleep(rng.expovariate(1.0 / cfg.think_time_s))

    async with make_client(cfg, concurrency) as client:
        await asyncio.gather(*(user(client, k) for k in range(min(concurrency, len(indices)))))
    return records


async def send_on_schedule(
    cfg: BenchConfig, sends: Iterable[tuple[float, Callable[[aiohttp.ClientSession, int], Awaitable[None]]]], *, pool: int
) -> None:
    """Start each send at its offset (s from now; offsets in order) on one client of `pool` connections, and wait for
    all: a send's intended time (ns) is start + offset, however late the client gets it out."""
    start = time.perf_counter_ns()
    async with make_client(cfg, pool) as client:
        tasks = []
        for offset_s, send in sends:
            intended = start + int(offset_s * NS_PER_S)
            delay = ns_to_s(intended - time.perf_counter_ns())
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(client, intended)))
        await asyncio.gather(*tasks)


async def run_open_loop(
    cfg: BenchConfig,
    *,
    rate_per_s: float,
    indices: list[int],
    prompt_of: Callable[[int], str],
    on_done: Callable[[RequestRecord], None],
    seed: int,
    level: int,
    jitter_s: float = 0.0,
) -> list[RequestRecord]:
    """Poisson arrivals at `rate_per_s` for the requests `indices`; each request's intended send time is its arrival
    (plus a uniform [0, jitter_s) jitter), however late it goes out."""
    rng = random.Random(seed)
    records: list[RequestRecord] = []
    offsets: list[float] = list(itertools.accumulate(rng.expovariate(rate_per_s) for _ in indices))

    def sender(index: int) -> Callable[[aiohttp.ClientSession, int], Awaitable[None]]:
        async def send(client: aiohttp.ClientSession, intended_ns: int) -> None:
            record = RequestRecord(level=level, index=index, intended_ns=intended_ns)
            await stream_one(client, cfg, prompt_of(index), record)
            records.append(record)
            on_done(record)

        return send

    schedule = (
        (offset + (rng.uniform(0, jitter_s) if jitter_s > 0 else 0.0), sender(index))
        for index, offset in zip(indices, offsets, strict=True)
    )
    await send_on_schedule(cfg, schedule, pool=max(16, int(rate_per_s * 30)))
    return records
