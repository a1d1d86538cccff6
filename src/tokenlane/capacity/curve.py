"""Concurrency curve: what N simultaneous users each get from one deployment, and prefill/TTFT."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.memory import MemoryPlan, kv_cache, max_concurrent_sequences, plan_memory, weight_bytes
from tokenlane.capacity.roofline import StepTime, compute_step_time, decode_load, prefill_load, step_seconds
from tokenlane.capacity.steps import step_table, token_seconds
from tokenlane.capacity.uncertainty import SpeedInterval, Tagged, interval_among, point_of, tagged_rows
from tokenlane.catalog.models import ErrorFamily
from tokenlane.errors import InputError
from tokenlane.units import bytes_to_gb, s_to_ms

MAX_CURVE_POINTS = 64
"""Most concurrency levels one curve computes."""
MAX_CONCURRENCY = 100_000
"""Most concurrent users one level may have."""


class CurvePoint(BaseModel):
    """One load level of the concurrency curve."""

    model_config = ConfigDict(frozen=True)

    batch: int
    """Concurrent users (sequences wanting tokens)."""
    context: int
    """Tokens in each sequence's KV cache while decoding."""
    running: int
    """Sequences the engine decodes together (the rest queue)."""
    queued: int
    """Sequences waiting for a slot or for KV memory."""
    decode_step_ms: float
    """Time of one decode step with `running` sequences, ms."""
    stream_tok_s: float
    """Decode speed of a sequence while it runs, tok/s."""
    per_user_tok_s: float
    """Each user's share of the output rate = aggregate / batch, tok/s."""
    aggregate_tok_s: float
    """Output tokens per second over all running sequences."""
    ttft_ms: float
    """Time to first token for one prompt while the others decode (queue wait not included), ms."""
    per_user_tok_s_range: list[float] | None = None
    """80% prediction interval [low, high] of `per_user_tok_s` (`capacity.uncertainty`); None without error rows."""
    aggregate_tok_s_range: list[float] | None = None
    ttft_ms_range: list[float] | None = None
    range_basis: str = ""
    """The rows the intervals rest on, and why they were widened, in words."""


class MeasuredPoint(BaseModel):
    """One concurrency level measured by `tokenlane bench` on a real endpoint."""

    model_config = ConfigDict(frozen=True)

    concurrency: int
    per_user_tok_s_p50: float | None
    per_user_tok_s_p95: float | None
    ttft_s_p50: float | None
    ttft_s_p95: float | None
    aggregate_tok_s: float
    errors: int


class CapacityReport(BaseModel):
    """The capacity model's answer for one deployment."""

    model_config = ConfigDict(frozen=True)

    hardware: str
    model: str
    quant: str
    kv_dtype: str
    engine: str
    gpus: int
    pipeline_stages: int = 1
    """Servers the replica spans as pipeline stages (1: one tensor-parallel group)."""
    memory_setting: str = ""
    """The OS or driver setting the usable memory assumes (unified-memory hardware)."""
    fits: bool
    shortfall_gb: float
    """GB missing for weights + runtime when it does not fit."""
    weights_gb: float
    kv_budget_gb: float
    kv_bytes_per_token: float
    kv_capacity_tokens: int
    max_concurrent_sequences: int
    """Most sequences at `context` that memory and the engine hold at once."""
    context_tokens: int
    prompt_tokens: int
    single_stream_tok_s: float
    single_stream_tok_s_range: list[float] | None = None
    """80% prediction interval of `single_stream_tok_s` (see `CurvePoint.per_user_tok_s_range`)."""
    step_breakdown_ms: dict[str, float]
    """Operator times of a batch-1 decode step at `context`, ms."""
    points: list[CurvePoint]


def prefill_seconds(
    dep: Deployment,
    prompt_tokens: int,
    *,
    cached_tokens: int = 0,
    concurrent_decoders: int = 0,
    decoder_context: float = 0.0,
) -> float:
    """Seconds to prefill `prompt_tokens` (of which `cached_tokens` hit the prefix cache) in chunks.

    Each step carries one token per concurrent decoder plus a prompt chunk filling the rest of the engine's
    token budget (chunked prefill, Agrawal et al., "Sarathi-Serve", OSDI 2024, section 4).
    """
    todo = max(0, prompt_tokens - cached_tokens)
    budget = max(1, dep.engine.max_batched_tokens - concurrent_decoders)
    done = float(cached_tokens)
    table = step_table(dep)
    decoders = decode_load(dep, concurrent_decoders, decoder_context)
    total = 0.0
    while todo > 0:
        chunk = min(todo, budget)
        p = prefill_load(dep, chunk, done, samples=chunk == todo)
        chunk_load = (p.num_tokens, p.num_logits, p.kv_tokens_full, p.kv_tokens_window, p.pairs_full, p.pairs_window)
        total += table.step_seconds(concurrent_decoders, decoders.kv_tokens_full, decoders.kv_tokens_window, chunk_load)
        done += chunk
        todo -= chunk
    return total


@dataclass(frozen=True)
class SloLoad:
    """What one replica carries at the SLO's stream speed, for requests of one size."""

    streams: int
    """The most streams it decodes together while each still gets the SLO's speed (0: not even one)."""
    prefill_s: float
    """One request's prefill, alone, s."""
    decode_s: float
    """One request's share of the replica's time while decoding among `streams`, s."""

    @property
    def prefill_share(self) -> float:
        """Share of the replica's time that prefill takes."""
        total = self.prefill_s + self.decode_s
        return self.prefill_s / total if total > 0 else 0.0

    @property
    def requests_in_flight(self) -> float:
        """Requests the replica holds at once at that load: the streams, less the time prefill takes from them."""
        return self.streams * (1.0 - self.prefill_share)


def slo_load(dep: Deployment, prompt_tokens: float, cached_tokens: float, output_tokens: float, min_tok_s: float) -> SloLoad:
    """One replica at the largest batch b whose streams still decode at `min_tok_s`, within what the KV cache and the
    engine allow (`KvCache.max_sequences`), for requests of `prompt_tokens` (`cached_tokens` of them prefix hits) +
    `output_tokens`, decoding at the prompt plus half the output: a request's time = prefill of the uncached prompt +
    output x step(b) / b."""
    context = prompt_tokens + output_tokens / 2
    cap = max(1, kv_cache(dep).max_sequences(round(prompt_tokens + output_tokens)))
    best = 0
    for b in range(1, cap + 1):
        if 1.0 / step_seconds(dep, decode_load(dep, b, context)) < min_tok_s:
            break
        best = b
    if best == 0:
        return SloLoad(streams=0, prefill_s=0.0, decode_s=0.0)
    prefill_s = prefill_seconds(dep, round(prompt_tokens), cached_tokens=round(cached_tokens))
    return SloLoad(streams=best, prefill_s=prefill_s, decode_s=output_tokens * step_seconds(dep, decode_load(dep, best, context)) / best)


def _with_ranges(point: CurvePoint, dep: Deployment, tagged: Sequence[Tagged], prefill: SpeedInterval | None) -> CurvePoint:
    """`point` with its 80% intervals (see `capacity.uncertainty`): decode by its own batch and context, TTFT by
    `prefill` (the prompt's own compute, the same at every point); unchanged without them or running sequences."""
    if prefill is None or point.running == 0:
        return point
    decode = interval_among(tagged, point_of(dep, "decode", batch=point.running, context=point.context))
    if decode is None:
        return point
    return point.model_copy(
        update={
            "per_user_tok_s_range": decode.speed(point.per_user_tok_s),
            "aggregate_tok_s_range": decode.speed(point.aggregate_tok_s),
            "ttft_ms_range": prefill.time(point.ttft_ms),
            "range_basis": f"decode: {decode.words}; TTFT: {prefill.words}",
        }
    )


def _point(dep: Deployment, users: int, context: int, prompt_tokens: int, cap: int) -> CurvePoint:
    running = min(users, cap)
    if running == 0:
        return CurvePoint(
            batch=users,
            context=context,
            running=0,
            queued=users,
            decode_step_ms=math.inf,
            stream_tok_s=0.0,
            per_user_tok_s=0.0,
            aggregate_tok_s=0.0,
            ttft_ms=math.inf,
        )
    step_s = token_seconds(dep, running, context)
    aggregate = running / step_s
    ttft_s = prefill_seconds(dep, prompt_tokens, concurrent_decoders=running - 1, decoder_context=context)
    return CurvePoint(
        batch=users,
        context=context,
        running=running,
        queued=users - running,
        decode_step_ms=s_to_ms(step_s),
        stream_tok_s=1.0 / step_s,
        per_user_tok_s=aggregate / users,
        aggregate_tok_s=aggregate,
        ttft_ms=s_to_ms(ttft_s),
    )


def breakdown_ms(step: StepTime) -> dict[str, float]:
    """Operator times of a step, ms, keyed by operator name."""
    fields = ("attention_proj_s", "ffn_s", "experts_s", "lm_head_s", "attention_s", "allreduce_s", "overhead_s")
    out = {name.removesuffix("_s"): s_to_ms(getattr(step, name)) for name in fields}
    out["total"] = s_to_ms(step.total_s)
    return out


def concurrency_curve(
    dep: Deployment, batches: Iterable[int], *, context_tokens: int, prompt_tokens: int, errors: Sequence[ErrorFamily] = ()
) -> CapacityReport:
    """Per-user and aggregate decode speed, step time and TTFT for each number of concurrent users, each with its
    80% prediction interval from the catalog's `errors` rows (none without them).

    Engines batch up to min(engine cap, what KV memory holds); users beyond that queue, so the per-user
    share is aggregate / users. Serial engines (cap 1) never batch.
    """
    batches = list(batches)
    limit = dep.model.max_context_tokens
    if context_tokens > limit:
        raise InputError(f"{context_tokens:,} tokens exceed {dep.model.id}'s maximum context of {limit:,}", field="context")
    if prompt_tokens > limit:
        raise InputError(f"{prompt_tokens:,} tokens exceed {dep.model.id}'s maximum context of {limit:,}", field="prompt_tokens")
    if len(batches) > MAX_CURVE_POINTS or max(batches, default=1) > MAX_CONCURRENCY:
        raise InputError(f"at most {MAX_CURVE_POINTS} levels of at most {MAX_CONCURRENCY:,} concurrent users", field="batch")
    plan: MemoryPlan = plan_memory(dep)
    cap = max_concurrent_sequences(dep, context_tokens, plan)
    tagged = tagged_rows(errors)
    prefill = interval_among(tagged, point_of(dep, "prefill", batch=1, context=prompt_tokens)) if tagged else None
    points = [_with_ranges(_point(dep, b, context_tokens, prompt_tokens, cap), dep, tagged, prefill) for b in batches]
    single = compute_step_time(dep, decode_load(dep, 1, context_tokens))
    single_s = token_seconds(dep, 1, context_tokens)
    single_range = interval_among(tagged, point_of(dep, "decode", batch=1, context=context_tokens)) if tagged and plan.fits else None
    return CapacityReport(
        hardware=dep.hardware.id,
        model=dep.model.id,
        quant=dep.quant.id,
        kv_dtype=dep.kv_dtype.id,
        engine=dep.engine.id,
        gpus=dep.num_devices,
        pipeline_stages=dep.pipeline_stages,
        memory_setting=dep.hardware.memory_setting,
        fits=plan.fits,
        shortfall_gb=plan.shortfall_gb,
        weights_gb=bytes_to_gb(weight_bytes(dep.model, dep.quant).total),
        kv_budget_gb=bytes_to_gb(max(0.0, plan.kv_budget_bytes)),
        kv_bytes_per_token=plan.kv_bytes_per_token,
        kv_capacity_tokens=plan.kv_capacity_tokens,
        max_concurrent_sequences=cap,
        context_tokens=context_tokens,
        prompt_tokens=prompt_tokens,
        single_stream_tok_s=1.0 / single_s if plan.fits else 0.0,
        single_stream_tok_s_range=single_range.speed(1.0 / single_s) if single_range else None,
        step_breakdown_ms=breakdown_ms(single),
        points=points,
    )
