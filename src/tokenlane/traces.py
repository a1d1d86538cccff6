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
- `litellm`: LiteLLM proxy spend logs (the `LiteLLM_SpendLogs` table as JSONL, or the JSON list `/spend/logs`
  returns): `startTime` (ISO date and time), `prompt_tokens`, `completion_tokens`, and where present `user` /
  `end_user`, `session_id`, and cached prompt tokens in `metadata.usage_object` (`prompt_tokens_details.cached_tokens`
  or `cache_read_input_tokens`; `cache_creation_input_tokens`, the tokens written to the provider's cache). Rows with
  `status: failure` are skipped and counted.
  # Source: BerriAI/litellm schema.prisma (model LiteLLM_SpendLogs) and docs/proxy/cost_tracking.md.
- `csv`: any CSV with a header; `columns` names the timestamp, input-token and output-token columns, and optionally
  the user, session and cached-token columns. A timestamp is a number (seconds, or milliseconds with
  `timestamp_unit: ms`) or an ISO date and time.

Prefix-cache hits, in order of trust: the log's own count of cached prompt tokens (openai-log, litellm, a csv
`cached` column); else the leading `hash_ids` blocks an earlier request of the trace already sent; and, for a request
of a session (session ids), the previous turn's prompt and output when this prompt is longer (the conversation resent).
The cache is unbounded: an upper bound on what a real engine or API keeps. Hits are at most the prompt less one token.
Cache writes (which APIs bill): the log's own count where it has one, else the blocks a request was first to send
that a later request hit, or the prompt a session's next turn resent.
User and session ids are kept as small numbers only; the strings of the log never leave the reader.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from tokenlane.errors import InputError
from tokenlane.files import regular_file

TraceFormat = Literal["mooncake", "azure", "openai-log", "litellm", "csv"]
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
    """Cached prompt tokens the log itself reports, -1 where it reports none."""
    session_cached: np.ndarray
    """Tokens of the same session's previous turn (prompt + output) this prompt resends; 0 without sessions."""
    user: np.ndarray
    """Who sent each request, numbered from 0 in order of first appearance; -1 where the log names nobody."""
    session: np.ndarray
    """Conversation of each request, numbered from 0; -1 where the log has no sessions."""
    write_blocks: np.ndarray
    """Prompt blocks this request was the first to send and a later request hit (it wrote them to the cache)."""
    logged_write: np.ndarray
    """Prompt tokens the log reports written to the provider's cache, -1 where it reports none."""
    session_write: np.ndarray
    """Tokens of this request's prompt (less its hits) that the session's next turn resends: written for it."""
    skipped: int = 0
    """Rows the log marks as failed requests, left out."""

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last arrival."""
        return float(self.arrival_s[-1] - self.arrival_s[0]) if len(self) else 0.0

    @property
    def period_s(self) -> float:
        """Seconds after which a repetition of the trace starts: its span plus one mean gap between arrivals."""
        n = len(self)
        return self.span_s * n / (n - 1) if n > 1 and self.span_s > 0 else 1.0

    @property
    def users(self) -> int:
        """Distinct users the log names (0 when it names none)."""
        return int(self.user.max()) + 1 if len(self) else 0

    @property
    def sessions(self) -> int:
        """Distinct sessions the log names (0 when it has none)."""
        return int(self.session.max()) + 1 if len(self) else 0

    def write_tokens(self, block_tokens: int) -> np.ndarray:
        """Prompt tokens written to a prompt cache for later requests: the log's own count where it has one, else the
        blocks first sent here that a later request hit, or the part of this prompt the session's next turn resent;
        at most the prompt."""
        derived = np.maximum(self.write_blocks * block_tokens, self.session_write)
        return np.minimum(np.where(self.logged_write >= 0, self.logged_write, derived), self.prompt_tokens)

    def cached_tokens(self, block_tokens: int) -> np.ndarray:
        """Prompt tokens found in a prefix cache: the log's own count where it has one, else the larger of the hit
        blocks x block size and the session's resent context; at most the prompt less one token."""
        derived = np.maximum(self.hit_blocks * block_tokens, self.session_cached)
        hits = np.where(self.logged_cached >= 0, self.logged_cached, derived)
        return np.minimum(hits, self.prompt_tokens - 1)


@dataclass(frozen=True)
class CsvColumns:
    """Which columns of a generic CSV trace hold what."""

    timestamp: str
    input: str
    output: str
    timestamp_ms: bool = False
    """Numeric timestamps are milliseconds (else seconds)."""
    user: str | None = None
    session: str | None = None
    cached: str | None = None
    """Cached prompt tokens the log reports per request."""


def read_trace(path: str | Path, fmt: str, *, max_requests: int, columns: CsvColumns | None = None) -> Trace:
    """Read a trace file (a regular file; streamed line by line, refused past `max_requests`). Errors name the file,
    line and column. The last few traces read are kept, keyed by file, format, size and modification time."""
    info = check_trace(path, fmt, columns)
    return _read_cached(str(path), fmt, max_requests, columns, info.st_mtime_ns, info.st_size)


def check_trace(path: str | Path, fmt: str, columns: CsvColumns | None) -> os.stat_result:
    """The trace is a regular file and the format and columns make sense together (else one-line InputError)."""
    info = regular_file(path, what="trace")
    if fmt not in TRACE_FORMATS:
        raise InputError(f"unknown trace format '{fmt}'; use one of {', '.join(TRACE_FORMATS)}", path=str(path))
    if (fmt == "csv") != (columns is not None):
        raise InputError("a csv trace needs `columns` (timestamp, input, output), and only a csv trace takes them", path=str(path))
    return info


@functools.lru_cache(maxsize=4)
def _read_cached(name: str, fmt: str, max_requests: int, columns: CsvColumns | None, mtime_ns: int, size: int) -> Trace:
    """The trace at `name`; `mtime_ns` and `size` only key the cache, so a changed file is read again."""
    skipped = [0]
    arrival, prompt, output = array("d"), array("q"), array("q")
    hits, logged, resent, user, session = array("q"), array("q"), array("q"), array("q"), array("q")
    written, logged_write, resent_write = array("q"), array("q"), array("q")
    first: dict[int, int] = {}
    """block hash -> the request that first sent it, until a later request hits it (then -1: its write is counted)."""
    user_ids: dict[str, int] = {}
    session_ids: dict[str, int] = {}
    context: dict[int, tuple[int, int]] = {}
    """session -> (its last turn's prompt + output tokens, that turn's request)."""
    for row in iter_rows(name, fmt, columns, skipped):
        line, t, j = row.line, row.arrival_s, len(arrival)
        if arrival and t < arrival[-1]:
            raise InputError(f"line {line}: timestamp goes back in time (the trace must be sorted by arrival)", path=name)
        if j >= max_requests:
            raise InputError(
                f"line {line}: more than {max_requests:,} requests (one simulated day's limit); replay a shorter period", path=name
            )
        lead = 0
        while lead < len(row.hashes) and (sender := first.get(row.hashes[lead])) is not None:
            if sender >= 0:
                written[sender] += 1
                first[row.hashes[lead]] = -1
            lead += 1
        for h in row.hashes[lead:]:
            first.setdefault(h, j)
        s = -1 if row.session is None else session_ids.setdefault(row.session, len(session_ids))
        previous, turn = context.get(s, (0, -1))
        carried = previous if previous < row.prompt else 0
        if carried and turn >= 0:  # this turn reads the previous one's prompt, which that turn wrote
            hit = logged[turn] if logged[turn] >= 0 else resent[turn]
            resent_write[turn] = max(0, prompt[turn] - hit)
        if s >= 0:
            context[s] = (row.prompt + row.output, j)
        arrival.append(t)
        prompt.append(row.prompt)
        output.append(row.output)
        hits.append(lead)
        logged.append(row.cached)
        resent.append(carried)
        user.append(-1 if row.user is None else user_ids.setdefault(row.user, len(user_ids)))
        session.append(s)
        written.append(0)
        logged_write.append(row.written)
        resent_write.append(0)
    if not arrival:
        raise InputError("the trace has no requests", path=name)

    def ints(values: array) -> np.ndarray:
        return np.frombuffer(values, dtype=np.int64).copy()

    return Trace(
        np.frombuffer(arrival, dtype=float) - arrival[0],
        ints(prompt),
        ints(output),
        ints(hits),
        ints(logged),
        ints(resent),
        ints(user),
        ints(session),
        ints(written),
        ints(logged_write),
        ints(resent_write),
        skipped=skipped[0],
    )


def iter_rows(name: str, fmt: str, columns: CsvColumns | None = None, skipped: list[int] | None = None) -> Iterator[Row]:
    """The log's requests as it records them, one at a time (rows a log marks failed are counted in `skipped[0]`)."""
    if fmt == "mooncake":
        return _mooncake_rows(name)
    if fmt == "openai-log":
        return _openai_rows(name)
    if fmt == "litellm":
        return _litellm_rows(name, skipped if skipped is not None else [0])
    return _csv_rows(
        name, CsvColumns("TIMESTAMP", "ContextTokens", "GeneratedTokens") if fmt == "azure" else columns or CsvColumns("", "", "")
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One request as a log records it."""

    line: int
    arrival_s: float
    prompt: int
    output: int
    hashes: list[int]
    """Prefix block hashes (mooncake), else empty."""
    cached: int = -1
    """Cached prompt tokens the log reports, -1 where it reports none."""
    user: str | None = None
    session: str | None = None
    written: int = -1
    """Prompt tokens the log reports written to the provider's prompt cache, -1 where it reports none."""


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
        yield Row(line, t, prompt, _count(rec["output_length"], "output_length", line, name), hashes)


def _cached(value: object, column: str, prompt: int, line: int, name: str) -> int:
    """Cached prompt tokens a log reports: 0..prompt, or -1 where it reports none."""
    if value is None:
        return -1
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return -1
        value = int(text) if text.isascii() and text.isdigit() else text
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= prompt:
        raise InputError(f"line {line}: {column} must be a whole number from 0 to the prompt's tokens, got {value!r}", path=name)
    return value


def _field(obj: object, *keys: str) -> object:
    """obj[k0][k1]... or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _openai_rows(name: str) -> Iterator[Row]:
    for line, rec in _json_records(name):
        body = rec.get("response", rec)
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(body, dict) or "created" not in body or not isinstance(usage, dict):
            raise InputError(f"line {line}: expected a response with `created` and `usage`", path=name)
        t = _seconds(body["created"], "created", line, name)
        prompt = _count(usage.get("prompt_tokens"), "usage.prompt_tokens", line, name)
        output = _count(usage.get("completion_tokens"), "usage.completion_tokens", line, name)
        where = "usage.prompt_tokens_details.cached_tokens"
        yield Row(line, t, prompt, output, [], _cached(_field(usage, "prompt_tokens_details", "cached_tokens"), where, prompt, line, name))


def _litellm_records(name: str) -> Iterator[tuple[int, dict[str, object]]]:
    """Records of a LiteLLM spend-log export: JSONL, or one JSON list (record i reported as line i + 1)."""
    with open(name, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"["):
        yield from _json_records(name)
        return
    try:
        with open(name, encoding="utf-8-sig") as fh:
            doc = json.load(fh, parse_constant=lambda c: None)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=name) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"line {exc.lineno}: not JSON ({exc.msg})", path=name) from exc
    for i, rec in enumerate(doc, start=1):
        if not isinstance(rec, dict):
            raise InputError(f"record {i}: expected a JSON object", path=name)
        yield i, rec


def _litellm_rows(name: str, skipped: list[int]) -> Iterator[Row]:
    for line, rec in _litellm_records(name):
        if rec.get("status") == "failure":
            skipped[0] += 1
            continue
        if "startTime" not in rec:
            raise InputError(f"line {line}: missing startTime", path=name)
        t = _timestamp(rec["startTime"], "startTime", line, name, ms=False)
        prompt = _count(rec.get("prompt_tokens"), "prompt_tokens", line, name)
        output = _count(rec.get("completion_tokens"), "completion_tokens", line, name)
        usage = _field(rec, "metadata", "usage_object")
        reported = _field(usage, "prompt_tokens_details", "cached_tokens")
        if reported is None:
            reported = _field(usage, "cache_read_input_tokens")
        cached = _cached(reported, "metadata.usage_object cached tokens", prompt, line, name)
        written = _cached(
            _field(usage, "cache_creation_input_tokens"), "metadata.usage_object.cache_creation_input_tokens", prompt, line, name
        )
        who = rec.get("end_user") or rec.get("user")
        session = rec.get("session_id")
        yield Row(line, t, prompt, output, [], cached, _id(who), _id(session), written)


def _id(value: object) -> str | None:
    """A user or session id as a dictionary key (None when absent or empty)."""
    return None if value is None or value == "" else str(value)


def _timestamp(value: object, column: str, line: int, name: str, *, ms: bool) -> float:
    """Seconds from a number (seconds, or milliseconds with `ms`) or an ISO date and time (UTC unless it says)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _seconds(value, column, line, name, scale=1000.0 if ms else 1.0)
    stamp = str(value).strip()
    try:
        return _seconds(float(stamp), column, line, name, scale=1000.0 if ms else 1.0)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise InputError(f"line {line}: {column} is not a number or a date and time ({stamp[:40]!r})", path=name) from exc
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _csv_rows(name: str, columns: CsvColumns) -> Iterator[Row]:
    reader = csv.reader(text for _, text in _lines(name))
    header = next(reader, None)
    optional = {"user": columns.user, "session": columns.session, "cached": columns.cached}
    wanted = [columns.timestamp, columns.input, columns.output, *(c for c in optional.values() if c)]
    missing = [c for c in wanted if header is None or c not in header]
    if header is None or missing:
        found = ", ".join(h[:30] for h in (header or [])[:6]) or "nothing"
        raise InputError(f"line 1: the header lacks {', '.join(missing)} (it names {found})", path=name)
    at = {key: header.index(c) for key, c in (("t", columns.timestamp), ("in", columns.input), ("out", columns.output))}
    at.update({key: header.index(c) for key, c in optional.items() if c})
    for row in reader:
        line = reader.line_num
        if not row:
            continue
        if len(row) < len(header):
            raise InputError(f"line {line}: {len(row)} columns, the header has {len(header)}", path=name)
        t = _timestamp(row[at["t"]], columns.timestamp, line, name, ms=columns.timestamp_ms)
        prompt = _count(row[at["in"]], columns.input, line, name)
        output = _count(row[at["out"]], columns.output, line, name)
        cached = _cached(row[at["cached"]], columns.cached or "", prompt, line, name) if "cached" in at else -1
        who = _id(row[at["user"]].strip()) if "user" in at else None
        session = _id(row[at["session"]].strip()) if "session" in at else None
        yield Row(line, t, prompt, output, [], cached, who, session)


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
