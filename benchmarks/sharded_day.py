"""A day sharded by replica (simulate/shard.py): its wall time on 1 and 2 workers, against the same day in one process,
and why the least-outstanding router is not sharded.

1. Identity and speed at a size one process still takes (default 1,000,000 requests): the day in one process
   (`simulate_day`), then sharded on a local Ray instance with 1 and 2 CPUs; the sharded days must equal the one-process
   day in every summary field and every request's times.
2. A day past one process (default 20,000,000 requests, 400 replicas): sharded on a local Ray instance with 1 and 2
   CPUs; prints wall seconds, microseconds per request and the scaling from 1 to 2 workers.
3. `--fixed-point`: the least-outstanding router reads every replica's outstanding requests at each arrival. An exact
   split then needs, per window of arrivals, a fixed point: each replica is stepped from a snapshot of its state with
   a guessed assignment, the router is replayed against the completions that gives, and the replicas whose requests
   changed are stepped again until the assignment stops changing. The prototype here prints how much stepping that
   takes against one pass, and its time against the one-process day, for several window sizes.

Run: python benchmarks/sharded_day.py [--requests 20000000] [--replicas 400] [--small 1000000] [--skip-large]
     (--small 0 skips part 1)
     python benchmarks/sharded_day.py --fixed-point
"""

from __future__ import annotations

import argparse
import copy
import math
import time

import numpy as np

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.ray_cluster import ray_map, ray_session
from tokenlane.scenario import Workload
from tokenlane.simulate.entities import Seq
from tokenlane.simulate.log import REJECTED, SERVED, TRUNCATED
from tokenlane.simulate.replica import Replica
from tokenlane.simulate.run import day_requests
from tokenlane.simulate.schedulers import scheduler_for
from tokenlane.simulate.shard import sharded_day

DEP = build_deployment(builtin_catalog(), hardware="h100-sxm", model="llama-3.1-8b", quant="fp8", engine="vllm")
REQUESTS_PER_REPLICA_HOUR = 6250.0
"""About 60% of what one replica carries within a 2 s TTFT on this chat mix (so batches form and queues stay short)."""


def _workload(requests: int, replicas: int, hours: float = 8.0) -> Workload:
    users = max(1, round(replicas * 50))
    fields = {"users": users, "requests_per_user_hour": requests / hours / users, "active_hours": hours, "arrival": "poisson"}
    fields |= {"prompt_tokens": {"mean": 600, "p90": 1500}, "output_tokens": {"mean": 150, "p90": 400}}
    return Workload.model_validate(fields, context={"sharded": True})  # past one process: to be sharded


def _sharded(workload: Workload, replicas: int, cpus: int) -> tuple[float, object]:
    with ray_map("local", workers=cpus) as shards:
        start = time.perf_counter()
        day = sharded_day(DEP, workload, replicas=replicas, router="round_robin", shards=shards)
        return time.perf_counter() - start, day


def identity_and_speed(requests: int) -> None:
    replicas = max(2, round(requests / 8 / REQUESTS_PER_REPLICA_HOUR))
    workload = _workload(requests, replicas)
    start = time.perf_counter()
    whole = simulate_day(DEP, workload, replicas=replicas, router="round_robin")
    whole_s = time.perf_counter() - start
    print(f"{whole.requests:,} requests on {replicas} replicas, round robin, 8 h")
    print(f"  one process:            {whole_s:7.1f} s  {whole_s / whole.requests * 1e6:6.1f} us/request")
    for cpus in (1, 2):
        wall, day = _sharded(workload, replicas, cpus)
        same = day.model_dump() == whole.model_dump() and day.log == whole.log  # type: ignore[attr-defined]
        print(f"  sharded, Ray {cpus} CPU(s):   {wall:7.1f} s  ({whole_s / wall:.2f}x one process)  identical: {same}")


def past_one_process(requests: int, replicas: int) -> None:
    workload = _workload(requests, replicas)
    walls = []
    for cpus in (1, 2):
        wall, day = _sharded(workload, replicas, cpus)
        walls.append(wall)
        made = day.requests  # type: ignore[attr-defined]
        print(
            f"  {made:,} requests on {replicas} replicas, Ray {cpus} CPU(s): {wall:7.1f} s wall, {wall / made * 1e6:5.1f} us/request; "
            f"TTFT p95 {day.ttft_s.p95:.2f} s, SLO met {day.slo_attainment:.1%}"  # type: ignore[attr-defined]
        )
    print(f"  scaling 1 -> 2 workers: {walls[0] / walls[1]:.2f}x")


class _Lane:
    """One replica stepped alone, a window of arrivals at a time (the prototype of an exact split)."""

    def __init__(self, cols: dict[str, list]) -> None:
        self.cols = cols
        self.eng = Replica(DEP, scheduler_for(DEP), _LOG[0])
        self.end: float | None = None

    def snapshot(self) -> tuple[Replica, float | None]:
        eng = self.eng
        keep = {id(x): x for x in (eng.dep, eng.policy, eng.log, eng.table, eng.kv)}
        return copy.deepcopy((eng, self.end), keep)

    def restore(self, snap: tuple[Replica, float | None]) -> None:
        eng = snap[0]
        keep = {id(x): x for x in (eng.dep, eng.policy, eng.log, eng.table, eng.kv)}
        self.eng, self.end = copy.deepcopy(snap, keep)

    def run(self, arrivals: list[int], until_s: float) -> tuple[list[tuple[float, int]], list[bool]]:
        """Step through `arrivals` (request ids) and every step ending before `until_s`: (completions (time, count),
        whether each arrival was admitted)."""
        t, p, o, c, u = (self.cols[k] for k in ("t", "p", "o", "c", "u"))
        eng, done_at, admitted, i = self.eng, [], [], 0
        while True:
            step = self.end if self.end is not None else math.inf
            arrive = t[arrivals[i]] if i < len(arrivals) else math.inf
            now = min(step, arrive)
            if now >= until_s:
                return done_at, admitted
            if step == now:
                self.end = None
                done = eng.finish_step(now)
                for seq in done:
                    _LOG[0].cols["outcome"][seq.rid] = TRUNCATED if seq.truncated else SERVED
                if done:
                    done_at.append((now, len(done)))
            while i < len(arrivals) and t[arrivals[i]] == now:
                r = arrivals[i]
                i += 1
                code, fits = eng.check(p[r], o[r])
                admitted.append(code not in REJECTED)
                if code in REJECTED:
                    continue
                eng.submit(Seq(r, prompt=p[r], output=fits, cached=c[r], arrival_s=now, job=-1, user=u[r], truncated=code == TRUNCATED))
                if eng.busy and eng.head_admissible():
                    end = eng.cut(now)
                    self.end = end if end is not None else self.end
            if not eng.busy and eng.outstanding:
                self.end = eng.start_step(now)


_LOG: list = [None]


def fixed_point(requests: int, replicas: int, windows: list[int]) -> None:
    workload = _workload(requests, replicas, hours=1.0)
    start = time.perf_counter()
    whole = simulate_day(DEP, workload, replicas=replicas)
    whole_s = time.perf_counter() - start
    print(f"least-outstanding, {whole.requests:,} requests on {replicas} replicas: one process {whole_s:.2f} s")
    head = ("window (arrivals)", "rounds/window", "stepping x one pass", "snapshots s", "total s", "identical")
    print("  " + " ".join(f"{h:>{w}}" for h, w in zip(head, (17, 13, 19, 11, 8, 9), strict=True)))
    for size in windows:
        made = day_requests(DEP, workload)
        _LOG[0] = made.log
        op = made.opened
        cols = {"t": op.arrival_s.tolist(), "p": op.prompt_tokens.tolist(), "o": op.output_tokens.tolist()}
        cols |= {"c": op.cached_tokens.tolist(), "u": op.user.tolist()}
        lanes = [_Lane(cols) for _ in range(replicas)]
        n, stepped, rounds, snap_s = len(op), 0, [], 0.0
        start = time.perf_counter()
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            until = cols["t"][hi] if hi < n else math.inf
            base = [lane.eng.outstanding for lane in lanes]
            t0 = time.perf_counter()
            snaps = [lane.snapshot() for lane in lanes]
            snap_s += time.perf_counter() - t0
            completions: list[list[tuple[float, int]]] = [[] for _ in lanes]
            admitted: dict[tuple[int, int], bool] = {}
            guess: list[int] | None = None
            k = 0
            while True:
                route = _route(cols["t"], lo, hi, base, completions, admitted)
                if route == guess:
                    break
                k += 1
                moved = [] if guess is None else [x for a, b in zip(route, guess, strict=True) if a != b for x in (a, b)]
                changed = set(range(replicas)) if guess is None else set(moved)
                for i in changed:
                    if guess is not None:
                        t0 = time.perf_counter()
                        lanes[i].restore(snaps[i])
                        snap_s += time.perf_counter() - t0
                    mine = [lo + q for q, r in enumerate(route) if r == i]
                    stepped += len(mine)
                    completions[i], ok = lanes[i].run(mine, until)
                    admitted.update({(r, i): a for r, a in zip(mine, ok, strict=True)})
                guess = route
            rounds.append(k)
        total = time.perf_counter() - start
        log = made.log.freeze()
        same = np.array_equal(log.finished_s, whole.log.finished_s) and np.array_equal(log.first_token_s, whole.log.first_token_s)  # type: ignore[union-attr]
        print(f"  {size:>17,} {np.mean(rounds):>13.2f} {stepped / n:>19.2f} {snap_s:>11.2f} {total:>8.2f} {same!s:>9}")


def _route(t: list[float], lo: int, hi: int, base: list[int], completions: list, admitted: dict) -> list[int]:
    """The least-outstanding router over arrivals lo..hi given each replica's completions (ends before arrivals)."""
    load = list(base)
    events = sorted((at, i, count) for i, done in enumerate(completions) for at, count in done)
    e, route = 0, []
    for j in range(lo, hi):
        while e < len(events) and events[e][0] <= t[j]:
            load[events[e][1]] -= events[e][2]
            e += 1
        i = load.index(min(load))
        route.append(i)
        load[i] += admitted.get((j, i), True)
    return route


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000_000)
    parser.add_argument("--replicas", type=int, default=400)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--fixed-point", action="store_true")
    args = parser.parse_args()
    if args.fixed_point:
        fixed_point(12_000, 8, [8, 32, 200])
        return
    with ray_session("local", workers=1):
        pass  # Ray's first start in this process (its files, its workers' image) is not counted below
    if args.small:
        identity_and_speed(args.small)
    if not args.skip_large:
        past_one_process(args.requests, args.replicas)


if __name__ == "__main__":
    main()
