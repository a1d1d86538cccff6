"""Capacity-aware fleet sizing: the fewest replicas whose simulated day meets the SLO and batch windows."""

from __future__ import annotations

from tokenlane.capacity import Deployment
from tokenlane.scenario import Workload
from tokenlane.simulate import SimulationResult, simulate_day


def carries(result: SimulationResult) -> bool:
    """Meets the interactive SLO and finishes every batch job inside its window."""
    return result.meets_slo and all(job.met_window for job in result.batch_jobs)


def size_fleet(
    dep: Deployment, workload: Workload, *, min_replicas: int, max_replicas: int, seed: int
) -> tuple[int, SimulationResult, bool]:
    """(replicas, their simulated day, whether they carry the load) — doubling then bisection on replicas.

    When even `max_replicas` cannot carry the load, returns max_replicas with carries False. It stops early (carries
    False) when doubling the fleet no longer raises SLO attainment and requests no longer queue: the SLO is then out
    of reach per request (one prompt's prefill or one stream's speed), and more replicas cannot help.
    """
    cache: dict[int, SimulationResult] = {}

    def run(n: int) -> SimulationResult:
        if n not in cache:
            cache[n] = simulate_day(dep, workload, replicas=n, seed=seed)
        return cache[n]

    lo = min_replicas
    if carries(run(lo)):
        return lo, run(lo), True
    hi = lo
    while hi < max_replicas:
        hi = min(max_replicas, hi * 2)
        if carries(run(hi)):
            break
        if _saturated(run(lo), run(hi)):
            return hi, run(hi), False
        lo = hi
    else:
        return max_replicas, run(max_replicas), carries(run(max_replicas))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if not carries(run(mid)) else (lo, mid)
    return hi, run(hi), True


def _saturated(smaller: SimulationResult, larger: SimulationResult) -> bool:
    """More replicas stopped helping: attainment gained under half a point and p95 queue wait under 0.1 s."""
    return larger.slo_attainment - smaller.slo_attainment < 0.005 and larger.queue_wait_s.p95 < 0.1
