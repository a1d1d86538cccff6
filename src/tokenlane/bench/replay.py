"""Replay a request log against an endpoint: its arrival times (time-scaled), lengths and shared prefixes.

Each prompt is built from text blocks of `block_tokens` tokens, one block per prefix key, so requests that share
keys send byte-identical leading text and a server's prefix cache sees what production would:
- Mooncake `hash_ids`: one key per 512-token block of the log;
- sessions (litellm, csv `session`): a turn that resends the previous one (its prompt and output tokens, as in the
  log) starts with the previous turn's keys, then new keys;
- otherwise every block is new (a log's own cached-token counts say how much hit, not what was shared with whom).
The last block is cut to the request's prompt length. `max_tokens` is the log's output length, with `ignore_eos` /
`min_tokens` where the server honours them. Records carry the request's position in the log as `index`, so they
line up with `tokenlane simulate --per-request` of the same trace.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import aiohttp

from tokenlane.bench.client import BenchConfig, send_on_schedule, stream_one
from tokenlane.bench.prompts import EVEN_WORDS, synthetic_prompt
from tokenlane.bench.timing import RequestRecord
from tokenlane.traces import CsvColumns, check_trace, iter_rows

TRACE_LEVEL = 0
"""The level id a trace replay's records carry."""


@dataclass(frozen=True)
class ReplayRequest:
    """One request of the log, ready to send."""

    index: int
    at_s: float
    """Seconds after the replay starts (log time / speedup)."""
    prompt_tokens: int
    output_tokens: int
    keys: tuple[int, ...]
    """Prefix-block keys, in order; equal keys are equal text."""


def replay_requests(
    path: str, fmt: str, *, columns: CsvColumns | None, block_tokens: int, speedup: float, limit: int
) -> Iterator[ReplayRequest]:
    """The log's first `limit` requests with their block keys (errors name the file, line and column)."""
    check_trace(path, fmt, columns)
    fresh = itertools.count(-1, -1)  # new blocks get negative keys, apart from the log's own hashes
    context: dict[str, tuple[int, tuple[int, ...]]] = {}
    """session -> (previous turn's prompt + output tokens, its keys)."""
    start: float | None = None
    for index, row in enumerate(itertools.islice(iter_rows(path, fmt, columns), limit)):
        start = row.arrival_s if start is None else start
        blocks = -(-row.prompt // block_tokens)
        if row.hashes:
            keys = tuple(row.hashes[:blocks])
        else:
            keys = ()
            if row.session is not None and row.session in context:
                carried, previous = context[row.session]
                if carried < row.prompt:
                    keys = previous[: carried // block_tokens]
        keys += tuple(next(fresh) for _ in range(blocks - len(keys)))
        if row.session is not None:
            context[row.session] = (row.prompt + row.output, keys + tuple(next(fresh) for _ in range(-(-row.output // block_tokens))))
        yield ReplayRequest(index, (row.arrival_s - start) / speedup, row.prompt, row.output, keys)


@functools.lru_cache(maxsize=8192)
def _block_text(key: int, words: int) -> str:
    return synthetic_prompt(words, seed=key * 7_919 + 17, vocabulary=EVEN_WORDS)


def prompt_text(request: ReplayRequest, *, tokens_per_word: float, block_tokens: int) -> str:
    """The request's prompt: its blocks' text (EVEN_WORDS), cut to its length (words = tokens / tokens per word).

    A block is `block_tokens` / tokens per word words rounded up: at least a whole block on the server, which caches
    whole KV blocks (vLLM: 16 tokens), so a shared block is found whole rather than one KV block short.
    """
    block_words = math.ceil(block_tokens / tokens_per_word)
    total = max(1, round(request.prompt_tokens / tokens_per_word))
    parts: list[str] = []
    left = total
    for key in request.keys:
        if left <= 0:
            break
        text = _block_text(key, block_words)
        if left < block_words:
            text = " ".join(text.split(" ")[:left])
        parts.append(text)
        left -= block_words
    return " ".join(parts)


async def run_replay(
    cfg: BenchConfig,
    requests: list[ReplayRequest],
    *,
    tokens_per_word: float,
    block_tokens: int,
    on_done: Callable[[RequestRecord], None],
) -> list[RequestRecord]:
    """Send every request at its time (intended send = its arrival, however late it goes out) and wait for all."""
    records: list[RequestRecord] = []

    def sender(request: ReplayRequest) -> Callable[[aiohttp.ClientSession, int], Awaitable[None]]:
        async def send(client: aiohttp.ClientSession, intended_ns: int) -> None:
            record = RequestRecord(level=TRACE_LEVEL, index=request.index, intended_ns=intended_ns)
            one = dataclasses.replace(cfg, output_tokens=request.output_tokens)
            await stream_one(client, one, prompt_text(request, tokens_per_word=tokens_per_word, block_tokens=block_tokens), record)
            records.append(record)
            on_done(record)

        return send

    await send_on_schedule(cfg, ((r.at_s, sender(r)) for r in requests), pool=_peak_in_flight(requests))
    return records


def _peak_in_flight(requests: list[ReplayRequest], window_s: float = 30.0) -> int:
    """Most requests sent within any `window_s`: the connection pool to keep open."""
    times = [r.at_s for r in requests]
    peak, lo = 1, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window_s:
            lo += 1
        peak = max(peak, hi - lo + 1)
    return peak
