"""What one streamed request measured, and the metrics derived from it. Pure; all clocks are perf_counter_ns.

Definitions (also written into every summary file):
- TTFT = first content chunk - intended send time (client-side queueing is not hidden).
- decode tok/s = (output tokens - 1) / (end - first content chunk); TPOT = its inverse, in ms.
- output tokens = the server's `usage.completion_tokens` when reported; else max_tokens when the server says it stopped
  there (finish_reason "length"); else the chunks that carried a token (one token a chunk, empty byte-fallback chunks
  included). Each record says which (`token_method`): usage, max_tokens or chunks. The probe checks one token a chunk
  against the server's tokenizer, and the summary warns when the server packs several tokens a chunk.
- inter-chunk gaps = times between consecutive content chunks.
- aggregate tok/s = output tokens of a level / (last end - first intended send).
- requests/s = successful requests of a level / (last end - first intended send).
- short outputs = successful streams that produced under half the tokens asked (with ignore_eos).
- concurrency is null for an open-loop level, which records its `rate_per_s` instead.
- goodput = share of requests meeting both the TTFT and the tok/s objective.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tokenlane.simulate import percentiles
from tokenlane.units import MS_PER_S, ns_to_s

DEFINITIONS = __doc__


@dataclass
class RequestRecord:
    """Timestamps and counts of one request (ns on the perf_counter clock)."""

    level: int
    """Concurrency (or rate key) of the level this request belongs to."""
    index: int
    intended_ns: int
    sent_ns: int = 0
    first_byte_ns: int = 0
    first_token_ns: int = 0
    end_ns: int = 0
    chunk_ns: list[int] = field(default_factory=list)
    """Arrival time of every content chunk."""
    usage_output_tokens: int | None = None
    usage_prompt_tokens: int | None = None
    token_chunks: int = 0
    """Streamed chunks that carried a generated token (empty text included)."""
    finish_reason: str | None = None
    counted_tokens: int | None = None
    """Output tokens known without `usage`: max_tokens at finish_reason "length"."""
    token_method: str = "chunks"
    """How `output_tokens` was counted without usage: max_tokens or chunks."""
    text_parts: list[str] = field(default_factory=list, repr=False)
    """The streamed text (the probe's tokenizer check; not written to results)."""
    error: str | None = None
    """Error class: connect, connect_timeout, timeout, stall, http_4xx, http_5xx, redirect, reset, malformed_sse,
    malformed_json, bad_response, line_too_long, no_done, empty, interrupted."""
    short: bool = False
    """The stream finished but produced far fewer tokens than asked (ignore_eos requests)."""
    redirected_to: str | None = None
    """Where a followed redirect led."""
    error_detail: str = ""
    status: int | None = None
    response_id: str | None = None
    """The server's `id` for the response, to match server logs."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.first_token_ns > 0

    @property
    def output_tokens(self) -> int:
        """The server's count, else the count without it (see the module docstring)."""
        if self.usage_output_tokens is not None:
            return self.usage_output_tokens
        if self.counted_tokens is not None:
            return self.counted_tokens
        return max(self.token_chunks, len(self.chunk_ns))

    @property
    def counted_by(self) -> str:
        """usage, max_tokens or chunks."""
        return "usage" if self.usage_output_tokens is not None else self.token_method

    @property
    def ttft_s(self) -> float:
        return ns_to_s(self.first_token_ns - self.intended_ns)

    @property
    def decode_tok_s(self) -> float | None:
        """(output tokens - 1) / (end - first token); None for single-token outputs."""
        span = self.end_ns - self.first_token_ns
        return (self.output_tokens - 1) / ns_to_s(span) if self.output_tokens > 1 and span > 0 else None

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("text_parts")  # what the model wrote stays out of results files
        doc["token_method"] = self.counted_by
        return doc


def pct(values: list[float] | np.ndarray, *, higher_is_better: bool = False) -> dict[str, float | None]:
    """p50/p90/p95/p99 and mean (`simulate.percentiles`, the one helper); for speeds pXX is the value XX% of
    requests reach (the slow tail)."""
    return percentiles(values, higher_is_better=higher_is_better).model_dump()


def summarise_level(records: list[RequestRecord], *, concurrency: int | None, min_tok_s: float, max_ttft_s: float) -> dict[str, Any]:
    """The summary of one level, with the definitions above."""
    ok = [r for r in records if r.ok]
    errors: dict[str, int] = {}
    for r in records:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    speeds = [s for r in ok if (s := r.decode_tok_s) is not None]
    gaps = [ns_to_s(b - a) * MS_PER_S for r in ok for a, b in zip(r.chunk_ns, r.chunk_ns[1:], strict=False)]
    start = min((r.intended_ns for r in records), default=0)
    end = max((r.end_ns for r in records), default=0)
    out_tokens = sum(r.output_tokens for r in ok)
    good = [r for r in ok if r.ttft_s <= max_ttft_s and (r.decode_tok_s or float("inf")) >= min_tok_s]
    usage_gap = [abs((r.usage_output_tokens or 0) - max(r.token_chunks, len(r.chunk_ns))) for r in ok if r.usage_output_tokens is not None]
    return {
        "concurrency": concurrency,
        "requests": len(records),
        "errors": sum(errors.values()),
        "error_rate": sum(errors.values()) / len(records) if records else 0.0,
        "errors_by_class": errors,
        "per_user_tok_s": pct(speeds, higher_is_better=True),
        "ttft_s": pct([r.ttft_s for r in ok]),
        "tpot_ms": pct([MS_PER_S / s for s in speeds]),
        "send_delay_ms": pct([ns_to_s(r.sent_ns - r.intended_ns) * MS_PER_S for r in records if r.sent_ns]),
        "inter_chunk_ms": pct(gaps),
        "aggregate_tok_s": out_tokens / ns_to_s(end - start) if end > start else 0.0,
        "requests_per_s": len(ok) / ns_to_s(end - start) if end > start else 0.0,
        "short_outputs": sum(1 for r in ok if r.short),
        "output_tokens": out_tokens,
        "output_tokens_counted_by": {m: sum(1 for r in ok if r.counted_by == m) for m in sorted({r.counted_by for r in ok})},
        "usage_vs_chunks_max_gap": max(usage_gap, default=0),
        "goodput": len(good) / len(records) if records else 0.0,
    }
