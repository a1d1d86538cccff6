"""How fast one replica finishes a batch job's identical requests with nothing else on it: its saturated throughput,
measured by simulating a short run of the job. It bounds fleet sizing from below: a job of N requests and a window of
W seconds needs at least N / (throughput x W) replicas, so the days of smaller fleets need not be simulated.

Each replica of a fleet serves its share of the job alone (the router water-fills the job over the replicas) and the
saturated steady state is the fastest a replica finishes them: interactive requests beside the job, the ramp as the
batch fills and the drain as it empties all only slow it down.
"""

from __future__ import annotations

import math

import numpy as np

from tokenlane.capacity import Deployment
from tokenlane.scenario import BatchJob, Workload
from tokenlane.simulate.log import SERVED
from tokenlane.simulate.run import simulate_day
from tokenlane.simulate.schedulers import scheduler_for
from tokenlane.units import S_PER_HOUR

PROBE_GENERATIONS = 16
"""Requests in a probe: this many times the engine's running cap (a generation: as many as run together)."""
RATE_MARGIN = 0.03
"""The bound takes a replica to be this much faster than its probe measured. The probe's rate over the middle half of
its completions was within 0.9% of the rate of runs 12x as long (200 generations), on vLLM on an H100 (1,200 + 80 and
8,000 + 2,000 tokens) and an RTX Pro 6000, and on llama.cpp on a DGX Spark: `benchmarks/cli_speed.py` prints the check."""


def _probe_requests(dep: Deployment, scheduler: str | None) -> int:
    """Requests in a probe: PROBE_GENERATIONS x the engine's running cap."""
    return PROBE_GENERATIONS * max(1, scheduler_for(dep, scheduler).running_cap())


def saturated_rate_rps(dep: Deployment, job: BatchJob, *, scheduler: str | None = None, exact: bool = False) -> float:
    """Requests per second one replica finishes when saturated with `job`'s requests (0.0 when the engine rejects them):
    the middle half of the completions of a probe of PROBE_GENERATIONS x the running cap requests."""
    requests = _probe_requests(dep, scheduler)
    probe = job.model_copy(update={"requests": requests, "start_hour": 0.0, "window_hours": 24.0})
    workload = Workload(users=1, requests_per_user_hour=0, active_hours=1, batch_jobs=[probe])
    log = simulate_day(dep, workload, scheduler=scheduler, exact=exact).log
    assert log is not None
    finished = np.sort(log.finished_s[log.outcome == SERVED])
    if len(finished) < requests:
        return 0.0
    first, last = requests // 4, 3 * requests // 4
    span_s = float(finished[last] - finished[first])
    return (last - first) / span_s if span_s > 0 else math.inf


def batch_replicas_floor(dep: Deployment, workload: Workload, *, scheduler: str | None = None, exact: bool = False) -> int:
    """The fewest replicas that could finish every batch job within its window at the saturated rate (plus
    RATE_MARGIN); 1 without batch jobs. Jobs no larger than a probe are not probed (they bound nothing worth it)."""
    floor = 1
    for job in workload.batch_jobs:
        if job.requests <= _probe_requests(dep, scheduler):
            continue
        rate = saturated_rate_rps(dep, job, scheduler=scheduler, exact=exact)
        if rate > 0 and math.isfinite(rate):
            floor = max(floor, math.ceil(job.requests / (rate * (1 + RATE_MARGIN) * job.window_hours * S_PER_HOUR)))
    return floor
