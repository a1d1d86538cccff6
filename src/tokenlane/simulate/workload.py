"""Turn a scenario's workload into requests: token counts, arrival times, sessions, batch jobs.

Pure: every random draw comes from the `numpy.random.Generator` passed in. Open-loop requests and batch jobs are
known before the day starts (`open_loop_requests`, `batch_blocks`); closed-loop requests are drawn by the event
loop as users come back (`Sessions.one`). Both go through the one `Sessions` object, the only home of multi-turn
context and shared-prefix cache hits.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from tokenlane.scenario import WEIBULL_PEAK_SHAPE, TokenDistribution, Workload, weibull_p90_over_mean
from tokenlane.units import S_PER_HOUR

DEFAULT_DIURNAL = (0.55, 0.95, 1.15, 1.0, 0.55, 0.85, 1.2, 1.15, 0.8)
"""Relative request rate over a 9-hour office day: morning ramp, lunch dip (hour 5), afternoon peak.
Shape after the hourly load of enterprise chat assistants reported in Microsoft's "Splitwise" traces (ISCA 2024, fig. 3)."""


@functools.lru_cache(maxsize=1024)
def weibull_shape_for(p90_over_mean: float) -> float:
    """Weibull shape k >= the peak shape whose p90/mean equals the given ratio in (1, MAX_P90_OVER_MEAN].

    The ratio falls strictly with k above the peak, so bisection on log k finds the unique root.
    """
    lo, hi = math.log(WEIBULL_PEAK_SHAPE), math.log(500.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if weibull_p90_over_mean(math.exp(mid)) > p90_over_mean else (lo, mid)
    return math.exp((lo + hi) / 2)


def sample_tokens(dist: TokenDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` token counts (>= 1) from a constant, a Weibull fitted to {mean, p90}, explicit values/weights, or a
    quantile table (inverse transform: straight lines between the given quantiles)."""
    if dist.values is not None:
        w = np.asarray(dist.weights or [1.0] * len(dist.values), dtype=float)
        return rng.choice(np.asarray(dist.values), size=n, p=w / w.sum())
    if dist.quantiles is not None:
        probs = sorted(dist.quantiles)
        counts = [dist.quantiles[p] for p in probs]
        return np.maximum(1, np.rint(np.interp(rng.random(n), probs, counts))).astype(np.int64)
    if dist.mean is None:
        raise ValueError("a {from: ...} distribution must be read first (load_scenario)")
    if dist.is_constant or dist.p90 is None:
        return np.full(n, max(1, round(dist.mean)), dtype=np.int64)
    k = weibull_shape_for(dist.p90 / dist.mean)
    scale = dist.mean / math.gamma(1 + 1 / k)
    return np.maximum(1, np.rint(scale * rng.weibull(k, size=n))).astype(np.int64)


def hourly_profile(workload: Workload) -> np.ndarray:
    """Relative rate per active hour, mean 1 (user weights, or the default curve stretched over the day)."""
    hours = max(1, math.ceil(workload.active_hours))
    if workload.hourly_weights is not None:
        w = np.asarray(workload.hourly_weights, dtype=float)
        w = np.interp(np.linspace(0, len(w) - 1, hours), np.arange(len(w)), w) if len(w) != hours else w
    else:
        base = np.asarray(DEFAULT_DIURNAL)
        w = np.interp(np.linspace(0, len(base) - 1, hours), np.arange(len(base)), base)
    return w / w.mean()


def busiest_hour_requests(workload: Workload) -> float:
    """Interactive requests expected in the busiest active hour (open loop: the rate x the hourly profile's peak;
    closed loop: 0, as its rate follows the service's own speed)."""
    if workload.arrival_pattern == "closed_loop":
        return 0.0
    peak = 1.0 if workload.arrival_pattern == "poisson" else float(hourly_profile(workload).max())
    return workload.users * workload.requests_per_user_hour * peak


class Sessions:
    """Multi-turn sessions and shared-prefix caching, per user.

    Turn j of a user's session resends the conversation so far (previous prompts and outputs) plus the new
    message; with prefix caching the resent part is a cache hit. The shared prefix hits with `cache_hit_rate`.
    After `turns_per_session` turns (or a rejected request) the user starts a new conversation.
    """

    def __init__(self, workload: Workload, *, prefix_caching: bool, rng: np.random.Generator) -> None:
        self._workload = workload
        self.prefix_caching = prefix_caching
        self._rng = rng
        self._state: dict[int, tuple[int, int]] = {}
        """user -> (turn index of the next request, context tokens carried into it)."""

    def apply(self, user: np.ndarray, prompt: np.ndarray, output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prompt tokens sent, tokens found in the cache, tokens written to it) of requests in the order they are
        sent: a request that misses the shared prefix writes it (an API bills the write; later requests read it)."""
        w = self._workload
        sent = prompt.astype(np.int64).copy()
        cached = np.zeros_like(sent)
        write = np.zeros_like(sent)
        if w.shared_prefix_tokens and self.prefix_caching:
            hits = self._rng.random(len(sent)) < w.cache_hit_rate
            prefix = np.minimum(w.shared_prefix_tokens, sent - 1)
            cached = np.where(hits, prefix, 0)
            write = np.where(hits, 0, prefix)
        if w.turns_per_session > 1:
            state = self._state
            for i, u in enumerate(user.tolist()):
                turn, context = state.get(u, (0, 0))
                if turn:
                    sent[i] += context
                    if self.prefix_caching:
                        cached[i] = max(cached[i], context)
                        write[i] = 0 if cached[i] else write[i]
                turn = (turn + 1) % w.turns_per_session
                state[u] = (turn, int(sent[i] + output[i]) if turn else 0)
        return sent, cached, write

    def one(self, user: int) -> tuple[int, int, int, int]:
        """(prompt sent, cached, cache write, output) of one closed-loop request of `user`, drawn now."""
        w = self._workload
        prompt = sample_tokens(w.prompt_tokens, 1, self._rng)
        output = sample_tokens(w.output_tokens, 1, self._rng)
        sent, cached, write = self.apply(np.array([user]), prompt, output)
        return int(sent[0]), int(cached[0]), int(write[0]), int(output[0])

    def reset(self, user: int) -> None:
        """The user's conversation ends (its last request was rejected): the next request starts a new one."""
        self._state.pop(user, None)


@dataclass(frozen=True)
class OpenLoopRequests:
    """The day's open-loop interactive requests as parallel arrays, sorted by arrival."""

    arrival_s: np.ndarray
    user: np.ndarray
    prompt_tokens: np.ndarray
    cached_tokens: np.ndarray
    """Prompt tokens already in the prefix cache when the request arrives."""
    write_tokens: np.ndarray
    """Prompt tokens the request writes to a provider's prompt cache (for later requests to read)."""
    output_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)


def open_loop_requests(workload: Workload, users: int, sessions: Sessions, rng: np.random.Generator) -> OpenLoopRequests:
    """The day's open-loop requests (none for closed-loop workloads).

    Each user is a Poisson process at requests_per_user_hour x the hour's profile weight, drawn from a random
    stream of its own (common random numbers): N + k users see exactly N users' requests plus k users' more.
    """
    empty = np.zeros(0, dtype=np.int64)
    if workload.trace is not None:
        return trace_requests(workload, prefix_caching=sessions.prefix_caching, rng=rng)
    if workload.arrival_pattern == "closed_loop" or workload.requests_per_user_hour == 0:
        return OpenLoopRequests(np.zeros(0), empty, empty, empty, empty, empty)
    flat = workload.arrival_pattern == "poisson"
    profile = np.ones(max(1, math.ceil(workload.active_hours))) if flat else hourly_profile(workload)
    lengths_h = np.minimum(1.0, workload.active_hours - np.arange(len(profile)))
    base = int(rng.integers(2**62))
    parts: list[tuple[np.ndarray, ...]] = []
    for u in range(users):
        user_rng = np.random.default_rng([base, u])
        counts = user_rng.poisson(workload.requests_per_user_hour * profile * lengths_h)
        hours = np.repeat(np.arange(len(profile)), counts)
        times = (hours + user_rng.uniform(0, 1, size=len(hours)) * lengths_h[hours]) * S_PER_HOUR
        prompt = sample_tokens(workload.prompt_tokens, len(times), user_rng)
        output = sample_tokens(workload.output_tokens, len(times), user_rng)
        parts.append((times, np.full(len(times), u), prompt, output))
    arrival, user, prompt, output = (np.concatenate([p[i] for p in parts]) if parts else empty for i in range(4))
    order = np.argsort(arrival, kind="stable")
    arrival, user, prompt, output = arrival[order], user[order], prompt[order], output[order]
    sent, cached, write = sessions.apply(user, prompt, output)
    return OpenLoopRequests(arrival.astype(float), user, sent, cached, write, output.astype(np.int64))


def trace_requests(workload: Workload, *, prefix_caching: bool, rng: np.random.Generator) -> OpenLoopRequests:
    """The trace's requests laid over the day (`TraceSource.replay_plan`): from `start_hour`, gaps / `rate_multiplier`,
    its own token counts, prefix-cache hits and cache writes (where the server caches prefixes).

    Scaled or repeated, repetition t carries scale x weight_t copies of every request (weights: the hourly profile
    at the repetition's hour, mean 1): whole copies, then a copy thinned to the fraction. Every copy but the first
    is shifted by a random phase of the period (wrapped into it), so copies interleave as other people's requests
    would rather than arrive together; copy c is sent by other people than copy 0 (users offset by c x the trace's
    users) and keeps its original's token counts, hits and writes.
    Replayed once for its own users, the trace is reproduced exactly.
    """
    source = workload.trace
    assert source is not None
    trace = source.read()
    plan = source.replay_plan(trace, workload.users)
    if plan.tiles > 1:
        mid_hours = (np.arange(plan.tiles) + 0.5) * plan.period_s / S_PER_HOUR
        profile = hourly_profile(workload)
        weights = profile[np.minimum(mid_hours.astype(int), len(profile) - 1)]
        weights = weights / weights.mean()
    else:
        weights = np.ones(1)
    offset = trace.arrival_s / source.rate_multiplier
    none = np.zeros(len(trace), dtype=np.int64)
    cached = trace.cached_tokens(source.block_tokens) if prefix_caching else none
    write = trace.write_tokens(source.block_tokens) if prefix_caching else none
    people = trace.users or len(trace)
    who = trace.user if trace.users else np.arange(len(trace), dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for t, weight in enumerate(weights.tolist()):
        copies = plan.scale * weight
        whole = math.floor(copies)
        m = math.ceil(copies)
        for c in range(m):
            keep = slice(None) if c < whole else np.flatnonzero(rng.random(len(trace)) < copies - whole)
            shifted = offset if c == 0 else (offset + rng.uniform(0.0, plan.period_s)) % plan.period_s
            parts.append((t * plan.period_s + shifted[keep], np.arange(len(trace))[keep], who[keep] + c * people))
    arrival = np.concatenate([p[0] for p in parts]) + source.start_hour * S_PER_HOUR
    index = np.concatenate([p[1] for p in parts])
    user = np.concatenate([p[2] for p in parts]) % workload.users
    order = np.argsort(arrival, kind="stable")
    index = index[order]
    return OpenLoopRequests(
        arrival[order], user[order], trace.prompt_tokens[index], cached[index], write[index], trace.output_tokens[index]
    )


@dataclass(frozen=True)
class BatchBlock:
    """One batch job: `requests` identical requests submitted together at `arrival_s`."""

    job: int
    arrival_s: float
    requests: int
    prompt_tokens: int
    output_tokens: int


def batch_blocks(workload: Workload) -> list[BatchBlock]:
    """The day's batch jobs in submission order (default submission: right after the active hours)."""
    blocks = [
        BatchBlock(
            job=j,
            arrival_s=(job.start_hour if job.start_hour is not None else workload.active_hours) * S_PER_HOUR,
            requests=job.requests,
            prompt_tokens=job.prompt_tokens,
            output_tokens=job.output_tokens,
        )
        for j, job in enumerate(workload.batch_jobs)
    ]
    return sorted(blocks, key=lambda b: (b.arrival_s, b.job))
