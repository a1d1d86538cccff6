"""A day sharded by replica: the router's assignment first, then each replica's share stepped alone on a worker
(local processes or Ray tasks), then the merge into one day, identical to the day simulated in one process.

This needs a router that reads no replica's load (`router: round_robin` or `session`): its assignment is known before
anything is served. A replica's steps read only its own requests, so its share stepped alone is exactly its part of
the whole day. The least-outstanding router is not sharded: each of its choices reads every replica's outstanding
requests, which depend on when earlier requests finished, which depends on the choices. An exact split then needs a
fixed point per window of arrivals, and `benchmarks/sharded_day.py --fixed-point` measures what that costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tokenlane.capacity import Deployment
from tokenlane.ray_cluster import RayMap
from tokenlane.scenario import Workload
from tokenlane.simulate.metrics import ReplicaCounters, SimulationResult, summarise
from tokenlane.simulate.routers import ROUTERS
from tokenlane.simulate.run import day_requests, simulate_share
from tokenlane.simulate.workload import OpenLoopRequests

Shards = RayMap
"""`shards(fn, items, shared)`: `fn(item, shared)` for each item, in their order, wherever the backend runs them:
`runs.local_shards` (local processes) or `ray_cluster.ray_map` (Ray tasks)."""
WRITTEN = ("admitted_s", "first_token_s", "finished_s", "generated_tokens", "outcome")
"""The log columns a replica writes as it serves; the rest are the requests as made."""


@dataclass(frozen=True)
class ShareResult:
    """A replica's share served: its requests' written columns in their order, its counters, when its last event
    happened (s) and why its run stopped early, if it did."""

    columns: dict[str, np.ndarray]
    counters: ReplicaCounters
    end_s: float
    stopped: str | None


def sharded_day(
    dep: Deployment,
    workload: Workload,
    *,
    option: str = "",
    replicas: int,
    users: int | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    exact: bool = False,
    router: str,
    shards: Shards,
    progress: Callable[[float], None] | None = None,
) -> SimulationResult:
    """The day `simulate_day` gives for an open-loop workload without batch jobs on `replicas` replicas of `dep` behind
    `router` (one of ROUTERS), each replica's share stepped by `shards`; `progress` hears the share of replicas done."""
    assert workload.arrival_pattern != "closed_loop" and not workload.batch_jobs, "scenario.unshardable refuses this day"
    made = day_requests(dep, workload, users=users, seed=seed)
    opened = made.opened
    chosen = ROUTERS[router].choose(replicas, np.arange(len(opened)), opened.user)
    order = np.argsort(chosen, kind="stable")
    edges = np.searchsorted(chosen[order], np.arange(replicas + 1))
    owned = [order[a:b] for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)]
    last_submit_s = float(opened.arrival_s[-1]) if len(opened) else 0.0
    shares: list[ShareResult] = []
    parts = [_part(opened, rids) for rids in owned]
    for share in shards(_serve_share, parts, (dep, workload, scheduler, exact, last_submit_s)):
        shares.append(share)
        if progress is not None:
            progress(len(shares) / replicas)
    cols = made.log.cols
    for rids, share in zip(owned, shares, strict=True):
        for name in WRITTEN:
            cols[name][rids] = share.columns[name]
    return summarise(
        made.log.freeze(),
        workload,
        option=option,
        users=made.users,
        seed=seed,
        replicas=[share.counters for share in shares],
        end_s=max((share.end_s for share in shares), default=0.0),
        stopped=next((share.stopped for share in shares if share.stopped), None),
    )


def _part(opened: OpenLoopRequests, rids: np.ndarray) -> OpenLoopRequests:
    return OpenLoopRequests(
        arrival_s=opened.arrival_s[rids],
        user=opened.user[rids],
        prompt_tokens=opened.prompt_tokens[rids],
        cached_tokens=opened.cached_tokens[rids],
        write_tokens=opened.write_tokens[rids],
        output_tokens=opened.output_tokens[rids],
    )


def _serve_share(part: OpenLoopRequests, shared: tuple[Deployment, Workload, str | None, bool, float]) -> ShareResult:
    dep, workload, scheduler, exact, last_submit_s = shared
    log, eng, end_s, stopped = simulate_share(dep, workload, part, scheduler=scheduler, exact=exact, last_submit_s=last_submit_s)
    return ShareResult({name: getattr(log, name) for name in WRITTEN}, ReplicaCounters.of(eng), end_s, stopped)
