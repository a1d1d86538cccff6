"""Summaries of a simulated day: percentiles, SLO attainment, goodput, concurrency, batch-job completion."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from tokenlane.scenario import Slo


class Percentiles(BaseModel):
    """p50/p90/p95/p99 and mean of one per-request metric."""

    model_config = ConfigDict(frozen=True)

    p50: float
    p90: float
    p95: float
    p99: float
    mean: float


def percentiles(values: np.ndarray, *, higher_is_better: bool = False) -> Percentiles:
    """Percentiles (linear interpolation); NaN when there are no values.

    For latencies pXX is the value XX% of requests stay under. For speeds (`higher_is_better`) pXX is the speed
    XX% of requests reach or beat, i.e. the (100 - XX)th numeric percentile, so p95 is the slow tail either way.
    """
    if len(values) == 0:
        nan = float("nan")
        return Percentiles(p50=nan, p90=nan, p95=nan, p99=nan, mean=nan)
    qs = [50, 10, 5, 1] if higher_is_better else [50, 90, 95, 99]
    p = np.percentile(values, qs)
    return Percentiles(p50=float(p[0]), p90=float(p[1]), p95=float(p[2]), p99=float(p[3]), mean=float(np.mean(values)))


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


class RequestOutcome(BaseModel):
    """What one simulated request experienced (seconds from the start of the day)."""

    model_config = ConfigDict(frozen=True)

    request: int
    job: str | None
    """Batch job name, None for interactive traffic."""
    arrival_s: float
    queue_wait_s: float
    ttft_s: float
    tpot_ms: float | None
    tok_s: float | None
    e2e_s: float
    prompt_tokens: int
    output_tokens: int


class SimulationResult(BaseModel):
    """One option's simulated day."""

    model_config = ConfigDict(frozen=True)

    option: str
    users: int
    seed: int
    requests: int
    """Interactive requests that arrived."""
    completed: int
    """Interactive requests that finished."""
    rejected: int
    """Requests too long for the replica's context or KV cache."""
    truncated: int
    """Requests whose output was cut to fit a slot's context."""
    unfinished: int
    """Requests still queued or running when the simulation stopped."""
    per_user_tok_s: Percentiles
    """Decode speed of each stream = (output - 1) / (finish - first token), tok/s; p95 = speed 95% of requests reach."""
    ttft_s: Percentiles
    """Arrival to first token, s."""
    queue_wait_s: Percentiles
    """Arrival to admission into the running batch, s."""
    tpot_ms: Percentiles
    """Time per output token after the first, ms."""
    e2e_s: Percentiles
    """Arrival to last token, s."""
    ttft_histogram: Histogram
    """Distribution of TTFT over interactive requests, s."""
    tok_s_histogram: Histogram
    """Distribution of per-stream decode speed over interactive requests, tok/s."""
    slo_attainment: float
    """Fraction of interactive requests meeting both the TTFT and the tok/s objective."""
    meets_slo: bool
    """slo_attainment >= the SLO percentile."""
    goodput_rps: float
    """Requests per second over the active day that met the SLO."""
    peak_concurrency: int
    """Most sequences running together on one replica."""
    mean_concurrency: float
    """Time-averaged running sequences per replica while busy."""
    busy_fraction: float
    """Share of the simulated span the hardware was stepping."""
    batch_jobs: list[BatchJobResult]
    decode_steps: int
    preemptions: int
    output_tokens: int
    prompt_tokens: int
    simulated_hours: float
    stopped_early: str | None
    """Why the run stopped before every request finished, if it did."""
    per_request: list[RequestOutcome] | None = None
    """Every finished request, when asked for (`keep_requests`)."""


def slo_mask(ttft_s: np.ndarray, tok_s: np.ndarray, slo: Slo) -> np.ndarray:
    """Requests meeting both objectives."""
    return (ttft_s <= slo.max_ttft_s) & (tok_s >= slo.min_tok_s_per_user)
