"""Summaries of a simulated day: percentiles, SLO attainment, goodput, concurrency, batch-job completion."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tokenlane.scenario import Slo, Workload
from tokenlane.simulate.log import OUTCOMES, REJECTED, TRUNCATED, UNFINISHED, RequestLog
from tokenlane.simulate.scaling.fleet import ScalingResult
from tokenlane.units import MS_PER_S, S_PER_HOUR

if TYPE_CHECKING:
    from tokenlane.simulate.replica import Replica


class Percentiles(BaseModel):
    """p50/p90/p95/p99 and mean of one per-request metric (None when no request has the metric)."""

    model_config = ConfigDict(frozen=True)

    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    mean: float | None


def percentiles(values: np.ndarray | list[float], *, higher_is_better: bool = False) -> Percentiles:
    """Percentiles (linear interpolation) of a per-request metric; every field None when there are no values.

    For latencies pXX is the value XX% of requests stay under. For speeds (`higher_is_better`) pXX is the speed
    XX% of requests reach or beat, i.e. the (100 - XX)th numeric percentile, so p95 is the slow tail either way.
    The one percentile helper: the simulator's summaries and bench's level summaries both use it.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return Percentiles(p50=None, p90=None, p95=None, p99=None, mean=None)
    qs = [50, 10, 5, 1] if higher_is_better else [50, 90, 95, 99]
    p = np.percentile(arr, qs)
    return Percentiles(p50=float(p[0]), p90=float(p[1]), p95=float(p[2]), p99=float(p[3]), mean=float(np.mean(arr)))


class Histogram(BaseModel):
    """Counts of a per-request metric in log-spaced bins."""

    model_config = ConfigDict(frozen=True)

    edges: list[float]
    """Bin edges (one more than counts)."""
    counts: list[int]


def log_histogram(values: np.ndarray, *, low: float, bins: int = 30) -> Histogram:
    """Histogram over log-spaced bins from `low` to the largest value (values below `low` fall in the first bin)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return Histogram(edges=[], counts=[])
    high = max(float(finite.max()), low * 10)
    edges = np.geomspace(low, high * 1.0001, bins + 1)
    counts, _ = np.histogram(np.clip(finite, low, None), bins=edges)
    return Histogram(edges=edges.tolist(), counts=counts.tolist())


TIMELINE_BIN_S = (60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
"""Bin widths a day's timeline may use, s: the narrowest that gives at most TIMELINE_MAX_BINS bins."""
TIMELINE_MAX_BINS = 48


class Timeline(BaseModel):
    """Interactive requests over the day by arrival time: how many arrived in each bin and the p95 TTFT of those
    served (None where none was)."""

    model_config = ConfigDict(frozen=True)

    bin_s: float
    start_s: list[float]
    """Start of each bin with arrivals, s from the start of the day."""
    arrivals: list[int]
    ttft_p95_s: list[float | None]


def timeline(log: RequestLog, ttft_s: np.ndarray, served: np.ndarray) -> Timeline:
    """The timeline of a day's interactive requests (`ttft_s` per request, `served` mask)."""
    inter = log.interactive
    arrival = log.arrival_s[inter]
    if not len(arrival):
        return Timeline(bin_s=TIMELINE_BIN_S[0], start_s=[], arrivals=[], ttft_p95_s=[])
    span = float(arrival.max() - arrival.min())
    width = next((w for w in TIMELINE_BIN_S if span / w < TIMELINE_MAX_BINS), TIMELINE_BIN_S[-1])
    bins = np.floor(arrival / width)
    keys, counts = np.unique(bins, return_counts=True)
    ok = served[inter]
    ttft = ttft_s[inter]
    p95 = []
    for k in keys.tolist():
        in_bin = ok & (bins == k)
        p95.append(float(np.percentile(ttft[in_bin], 95)) if in_bin.any() else None)
    return Timeline(bin_s=width, start_s=(keys * width).tolist(), arrivals=counts.tolist(), ttft_p95_s=p95)


class BatchJobResult(BaseModel):
    """How a batch job fared."""

    model_config = ConfigDict(frozen=True)

    name: str
    requests: int
    completed: int
    completion_hours: float
    """Hours from submission until its last request finished (inf if unfinished)."""
    window_hours: float
    met_window: bool


class SimulationResult(BaseModel):
    """One option's simulated day: the summary, and (in `log`) every request."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    option: str
    users: int
    seed: int
    requests: int
    """Interactive requests made during the day."""
    completed: int
    """Interactive requests that finished (in full or truncated)."""
    rejected: int
    """Requests rejected (interactive and batch): see `rejected_by_reason`."""
    rejected_by_reason: dict[str, int]
    """Rejected requests by cause: rejected_context (prompt beyond one sequence's context), rejected_kv_cache (beyond
    the whole KV cache), rejected_queue_full (the engine's queue limit)."""
    truncated: int
    """Requests whose output was cut to fit a slot's context."""
    unfinished: int
    """Requests still queued or running when the simulation stopped."""
    batch_requests: int
    """Batch-job requests made."""
    per_user_tok_s: Percentiles
    """Decode speed of each interactive stream = (output - 1) / (finish - first token), tok/s; p95 = speed 95% of
    requests reach."""
    ttft_s: Percentiles
    """Interactive requests: arrival to first token, s."""
    queue_wait_s: Percentiles
    """Interactive requests: arrival to admission into the running batch, s."""
    tpot_ms: Percentiles
    """Interactive requests: time per output token after the first, ms."""
    e2e_s: Percentiles
    """Interactive requests: arrival to last token, s."""
    batch_tok_s: Percentiles
    """Decode speed of each batch-job stream, tok/s (None without batch jobs)."""
    batch_ttft_s: Percentiles
    """Batch-job requests: submission to first token, s."""
    ttft_histogram: Histogram
    """Distribution of TTFT over interactive requests, s."""
    tok_s_histogram: Histogram
    """Distribution of per-stream decode speed over interactive requests, tok/s."""
    timeline: Timeline
    """Interactive arrivals and p95 TTFT over the day."""
    slo_attainment: float
    """Fraction of interactive requests made that met both the TTFT and the tok/s objective (rejected and unfinished
    requests count as missed)."""
    meets_slo: bool
    """slo_attainment >= the SLO percentile, and the day ran to its end."""
    goodput_rps: float
    """Requests per second over the active day that met the SLO."""
    peak_concurrency: int
    """Most sequences running together on one replica (interactive and batch)."""
    peak_interactive_streams: int
    """Most interactive requests running together over the whole deployment (admitted, not yet finished)."""
    peak_batch_streams: int
    """Most batch-job requests running together over the whole deployment."""
    mean_concurrency: float
    """Time-averaged running sequences per replica while busy."""
    busy_fraction: float
    """Share of the simulated span the hardware was stepping."""
    busy_replica_s: float = 0.0
    """Seconds the replicas were stepping, summed over replicas."""
    prefill_replica_s: float = 0.0
    """Of `busy_replica_s`, the steps that carried prefill (compute-bound); the rest were decode (memory-bound)."""
    batch_jobs: list[BatchJobResult]
    decode_steps: int
    preemptions: int
    prompt_tokens: int
    """Prompt tokens of the requests served (cached part included)."""
    cached_tokens: int
    """Prompt tokens of the requests served that were prefix-cache hits."""
    output_tokens: int
    """Tokens generated for the requests served."""
    mean_request_tokens: tuple[float, float, float]
    """(prompt, cached, output) tokens of the day's mean interactive request (of every request without interactive
    traffic): the request the capacity-per-day estimate is made for."""
    simulated_hours: float
    stopped_early: str | None
    """Why the run stopped before every request finished, if it did."""
    scaling: ScalingResult | None = None
    """An autoscaled fleet's day: replicas held over time, replica-hours, cold starts, requests spilled."""
    log: RequestLog | None = Field(default=None, exclude=True, repr=False)
    """Every request of the day with its outcome (not serialised; `--per-request` writes it)."""


def slo_mask(ttft_s: np.ndarray, tok_s: np.ndarray, slo: Slo) -> np.ndarray:
    """Requests meeting both objectives."""
    return (ttft_s <= slo.max_ttft_s) & (tok_s >= slo.min_tok_s_per_user)


@dataclass(frozen=True)
class ReplicaCounters:
    """What one replica's engine counted over the day."""

    busy_s: float
    prefill_busy_s: float
    concurrency_area: float
    peak_running: int
    num_steps: int
    num_preemptions: int

    @classmethod
    def of(cls, replica: Replica, weight: float = 1.0) -> ReplicaCounters:
        """`replica`'s counters, its busy seconds and concurrency area as `weight` of its unit's (a disaggregated pool's
        replica: its devices over the unit's)."""
        r = replica
        shared = (r.busy_s * weight, r.prefill_busy_s * weight, r.concurrency_area * weight)
        return cls(*shared, r.peak_running, r.num_steps, r.num_preemptions)


def summarise(
    log: RequestLog,
    workload: Workload,
    *,
    option: str,
    users: int,
    seed: int,
    replicas: list[ReplicaCounters],
    end_s: float,
    stopped: str | None,
    scaling: ScalingResult | None = None,
    units: int | None = None,
) -> SimulationResult:
    """Summarise a simulated day from its request log and the replicas' counters (`units`: how many units the counters
    are shares of, when a unit is several replicas weighted by its devices; default one replica each)."""
    served = log.served
    inter = log.interactive
    ok = served & inter
    batch_ok = served & ~inter
    ttft = log.first_token_s - log.arrival_s
    decode_s = log.finished_s - log.first_token_s
    gen = log.generated_tokens
    with np.errstate(divide="ignore", invalid="ignore"):
        tok_s = np.where(gen > 1, (gen - 1) / np.maximum(decode_s, 1e-12), np.inf)
        tpot_ms = np.where(gen > 1, decode_s / np.maximum(gen - 1, 1) * MS_PER_S, 0.0)
    n_inter = int(inter.sum())
    met = ok & slo_mask(ttft, tok_s, workload.slo)
    attainment = float(met.sum() / n_inter) if n_inter else 1.0
    speeds = tok_s[ok & np.isfinite(tok_s)]
    batch_speeds = tok_s[batch_ok & np.isfinite(tok_s)]
    counts = log.counts()
    jobs: list[BatchJobResult] = []
    for j, spec in enumerate(workload.batch_jobs):
        mask = log.job == j
        done = int((mask & served).sum())
        start_s = (spec.start_hour if spec.start_hour is not None else workload.active_hours) * S_PER_HOUR
        hours = (float(log.finished_s[mask].max()) - start_s) / S_PER_HOUR if done == spec.requests else math.inf
        jobs.append(
            BatchJobResult(
                name=spec.name,
                requests=spec.requests,
                completed=done,
                completion_hours=hours,
                window_hours=spec.window_hours,
                met_window=hours <= spec.window_hours,
            )
        )
    span_s = max(end_s, workload.active_hours * S_PER_HOUR)
    busy = sum(r.busy_s for r in replicas)
    return SimulationResult(
        option=option,
        users=users,
        seed=seed,
        requests=n_inter,
        completed=int(ok.sum()),
        rejected=sum(counts[OUTCOMES[c]] for c in REJECTED),
        rejected_by_reason={OUTCOMES[c]: counts[OUTCOMES[c]] for c in REJECTED if counts[OUTCOMES[c]]},
        truncated=counts[OUTCOMES[TRUNCATED]],
        unfinished=counts[OUTCOMES[UNFINISHED]],
        batch_requests=len(log) - n_inter,
        per_user_tok_s=percentiles(speeds, higher_is_better=True),
        ttft_s=percentiles(ttft[ok]),
        queue_wait_s=percentiles((log.admitted_s - log.arrival_s)[ok]),
        tpot_ms=percentiles(tpot_ms[ok & (gen > 1)]),
        e2e_s=percentiles((log.finished_s - log.arrival_s)[ok]),
        batch_tok_s=percentiles(batch_speeds, higher_is_better=True),
        batch_ttft_s=percentiles(ttft[batch_ok]),
        ttft_histogram=log_histogram(ttft[ok], low=0.01),
        tok_s_histogram=log_histogram(speeds, low=0.1),
        timeline=timeline(log, ttft, served),
        slo_attainment=attainment,
        meets_slo=attainment >= workload.slo.percentile / 100.0 and stopped is None,
        goodput_rps=float(met.sum()) / (workload.active_hours * S_PER_HOUR),
        peak_concurrency=max((r.peak_running for r in replicas), default=0),
        peak_interactive_streams=_peak_overlap(log, inter, end_s),
        peak_batch_streams=_peak_overlap(log, ~inter, end_s),
        mean_concurrency=sum(r.concurrency_area for r in replicas) / busy if busy else 0.0,
        busy_fraction=busy / (span_s * (units or len(replicas))) if span_s and replicas else 0.0,
        busy_replica_s=busy,
        prefill_replica_s=sum(r.prefill_busy_s for r in replicas),
        batch_jobs=jobs,
        decode_steps=sum(r.num_steps for r in replicas),
        preemptions=sum(r.num_preemptions for r in replicas),
        prompt_tokens=int(log.prompt_tokens[served].sum()),
        cached_tokens=int(log.cached_tokens[served].sum()),
        output_tokens=int(gen[served].sum()),
        mean_request_tokens=_mean_request(log),
        simulated_hours=end_s / S_PER_HOUR,
        stopped_early=stopped,
        scaling=scaling,
        log=log,
    )


def _mean_request(log: RequestLog) -> tuple[float, float, float]:
    mask = log.interactive if np.any(log.interactive) else np.ones(len(log), dtype=bool)
    if not np.any(mask):
        return 0.0, 0.0, 0.0
    return (float(np.mean(log.prompt_tokens[mask])), float(np.mean(log.cached_tokens[mask])), float(np.mean(log.output_tokens[mask])))


def _peak_overlap(log: RequestLog, mask: np.ndarray, end_s: float) -> int:
    """Most of the masked requests running at once: admitted and not yet finished (unfinished ones run to `end_s`)."""
    started = mask & (log.admitted_s >= 0)
    if not np.any(started):
        return 0
    # stable: a radix/merge sort that runs ~10x faster on the log's long presorted runs (a replica's FCFS admissions)
    starts = np.sort(log.admitted_s[started], kind="stable")
    ends = np.sort(np.where(log.finished_s[started] >= 0, log.finished_s[started], end_s), kind="stable")
    # running just after the k-th start (1-based): k starts so far less the finishes by then (at equal times a finish
    # frees its place before a start takes one); the peak is reached just after some start
    return int(np.max(np.arange(1, len(starts) + 1) - np.searchsorted(ends, starts, side="right")))
