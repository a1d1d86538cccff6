"""The bench client: streams requests to an OpenAI-compatible endpoint and records what each one measured.

Every failure mode of a server becomes a classified error on its record, never a crash or a hang: refused or
reset connections, 4xx/5xx, stalls mid-stream (read timeout), malformed SSE or JSON, a stream without [DONE],
and an overall per-request deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tokenlane.bench.prompts import synthetic_prompt
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


async def stream_one(session: aiohttp.ClientSession, cfg: BenchConfig, prompt: str, record: RequestRecord) -> RequestRecord:
    """Send one streaming request and fill `record` with its timestamps, usage or error class."""
    clock = time.perf_counter_ns
    record.sent_ns = clock()
    done = False
    try:
        async with asyncio.timeout(cfg.request_timeout_s):
            async with session.post(cfg.base_url + cfg.path, json=cfg.body(prompt), headers=cfg.headers()) as resp:
                record.status = resp.status
                record.first_byte_ns = clock()
                if resp.status >= 400:
                    text = (await resp.content.read(300)).decode(errors="replace")
                    record.error = "http_4xx" if resp.status < 500 else "http_5xx"
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
                    except ValueError:
                        record.error, record.error_detail = "malformed_json", data[:200].decode(errors="replace")
                        return record
                    if not isinstance(obj, dict):
                        record.error, record.error_detail = "malformed_json", data[:200].decode(errors="replace")
                        return record
                    if obj.get("error"):
                        record.error, record.error_detail = "http_5xx", str(obj["error"])[:200]
                        return record
                    if record.response_id is None and isinstance(obj.get("id"), str):
                        record.response_id = obj["id"]
                    usage = obj.get("usage")
                    if isinstance(usage, dict) and usage.get("completion_tokens") is not None:
                        record.usage_output_tokens = int(usage["completion_tokens"])
                        record.usage_prompt_tokens = usage.get("prompt_tokens")
                    for choice in obj.get("choices") or ():
                        delta = choice.get("delta") or {}
                        text = delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning") or choice.get("text")
                        if text:
                            now = clock()
                            if not record.first_token_ns:
                                record.first_token_ns = now
                            record.chunk_ns.append(now)
        if not done:
            record.error, record.error_detail = "no_done", "stream ended without [DONE]"
    except aiohttp.ClientConnectorError as exc:
        record.error, record.error_detail = "connect", str(exc)[:200]
    except aiohttp.ServerTimeoutError:
        record.error, record.error_detail = "stall", f"no data for {cfg.stall_timeout_s:g} s"
    except TimeoutError:
        record.error, record.error_detail = "timeout", f"over {cfg.request_timeout_s:g} s"
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
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


async def probe(cfg: BenchConfig, prompt_tokens: int) -> tuple[int, float]:
    """Check the endpoint answers, and size the synthetic prompt from the server's reported usage.

    Returns (words for `prompt_tokens` tokens, tokens per word measured). Raises EndpointError with one clear line.
    """
    async with make_client(cfg, 1) as client:
        words = max(1, prompt_tokens)
        record = RequestRecord(level=0, index=-1, intended_ns=time.perf_counter_ns())
        short = BenchConfig(**{**cfg.__dict__, "output_tokens": 1, "ignore_eos": False})
        await stream_one(client, short, synthetic_prompt(words), record)
    if record.error == "connect":
        raise EndpointError(f"cannot connect ({record.error_detail})", path=cfg.base_url)
    if record.error in ("http_4xx", "http_5xx"):
        raise EndpointError(f"the endpoint answered {record.error_detail}", path=cfg.base_url + cfg.path)
    if record.error in ("timeout", "stall"):
        raise EndpointError(f"the endpoint did not answer ({record.error_detail})", path=cfg.base_url)
    reported = record.usage_prompt_tokens
    per_word = reported / words if reported else 1.0
    return max(1, round(prompt_tokens / per_word)), per_word


async def run_closed_loop(
    cfg: BenchConfig,
    *,
    concurrency: int,
    requests: int,
    prompt_of: Callable[[int], str],
    first_index: int,
    on_done: Callable[[RequestRecord], None],
    seed: int,
) -> list[RequestRecord]:
    """`concurrency` users, each sending its next request when the last finished (plus exponential think time)."""
    counter = itertools.count(first_index)
    records: list[RequestRecord] = []
    rng = random.Random(seed)

    async def user(client: aiohttp.ClientSession) -> None:
        while (index := next(counter)) < first_index + requests:
            record = RequestRecord(level=concurrency, index=index, intended_ns=time.perf_counter_ns())
            await stream_one(client, cfg, prompt_of(index), record)
            records.append(record)
            on_done(record)
            if cfg.think_time_s > 0:
                await asyncio.sleep(rng.expovariate(1.0 / cfg.think_time_s))

    async with make_client(cfg, concurrency) as client:
        await asyncio.gather(*(user(client) for _ in range(min(concurrency, requests))))
    return records


async def run_open_loop(
    cfg: BenchConfig,
    *,
    rate_per_s: float,
    requests: int,
    prompt_of: Callable[[int], str],
    first_index: int,
    on_done: Callable[[RequestRecord], None],
    seed: int,
    level: int,
) -> list[RequestRecord]:
    """Poisson arrivals at `rate_per_s`; each request's intended send time is its arrival, however late it goes out."""
    rng = random.Random(seed)
    records: list[RequestRecord] = []
    start = time.perf_counter_ns()
    offsets: list[float] = list(itertools.accumulate(rng.expovariate(rate_per_s) for _ in range(requests)))

    async def send(client: aiohttp.ClientSession, index: int, intended_ns: int) -> None:
        record = RequestRecord(level=level, index=index, intended_ns=intended_ns)
        await stream_one(client, cfg, prompt_of(index), record)
        records.append(record)
        on_done(record)

    async with make_client(cfg, max(16, int(rate_per_s * 30))) as client:
        tasks = []
        for i, offset in enumerate(offsets):
            intended = start + int(offset * NS_PER_S)
            delay = ns_to_s(intended - time.perf_counter_ns())
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(client, first_index + i, intended)))
        await asyncio.gather(*tasks)
    return records
