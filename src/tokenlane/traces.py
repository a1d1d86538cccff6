"""Request traces: a day of real requests read from a log, replayed by the simulator as they happened.

Formats (only timestamps and token counts are read; any other field of a log, personal data included, is ignored):

- `mooncake`: JSONL, one request per line: `timestamp` (ms from the trace start), `input_length`, `output_length`,
  `hash_ids` (one id per 512-token prompt block; equal ids are equal prefixes).
  # Source: kvcache-ai/Mooncake FAST25-release/traces (Qin et al., "Mooncake", FAST 2025).
- `azure`: CSV with `TIMESTAMP` (ISO date and time), `ContextTokens`, `GeneratedTokens`.
  # Source: Azure/AzurePublicDataset AzureLLMInferenceTrace (Patel et al., "Splitwise", ISCA 2024).
- `openai-log`: JSONL of OpenAI-compatible responses (each line the response, or `{"response": {...}}`): `created`
  (Unix seconds), `usage.prompt_tokens`, `usage.completion_tokens`, and `usage.prompt_tokens_details.cached_tokens`
  when present — the server's own count of cached prompt tokens, used as the request's hits.
  # Source: OpenAI API reference, chat completion object (platform.openai.com/docs/api-reference/chat/object).
- `csv`: any CSV with a header; `columns` names the timestamp, input-token and output-token columns. A timestamp is
  a number (seconds, or milliseconds with `timestamp_unit: ms`) or an ISO date and time.

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
from typing import Literal, get_args

import numpy as np

from tokenlane.errors import InputError
from tokenlane.files import regular_file

TraceFormat = Literal["mooncake", "azure", "openai-log", "csv"]
TRACE_FORMATS: tuple[str, ...] = get_args(TraceFormat)
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
    logged_cached: np.ndarray
    """Cached prompt tokens the log itself reports (openai-log), -1 where it reports none."""

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last arrival."""
        return float(self.arrival_s[-1] - self.arrival_s[0]) if len(self) else 0.0

    def cached_tokens(self, block_tokens: int) -> np.ndarray:
        """Prompt tokens found in a prefix cache: the log's own count where it has one, else hit blocks x block
        size; at most the prompt less one token."""
        hits = np.where(self.logged_cached >= 0, self.logged_cached, self.hit_blocks * block_tokens)
        return np.minimum(hits, self.prompt_tokens - 1)


@dataclass(frozen=True)
class CsvColumns:
    """Which columns of a generic CSV trace hold what."""

    timestamp: str
    input: str
    output: str
    timestamp_ms: bool = False
    """Numeric timestamps are milliseconds (else seconds)."""


def read_trace(path: str | Path, fmt: str, *, max_requests: int, columns: CsvColumns | None = None) -> Trace:
    """Read a trace file (a regular file; streamed line by line, refused past `max_requests`). Errors name the file,
    line and column. The last few traces read are kept, keyed by file, format, size and modification time."""
    info = regular_file(path, what="trace")
    if fmt not in TRACE_FORMATS:
        raise InputError(f"unknown trace format '{fmt}'; use one of {', '.join(TRACE_FORMATS)}", path=str(path))
    if (fmt == "csv") != (columns is not None):
        raise InputError("a csv trace needs `columns` (timestamp, input, output), and only a csv trace takes them", path=str(path))
    return _read_cached(str(path), fmt, max_requests, columns, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=4)
def _read_cached(name: str, fmt: str, max_requests: int, columns: CsvColumns | None, mtime_ns: int, size: int) -> Trace:
    """The trace at `name`; `mtime_ns` and `size` only key the cache, so a changed file is read again."""
    if fmt == "mooncake":
        rows = _mooncake_rows(name)
    elif fmt == "openai-log":
        rows = _openai_rows(name)
    else:
        azure = CsvColumns("TIMESTAMP", "ContextTokens", "GeneratedTokens")
        rows = _csv_rows(name, columns or azure)
    arrival: list[float] = []
    prompt: list[int] = []
    output: list[int] = []
    hits: list[int] = []
    logged: list[int] = []
    seen: set[int] = set()
    for line, t, p, o, hashes, cached in rows:
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
        logged.append(cached)
    if not arrival:
        raise InputError("the trace has no requests", path=name)
    start = arrival[0]
    return Trace(
        np.asarray(arrival, dtype=float) - start,
        np.asarray(prompt, dtype=np.int64),
        np.asarray(output, dtype=np.int64),
        np.asarray(hits, dtype=np.int64),
        np.asarray(logged, dtype=np.int64),
    )


Row = tuple[int, float, int, int, list[int], int]
"""(line number, arrival s, prompt tokens, output tokens, prefix block hashes, cached tokens the log reports or -1)."""


def _count(value: object, column: str, line: int, name: str) -> int:
    """A token count: a whole number in 1..MAX_TOKENS."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() else text
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS:
        raise InputError(f"line {line}: {column} must be a whole number of tokens from 1 to {MAX_TOKENS:,}, got {value!r}", path=name)
    return value


def _lines(name: str) -> Iterator[tuple[int, str]]:
    try:
        with open(name, encoding="utf-8-sig", newline="") as f:
            yield from enumerate(f, start=1)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=name) from exc


def _json_records(name: str) -> Iterator[tuple[int, dict[str, object]]]:
    """(line number, object) of each non-blank line of a JSONL file."""
    for line, text in _lines(name):
        if not text.strip():
            continue
        try:
            rec = json.loads(text, parse_constant=lambda c: None)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {line}: not JSON ({exc.msg})", path=name) from exc
        if not isinstance(rec, dict):
            raise InputError(f"line {line}: expected a JSON object per line", path=name)
        yield line, rec


def _seconds(value: object, column: str, line: int, name: str, *, scale: float = 1.0) -> float:
    """A non-negative finite number of `1/scale` seconds, in seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InputError(f"line {line}: {column} must be a non-negative number, got {value!r}", path=name)
    return value / scale


def _mooncake_rows(name: str) -> Iterator[Row]:
    for line, rec in _json_records(name):
        missing = [k for k in ("timestamp", "input_length", "output_length") if k not in rec]
        if missing:
            raise InputError(f"line {line}: missing {', '.join(missing)}", path=name)
        t = _seconds(rec["timestamp"], "timestamp (ms)", line, name, scale=1000.0)
        hashes = rec.get("hash_ids", [])
        if not isinstance(hashes, list) or not all(isinstance(h, int) and not isinstance(h, bool) for h in hashes):
            raise InputError(f"line {line}: hash_ids must be a list of whole numbers", path=name)
        prompt = _count(rec["input_length"], "input_length", line, name)
        yield line, t, prompt, _count(rec["output_length"], "output_length", line, name), hashes, -1


def _openai_rows(name: str) -> Iterator[Row]:
    for line, rec in _json_records(name):
        body = rec.get("response", rec)
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(body, dict) or "created" not in body or not isinstance(usage, dict):
            raise InputError(f"line {line}: expected a response with `created` and `usage`", path=name)
        t = _seconds(body["created"], "created", line, name)
        prompt = _count(usage.get("prompt_tokens"), "usage.prompt_tokens", line, name)
        output = _count(usage.get("completion_tokens"), "usage.completion_tokens", line, name)
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        if cached is None:
            cached = -1
        elif isinstance(cached, bool) or not isinstance(cached, int) or not 0 <= cached <= prompt:
            raise InputError(f"line {line}: usage.prompt_tokens_details.cached_tokens must be 0..prompt_tokens, got {cached!r}", path=name)
        yield line, t, prompt, output, [], cached


def _csv_rows(name: str, columns: CsvColumns) -> Iterator[Row]:
    reader = csv.reader(text for _, text in _lines(name))
    header = next(reader, None)
    wanted = (columns.timestamp, columns.input, columns.output)
    missing = [c for c in wanted if header is None or c not in header]
    if header is None or missing:
        raise InputError(f"line 1: the header lacks {', '.join(missing)} (it must name {', '.join(wanted)})", path=name)
    at = [header.index(c) for c in wanted]
    for row in reader:
        line = reader.line_num
        if not row:
            continue
        if len(row) < len(header):
            raise InputError(f"line {line}: {len(row)} columns, the header has {len(header)}", path=name)
        stamp = row[at[0]].strip()
        try:
            t = _seconds(float(stamp), columns.timestamp, line, name, scale=1000.0 if columns.timestamp_ms else 1.0)
        except ValueError:
            try:
                when = datetime.fromisoformat(stamp)
            except ValueError as exc:
                raise InputError(f"line {line}: {columns.timestamp} is not a number or a date and time ({stamp!r})", path=name) from exc
            t = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        yield line, t, _count(row[at[1]], columns.input, line, name), _count(row[at[2]], columns.output, line, name), [], -1


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
