"""The replicas an autoscaled day holds: which are off, warming up, serving or draining, since when, and what the
holding is billed.

A replica is held (billed) from the moment it is asked for until it is released: through its cold start (weights
read, engine started, kernels captured), while it serves, and while it drains its last requests after the fleet
chose to shrink. Each held stretch is billed in whole increments with a minimum, as the provider bills instances.
# Source: AWS EC2 On-Demand pricing, "Per Second Billing" (per-second increments, 60-second minimum), read 2026-12-03.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from tokenlane.simulate.entities import ApiServing
from tokenlane.simulate.log import RequestLog
from tokenlane.units import S_PER_HOUR, format_duration, format_number, plural

OFF, WARMING, WARM, DRAINING = range(4)
"""A replica's states: not held; held and starting (takes no steps); serving; serving its last requests before release."""
DAY_S = 24 * S_PER_HOUR


@dataclass(frozen=True)
class ScalingPlan:
    """An option's `autoscale` section resolved for one deployment and workload (`simulate.runs.scaling_plan`)."""

    policy: str
    min_replicas: int
    max_replicas: int
    cold_start_s: float
    interval_s: float
    scale_down_idle_s: float
    signal: str
    """`requests`, `queue` or `kv_cache` (scenario.ScaleTarget)."""
    target: float
    """The signal's level per replica."""
    schedule: tuple[int, ...]
    """`scheduled`: replicas per active hour (empty for `reactive`)."""
    billing_increment_s: float
    billing_minimum_s: float
    spill: ApiServing | None = None
    spillover: str | None = None
    """The spillover API option's name."""


class ScalingResult(BaseModel):
    """What an autoscaled day held and paid for."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    policy: str
    min_replicas: int
    max_replicas: int
    target: str
    """The signal and its level per replica, in words."""
    cold_start_s: float
    cold_starts: int
    """Replicas started during the day (each paid its cold start; those warmed up before a scheduled hour included)."""
    replica_hours: float
    """Replica-hours held per 24-hour day (replicas held at the day's end stay held until the next day's start)."""
    billed_replica_hours: float
    """The same, each held stretch rounded up to the billing increment and minimum."""
    waited_requests: int
    """Requests that arrived with no replica serving and waited for one to warm up (their TTFT holds the cold start)."""
    spilled_requests: int
    spillover: str | None
    peak_replicas: int
    """Most replicas held at once."""
    times_s: list[float]
    """When the fleet changed, s from the start of the day (the first entry: the start)."""
    held: list[int]
    """Replicas held from each of `times_s` on (warming, serving or draining)."""
    warm: list[int]
    """Replicas serving from each of `times_s` on."""
    spilled_log: RequestLog | None = Field(default=None, exclude=True, repr=False)
    """The spilled requests (billed on the spillover API by cost)."""

    def words(self, name: str) -> str:
        """'scaled follows the day: 9.1 replica-hours billed a workday against 24 for a fixed fleet of its peak, 1
        replica (it may hold 0 to 64); 1 cold start of 2.2 min (3 requests waited on one); 0 requests spilled to
        sonnet'."""
        starts = f"{plural(self.cold_starts, 'cold start')} of {format_duration(self.cold_start_s)}"
        waited = f" ({plural(self.waited_requests, 'request')} waited on one)" if self.waited_requests else ""
        spilled = f"; {plural(self.spilled_requests, 'request')} spilled to {self.spillover}" if self.spillover else ""
        return (
            f"{name} follows the day: {format_number(self.billed_replica_hours, 1)} replica-hours billed a workday against "
            f"{self.peak_replicas * 24:,} for a fixed fleet of its peak, {plural(self.peak_replicas, 'replica')} (it may hold "
            f"{self.min_replicas} to {self.max_replicas}); {starts}{waited}{spilled}"
        )


class Fleet:
    """States of `n` replicas and the stretches they were held, in simulated seconds."""

    def __init__(self, plan: ScalingPlan, n: int) -> None:
        self.plan = plan
        self.state = [OFF] * n
        self.since = [0.0] * n
        """When each held replica's stretch began."""
        self.warm_at = [math.inf] * n
        """When each warming replica will serve."""
        self.stretches: list[float] = []
        """Seconds of each released stretch."""
        self.cold_starts = 0
        self.waited = 0
        """Requests routed to a replica still warming up."""
        self.load = 0.0
        """Requests in the replicas and at the spillover API now."""
        self._spill_ends: list[float] = []
        """When each spilled request in flight finishes (a heap)."""
        self._area, self._last_s, self._window = 0.0, 0.0, (0.0, 0.0)
        """Integral of `load` over time up to `_last_s`; (time, integral) when the last mean was read."""
        self.recent: deque[tuple[float, int]] = deque()
        """(time s, replicas wanted) of the policy's answers within the last `scale_down_idle_s`."""
        self.changes: list[tuple[float, int, int]] = []

    def _advance(self, now_s: float) -> None:
        """Integrate the load up to `now_s`, spilled requests leaving as they finish."""
        while self._spill_ends and self._spill_ends[0] <= now_s:
            end = heapq.heappop(self._spill_ends)
            self._area += self.load * (end - self._last_s)
            self._last_s, self.load = end, self.load - 1
        self._area += self.load * (now_s - self._last_s)
        self._last_s = now_s

    def add_load(self, now_s: float, requests: float) -> None:
        """Requests entered (or, negative, left) the replicas at `now_s`."""
        self._advance(now_s)
        self.load += requests

    def spill(self, now_s: float, finish_s: float) -> None:
        """A request went to the spillover API at `now_s`, to finish at `finish_s`: load the autoscaler sees."""
        self.add_load(now_s, 1)
        heapq.heappush(self._spill_ends, finish_s)

    def spilled_in_flight(self, now_s: float) -> int:
        """Spilled requests still in flight at the API at `now_s`."""
        self._advance(now_s)
        return len(self._spill_ends)

    def mean_load(self, now_s: float) -> float:
        """The load averaged over the time since the last reading (the load now at the first), as Knative's
        autoscaler averages concurrency over a window rather than reading one instant.
        # Source: knative.dev/docs/serving/autoscaling/kpa-specific/ ("stable window")."""
        self._advance(now_s)
        since, area = self._window
        self._window = (now_s, self._area)
        return (self._area - area) / (now_s - since) if now_s > since else self.load

    def settle(self, now_s: float, wanted: int) -> int:
        """The replicas to hold after the policy wanted `wanted` now: more at once; fewer only to the most it wanted
        within the last `scale_down_idle_s` (the stabilisation window of Kubernetes' Horizontal Pod Autoscaler, so
        that a dip in the load does not release a replica it soon needs again).
        # Source: kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ ("Stabilization window")."""
        self.recent.append((now_s, wanted))
        while self.recent[0][0] < now_s - self.plan.scale_down_idle_s:
            self.recent.popleft()
        return max(w for _, w in self.recent)

    def count(self, *states: int) -> int:
        return sum(1 for s in self.state if s in states)

    def indices(self, *states: int) -> list[int]:
        return [i for i, s in enumerate(self.state) if s in states]

    @property
    def active(self) -> int:
        """Replicas warming or serving that are not draining: what the fleet is heading for."""
        return self.count(WARMING, WARM)

    def hold_warm(self, i: int, since_s: float, *, cold: bool) -> None:
        """Replica `i` serves from the start of the day, held since `since_s` (before the day, when it warmed up ahead
        of a scheduled first hour: a cold start paid)."""
        self.state[i], self.since[i] = WARM, since_s
        self.cold_starts += cold

    def start(self, i: int, now_s: float) -> float:
        """Ask for replica `i`: it is held from now and serves after the cold start; returns when."""
        self.state[i], self.since[i] = WARMING, now_s
        self.warm_at[i] = now_s + self.plan.cold_start_s
        self.cold_starts += 1
        self.note(now_s)
        return self.warm_at[i]

    def warm(self, i: int, now_s: float) -> None:
        """Replica `i` has warmed up: it serves from now."""
        self.state[i], self.warm_at[i] = WARM, math.inf
        self.note(now_s)

    def drain(self, i: int) -> None:
        """Replica `i` takes no new requests; it is released once its last one finishes."""
        self.state[i] = DRAINING

    def undrain(self, i: int) -> None:
        """A draining replica takes requests again (the load rose before it emptied)."""
        self.state[i] = WARM

    def release(self, i: int, now_s: float) -> None:
        """Stop holding replica `i` (it has no requests left)."""
        self.stretches.append(now_s - self.since[i])
        self.state[i], self.warm_at[i] = OFF, math.inf
        self.note(now_s)

    def note(self, now_s: float) -> None:
        """Record the fleet's size if it changed."""
        held, warm = self.count(WARMING, WARM, DRAINING), self.count(WARM, DRAINING)
        if not self.changes or self.changes[-1][1:] != (held, warm):
            if self.changes and self.changes[-1][0] == now_s:
                self.changes.pop()
            self.changes.append((now_s, held, warm))

    def billed_s(self, seconds: float) -> float:
        """One held stretch as billed: whole increments, at least the minimum."""
        inc = self.plan.billing_increment_s
        return max(self.plan.billing_minimum_s, math.ceil(seconds / inc - 1e-9) * inc)

    def result(self, end_s: float, *, spilled: RequestLog | None, words: str) -> ScalingResult:
        """The day's holding, with the replicas still held at `end_s` held on to the next day's start (their stretch
        continues there: not billed as a stretch of its own)."""
        still = [max(end_s, DAY_S) - self.since[i] for i, s in enumerate(self.state) if s != OFF]
        held_s = sum(self.stretches) + sum(still)
        billed_s = sum(self.billed_s(s) for s in self.stretches) + sum(still)
        plan = self.plan
        return ScalingResult(
            policy=plan.policy,
            min_replicas=plan.min_replicas,
            max_replicas=plan.max_replicas,
            target=words,
            cold_start_s=plan.cold_start_s,
            cold_starts=self.cold_starts,
            waited_requests=self.waited,
            replica_hours=held_s / S_PER_HOUR,
            billed_replica_hours=billed_s / S_PER_HOUR,
            spilled_requests=len(spilled) if spilled is not None else 0,
            spillover=plan.spillover,
            peak_replicas=max((h for _, h, _ in self.changes), default=0),
            times_s=[t for t, _, _ in self.changes],
            held=[h for _, h, _ in self.changes],
            warm=[w for _, _, w in self.changes],
            spilled_log=spilled,
        )
