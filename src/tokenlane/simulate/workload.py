"""Turn a scenario's workload into requests: token counts, arrival times, sessions, batch jobs.

Pure: every random draw comes from the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tokenlane.scenario import TokenDistribution, Workload, weibull_shape_for
from tokenlane.units import S_PER_HOUR

DEFAULT_DIURNAL = (0.55, 0.95, 1.15, 1.0, 0.55, 0.85, 1.2, 1.15, 0.8)
"""Relative request rate over a 9-hour office day: morning ramp, lunch dip (hour 5), afternoon peak.
Shape after the hourly load of enterprise chat assistants reported in Microsoft's "Splitwise" traces (ISCA 2024, fig. 3)."""


def sample_tokens(dist: TokenDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` token counts (>= 1) from a constant, a Weibull fitted to {mean, p90}, or explicit values/weights."""
    if dist.values is not None:
        w = np.asarray(dist.weights or [1.0] * len(dist.values), dtype=float)
        return rng.choice(np.asarray(dist.values), size=n, p=w / w.sum())
    assert dist.mean is not None
    if dist.p90 is None:
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


@dataclass(frozen=True)
class Requests:
    """Open-loop requests as parallel arrays, sorted by arrival."""

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    cached_tokens: np.ndarray
    """Prompt tokens already in the prefix cache when the request arrives."""
    user: np.ndarray
    job: np.ndarray
    """-1 for interactive traffic, else the index of the batch job."""

    def __len__(self) -> int:
        return len(self.arrival_s)


def _open_loop_arrivals(workload: Workload, users: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrival times (s), user ids, prompt and output tokens of the day's open-loop requests.

    Each user is a Poisson process at requests_per_user_hour x the hour's profile weight, drawn from a random
    stream of its own (common random numbers): N + k users see exactly N users' requests plus k users' more.
    """
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
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0), empty, empty, empty
    arrival, user, prompt, output = (np.concatenate([p[i] for p in parts]) for i in range(4))
    order = np.argsort(arrival, kind="stable")
    return arrival[order], user[order], prompt[order], output[order]


def apply_sessions_and_cache(
    workload: Workload, user: np.ndarray, prompt: np.ndarray, output: np.ndarray, *, prefix_caching: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-turn sessions and shared-prefix caching: returns (prompt tokens sent, tokens found in cache).

    Turn j of a user's session resends the conversation so far (previous prompts and outputs) plus the new
    message; with prefix caching the resent part is a cache hit. The shared prefix hits with `cache_hit_rate`.
    """
    sent = prompt.astype(np.int64).copy()
    cached = np.zeros_like(sent)
    if workload.shared_prefix_tokens and prefix_caching:
        hits = rng.random(len(sent)) < workload.cache_hit_rate
        cached = np.where(hits, np.minimum(workload.shared_prefix_tokens, sent - 1), 0)
    if workload.turns_per_session > 1:
        history: dict[int, tuple[int, int]] = {}
        for i, u in enumerate(user.tolist()):
            turn, context = history.get(u, (0, 0))
            if turn:
                sent[i] += context
                if prefix_caching:
                    cached[i] = max(cached[i], context)
            turn = (turn + 1) % workload.turns_per_session
            history[u] = (turn, int(sent[i] + output[i]) if turn else 0)
    return sent, cached


def build_requests(workload: Workload, *, users: int, prefix_caching: bool, rng: np.random.Generator) -> Requests:
    """All open-loop interactive requests of the day plus every batch job's requests."""
    if workload.arrival_pattern == "closed_loop":
        arrival, user, prompt, output = np.zeros(0), *(np.zeros(0, dtype=np.int64) for _ in range(3))
    else:
        arrival, user, prompt, output = _open_loop_arrivals(workload, users, rng)
    prompt, cached = apply_sessions_and_cache(workload, user, prompt, output, prefix_caching=prefix_caching, rng=rng)
    parts = [(arrival, prompt, output, cached, user, np.full(len(arrival), -1))]
    for j, job in enumerate(workload.batch_jobs):
        start_h = job.start_hour if job.start_hour is not None else workload.active_hours
        n = job.requests
        parts.append(
            (
                np.full(n, start_h * S_PER_HOUR),
                np.full(n, job.prompt_tokens),
                np.full(n, job.output_tokens),
                np.zeros(n, dtype=np.int64),
                np.full(n, -1),
                np.full(n, j),
            )
        )
    cols = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    order = np.argsort(cols[0], kind="stable")
    return Requests(*(c[order] for c in cols))
