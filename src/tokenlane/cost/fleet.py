"""Capacity-aware fleet sizing: the fewest replicas whose simulated day meets the SLO and batch windows."""

from __future__ import annotations

import math
from collections.abc import Callable

from tokenlane.simulate import BatchJobResult, Boundary, SimulationResult, smallest_passing


def carries(result: SimulationResult) -> bool:
    """Meets the interactive SLO and finishes every batch job inside its window."""
    return result.meets_slo and all(job.met_window for job in result.batch_jobs)


def size_fleet(day: Callable[[int], SimulationResult], *, min_replicas: int, max_replicas: int, guess: int | None = None) -> Boundary:
    """The fewest replicas in [min_replicas, max_replicas] whose day (`day(replicas)`) carries the load (`guess`: a
    likely answer to try first, see `smallest_passing`).

    Doubling then bisection (`simulate.smallest_passing`). It gives up early when doubling the fleet no longer
    raises SLO attainment and requests no longer queue: the SLO is then out of reach per request (one prompt's
    prefill or one stream's speed), and more replicas cannot help.
    """
    return smallest_passing(day, carries, start=min_replicas, limit=max_replicas, give_up=_saturated, guess=guess)


def _saturated(smaller: SimulationResult, larger: SimulationResult) -> bool:
    """More replicas stopped helping: SLO attainment gained under half a point with p95 queue wait under 0.1 s, and
    every batch job either meets its window already or did not get on: it finished no more than 1% sooner, or, when
    neither fleet finished it within the day, served no more than 1% more of its requests (two unfinished jobs both
    take infinitely long, which says nothing about whether the larger fleet helped)."""
    waits = larger.queue_wait_s.p95
    interactive_flat = larger.slo_attainment - smaller.slo_attainment < 0.005 and (waits is None or waits < 0.1)
    return interactive_flat and all(_batch_flat(a, b) for a, b in zip(smaller.batch_jobs, larger.batch_jobs, strict=True))


def _batch_flat(smaller: BatchJobResult, larger: BatchJobResult) -> bool:
    if larger.met_window:
        return True
    if math.isinf(smaller.completion_hours) and math.isinf(larger.completion_hours):
        return larger.completed <= 1.01 * smaller.completed
    return larger.completion_hours >= 0.99 * smaller.completion_hours
