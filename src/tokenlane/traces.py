"""Request traces: a day of real requests read from a log, replayed by the simulator as they happened.

Formats (only timestamps and token counts are read; any other field of a log, personal data included, is ignored):

- `mooncake`: JSONL, one request per line: `timestamp` (ms from the trace start), `input_length`, `output_length`,
  `hash_ids` (one id per 512-token prompt block; equal ids are equal prefixes).
  # Source: kvcache-ai/Mooncake FAST25-release/traces (Qin et al., "Mooncake", FAST 2025).
- `azure`: CSV with `TIMESTAMP` (ISO date and time), `ContextTokens`, `GeneratedTokens`.
  # Source: Azure/AzurePublicDataset AzureLLMInferenceTrace (Patel et al., "Splitwise", ISCA 2024).

Prefix-cache hits from `hash_ids`: a request's leading blocks that an earlier request of the trace already sent are
hits (an unbounded cache: an upper bound on what a real engine or API keeps), at most the prompt less one token.
"""

from __future__ import annotations

import csv
import functools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tokenlane.errors import InputError
from tokenlane.files import regular_file

TRACE_FORMATS = ("mooncake", "azure")
MAX_TOKENS = 10_000_000
"""Largest prompt or output of one request, tokens (as for a scenario)."""


@dataclass(frozen=True)
class Trace:
    """A trace's requests in arrival order, as parallel arrays."""

    arrival_s: np.ndarray
    """Seconds from the trace's first request."""
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    hit_blocks: np.ndarray
    """Leading prompt blocks an earlier request already sent (0 for formats without block hashes)."""

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last arrival."""
        return float(self.arrival_s[-1] - self.arrival_s[0]) if len(self) else 0.0

    def cached_tokens(self, block_tokens: int) -> np.ndarray:
        """Prompt tokens found in a prefix cache: hit blocks x block size, at most the prompt less one token."""
        return np.minimum(self.hit_blocks * block_tokens, self.prompt_tokens - 1)


def read_trace(path: str | Path, fmt: str, *, max_requests: int) -> Trace:
    """Read a trace file (a regular file; streamed line by line, refused past `max_requests`). Errors name the file,
    line and column. The last few traces read are kept, keyed by file, format, size and modification time."""
    info = regular_file(path, what="trace")
    if fmt not in TRACE_FORMATS:
        raise InputError(f"unknown trace format '{fmt}'; use one of {', '.join(TRACE_FORMATS)}", path=str(path))
    return _read_cached(str(path), fmt, max_requests, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=4)
def _read_cached(name: str, fmt: str, max_requests: int, mtime_ns: int, size: int) -> Trace:
    """The trace at `name`; `mtime_ns` and `size` only key the cache, so a changed file is read again."""
    rows = _mooncake_rows(name) if fmt == "mooncake" else _azure_rows(name)
    arrival: list[float] = []
    prompt: list[int] = []
    output: list[int] = []
    hits: list[int] = []
    seen: set[int] = set()
    for line, t, p, o, hashes in rows:
        if arrival and t < arrival[-1]:
            raise InputError(f"line {line}: timestamp goes back in time (the trace must be sorted by arrival)", path=name)
        if len(arrival) >= max_requests:
            raise InputError(
                f"line {line}: more than {max_requests:,} requests (one simulated day's limit); replay a shorter period", path=name
            )
        lead = 0
        while lead < len(hashes) and hashes[lead] in seen:
            lead += 1
        seen.update(hashes)
        arrival.append(t)
        prompt.append(p)
        output.append(o)
        hits.append(lead)
    if not arrival:
        raise InputError("the trace has no requests", path=name)
    start = arrival[0]
    return Trace(
        np.asarray(arrival, dtype=float) - start,
        np.asarray(prompt, dtype=np.int64),
        np.asarray(output, dtype=np.int64),
        np.asarray(hits, dtype=np.int64),
    )


Row = tuple[int, float, int, int, list[int]]
"""(line number, arrival s, prompt tokens, output tokens, prefix block hashes)."""


def _count(value: object, column: str, line: int, name: str) -> int:
    """A token count: a whole number in 1..MAX_TOKENS."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isdigit() else text
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS:
        raise InputError(f"line {line}: {column} must be a whole number of tokens from 1 to {MAX_TOKENS:,}, got {value!r}", path=name)
    return value


def _lines(name: str) -> Iterator[tuple[int, str]]:
    try:
        with open(name, encoding="utf-8-sig", newline="") as f:
            yield from enumerate(f, start=1)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=name) from exc


def _mooncake_rows(name: str) -> Iterator[Row]:
    for line, text in _lines(name):
        if not text.strip():
            continue
        try:
            rec = json.loads(text, parse_constant=lambda c: None)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {line}: not JSON ({exc.msg})", path=name) from exc
        if not isinstance(rec, dict):
            raise InputError(f"line {line}: expected a JSON object per line", path=name)
        missing = [k for k in ("timestamp", "input_length", "output_length") if k not in rec]
        if missing:
            raise InputError(f"line {line}: missing {', '.join(missing)}", path=name)
        t = rec["timestamp"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise InputError(f"line {line}: timestamp must be a non-negative number of milliseconds, got {t!r}", path=name)
        hashes = rec.get("hash_ids", [])
        if not isinstance(hashes, list) or not all(isinstance(h, int) and not isinstance(h, bool) for h in hashes):
            raise InputError(f"line {line}: hash_ids must be a list of whole numbers", path=name)
        prompt = _count(rec["input_length"], "input_length", line, name)
        yield line, t / 1000.0, prompt, _count(rec["output_length"], "output_length", line, name), hashes


def _azure_rows(name: str) -> Iterator[Row]:
    lines = _lines(name)
    reader = csv.reader(text for _, text in lines)
    header = next(reader, None)
    columns = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
    if header is None or any(c not in header for c in columns):
        raise InputError(f"line 1: the header must name {', '.join(columns)}", path=name)
    at = [header.index(c) for c in columns]
    for row in reader:
        line = reader.line_num
        if not row:
            continue
        if len(row) < len(header):
            raise InputError(f"line {line}: {len(row)} columns, the header has {len(header)}", path=name)
        stamp = row[at[0]].strip()
        try:
            when = datetime.fromisoformat(stamp)
            t = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        except ValueError as exc:
            raise InputError(f"line {line}: TIMESTAMP is not a date and time ({stamp!r})", path=name) from exc
        yield line, t, _count(row[at[1]], "ContextTokens", line, name), _count(row[at[2]], "GeneratedTokens", line, name), []


def write_mooncake(
    path: str | Path,
    arrival_s: np.ndarray,
    prompt_tokens: np.ndarray,
    cached_tokens: np.ndarray,
    output_tokens: np.ndarray,
    *,
    block_tokens: int = 512,
) -> int:
    """Write requests as Mooncake-style JSONL (`timestamp` ms from the start of the day, lengths, `hash_ids`), in
    arrival order; returns the number written.

    Block ids keep each request's cached prefix: its first cached_tokens // block_tokens blocks are ids 0, 1, ... of
    one shared chain and the rest are fresh ids, so read back its hits are that many blocks once an earlier request
    has reached that depth (the first request to reach a depth reads as a miss).
    """
    order = np.argsort(arrival_s, kind="stable")
    chain = int((cached_tokens // block_tokens).max()) if len(cached_tokens) else 0
    fresh = chain
    name = str(path)
    try:
        with open(name, "w", encoding="utf-8") as fh:
            for i in order.tolist():
                blocks = -(-int(prompt_tokens[i]) // block_tokens)
                shared = min(int(cached_tokens[i]) // block_tokens, blocks)
                ids = list(range(shared)) + list(range(fresh, fresh + blocks - shared))
                fresh += blocks - shared
                record = {
                    "timestamp": round(float(arrival_s[i]) * 1000.0),
                    "input_length": int(prompt_tokens[i]),
                    "output_length": int(output_tokens[i]),
                    "hash_ids": ids,
                }
                fh.write(json.dumps(record) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror or exc})", path=name) from exc
    return len(order)
