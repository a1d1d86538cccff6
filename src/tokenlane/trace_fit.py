"""`tokenlane workload fit`: a request log summarised as the scenario's `workload` section it stands for.

Every number is a count or a quantile of the log, so the section can be pasted into a scenario and edited:
- `active_hours`: the span of the log plus one mean gap between arrivals; `requests_per_user_hour`: requests / users
  / active hours; `hourly_weights` (logs of 2 h or more): requests per clock hour from the first arrival, as a share
  of the mean (a partial last hour counted at its rate);
- token counts: quantile tables (`TRACE_QUANTILES`); with sessions, the prompt table is of the *new* tokens of each
  turn (the prompt less the previous turn it resends), since the workload's multi-turn model adds that context back;
- `turns_per_session`: requests per session (rounded); `shared_prefix_tokens` and `cache_hit_rate`: the mean cached
  prompt tokens of the requests that had any, and their share (hits that are a session's resent turn excluded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from tokenlane.errors import InputError
from tokenlane.scenario import TokenDistribution
from tokenlane.traces import Trace
from tokenlane.units import S_PER_HOUR

MIN_HOURS_FOR_CURVE = 2.0
"""Shorter logs are fitted as a flat (Poisson) rate: an hourly curve needs at least two hours."""


@dataclass(frozen=True)
class WorkloadFit:
    """The fitted section and the facts behind it."""

    workload: dict[str, Any]
    requests: int
    hours: float
    users: int
    users_from: str
    """'the log' (distinct users it names) or '--users'."""
    sessions: int
    skipped: int

    def yaml(self, source: str) -> str:
        """The section as YAML, with a comment naming the log and how it was read."""
        facts = (
            f"# fitted by `tokenlane workload fit` from {source}: {self.requests:,} requests over {self.hours:.2f} h, "
            f"{self.users:,} users ({self.users_from})"
            + (f", {self.sessions:,} sessions" if self.sessions else "")
            + (f", {self.skipped:,} failed requests left out" if self.skipped else "")
        )
        body = yaml.safe_dump({"workload": self.workload}, sort_keys=False, default_flow_style=None, width=120)
        return facts + "\n" + body


def fit_workload(trace: Trace, *, users: int | None, block_tokens: int) -> WorkloadFit:
    """The workload section `trace` stands for; `users` overrides the distinct users the log names (required when it
    names none)."""
    people = users or trace.users
    if not people:
        raise InputError("the log names no users: give the number of people whose requests it holds", field="--users")
    hours = trace.period_s / S_PER_HOUR
    workload: dict[str, Any] = {
        "users": people,
        "active_hours": round(hours, 3),
        "requests_per_user_hour": round(len(trace) / people / hours, 4),
    }
    if hours >= MIN_HOURS_FOR_CURVE:
        workload["arrival"] = "diurnal"
        workload["hourly_weights"] = _hourly_weights(trace.arrival_s, hours)
    else:
        workload["arrival"] = "poisson"
    resent = trace.session_cached if trace.sessions else np.zeros(len(trace), dtype=np.int64)
    new_tokens = np.maximum(1, trace.prompt_tokens - resent)
    workload["prompt_tokens"] = _table(new_tokens)
    workload["output_tokens"] = _table(trace.output_tokens)
    if trace.sessions:
        workload["turns_per_session"] = max(1, round(len(trace) / trace.sessions))
    cached = np.maximum(0, trace.cached_tokens(block_tokens) - resent)
    hit = cached > 0
    if hit.any():
        workload["shared_prefix_tokens"] = round(float(cached[hit].mean()))
        workload["cache_hit_rate"] = round(float(hit.mean()), 4)
    return WorkloadFit(workload, len(trace), hours, people, "--users" if users else "the log", trace.sessions, trace.skipped)


def _table(counts: np.ndarray) -> dict[str, Any]:
    dist = TokenDistribution.from_counts(counts)
    assert dist.quantiles is not None
    return {"quantiles": dist.quantiles}


def _hourly_weights(arrival_s: np.ndarray, hours: float) -> list[float]:
    """Requests per hour from the first arrival over their mean; a partial last hour counts at its rate."""
    slots = math.ceil(hours - 1e-9)
    counts = np.bincount(np.minimum((arrival_s // S_PER_HOUR).astype(int), slots - 1), minlength=slots).astype(float)
    lengths = np.minimum(1.0, hours - np.arange(slots))
    rates = counts / lengths
    return [max(round(float(r), 3), 0.001) for r in rates / rates.mean()]
