"""The event loop: THE day. Every request is made here once — open-loop arrivals, closed-loop users who come back
after thinking, multi-turn sessions, batch jobs — routed to replicas (least outstanding requests, or an option's
`router`: simulate/routers.py) or to an API, and logged with its outcome.

A disaggregated deployment (`Deployment.disaggregation`) runs two pools of replicas: a request is routed to a prefill
replica (least outstanding requests, or the option's `router`), which computes its prompt's KV cache and first
token; the cache then moves to a decode replica (least outstanding requests) over the layout's link
(`capacity.kv_transfer_s`), which generates the answer from its first token on. Each pool has its own batches, token
budgets, KV caches and queues.

Events at the same time run in a fixed, documented order: step ends first (by replica), then replicas of an autoscaled
fleet that finish warming up, then KV caches arriving at the decode pool (by request), then arrivals (open-loop by
arrival time then user; closed-loop in the order they were scheduled), then the autoscaler's reading
(simulate/scaling), then batch-job submissions (by job). Replicas are planned only after every event at that time has
been applied. Open-loop arrivals and batch jobs are read from sorted arrays; only step ends and closed-loop returns go
through the heap.
# Source: event-queue design after SimPy's core (simpy/core.py, Environment.schedule/step).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tokenlane.capacity import Deployment, kv_transfer_s
from tokenlane.scenario import Workload
from tokenlane.simulate.entities import ApiServing, Run, Seq
from tokenlane.simulate.log import REJECTED, SERVED, TRUNCATED, LogBuilder, RequestLog
from tokenlane.simulate.metrics import ReplicaCounters, SimulationResult, summarise
from tokenlane.simulate.replica import Replica
from tokenlane.simulate.routers import LEAST_OUTSTANDING, ROUTERS
from tokenlane.simulate.scaling import DRAINING, OFF, POLICIES, WARM, WARMING, Fleet, FleetSignal, ScalingPlan
from tokenlane.simulate.schedulers import scheduler_for
from tokenlane.simulate.workload import BatchBlock, OpenLoopRequests, Sessions, batch_blocks, open_loop_requests
from tokenlane.units import S_PER_HOUR

PROGRESS_EVENTS = 1 << 14
"""Events between two calls of a day's progress listener (a call every few tenths of a second of CPU)."""
DRAIN_LIMIT_HOURS = 24.0
"""After the last submission, the run stops this many simulated hours later with whatever is unfinished."""
_STEP, _WARM, _HANDOFF, _ARRIVAL, _TICK = 0, 1, 2, 3, 4
TWINS = True
"""Let one of several idle replicas given the same share of the day's last batch job serve it for all of them
(`_Day._submit_block`); off, each steps its own (a test checks both give the same day)."""


@dataclass(frozen=True)
class _Twin:
    """Replica `replica` takes its share (`requests` from `first_rid`) as served by `twin` (from `twin_rid`)."""

    replica: int
    twin: int
    first_rid: int
    twin_rid: int
    requests: int
    since: tuple[float, float, float, int, int]
    """The twin's counters when the share was submitted."""


Server = Deployment | ApiServing


def water_fill(outstanding: list[int], n: int) -> list[int]:
    """How many of `n` simultaneous arrivals each replica gets from a least-outstanding router (ties: lowest index).

    Raises the least-loaded replicas to a common level L (the largest with sum(max(0, L - o_i)) <= n), then gives
    the remainder one each to the lowest-indexed replicas at that level — what n single routing decisions give.
    """
    lo, hi = min(outstanding), min(outstanding) + n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(max(0, mid - o) for o in outstanding) <= n:
            lo = mid
        else:
            hi = mid - 1
    share = [max(0, lo - o) for o in outstanding]
    rest = n - sum(share)
    for i, o in enumerate(outstanding):
        if rest == 0:
            break
        if o + share[i] == lo:
            share[i] += 1
            rest -= 1
    return share


@dataclass(frozen=True)
class DayRequests:
    """A day's requests as its workload makes them, before any is served: the open-loop arrivals and batch jobs, and
    the log holding them (closed-loop users add theirs as they come back)."""

    rng: np.random.Generator
    sessions: Sessions
    opened: OpenLoopRequests
    blocks: list[BatchBlock]
    block_rid: list[int]
    """Each batch job's first request id."""
    log: LogBuilder
    users: int


def day_requests(server: Server, workload: Workload, *, users: int | None = None, seed: int = 0) -> DayRequests:
    """The requests of a day of `workload` on `server` (the server decides whether prompts hit a prefix cache), drawn
    from `seed`: the same for a day simulated whole (`simulate_day`) or by replica (simulate/shard.py)."""
    rng = np.random.default_rng(seed)
    num_users = users if users is not None else workload.users
    is_api = isinstance(server, ApiServing)
    sessions = Sessions(workload, prefix_caching=is_api or server.engine.supports_prefix_caching, rng=rng)
    opened = open_loop_requests(workload, num_users, sessions, rng)
    blocks = batch_blocks(workload)
    closed = workload.arrival_pattern == "closed_loop"
    log = LogBuilder(len(opened) + sum(b.requests for b in blocks) + (num_users * 16 if closed else 0))
    _log_arrivals(log, opened)
    block_rid = [
        log.add(b.requests, arrival_s=b.arrival_s, prompt_tokens=b.prompt_tokens, cached_tokens=0, output_tokens=b.output_tokens, job=b.job)
        for b in blocks
    ]
    return DayRequests(rng, sessions, opened, blocks, block_rid, log, num_users)


def _log_arrivals(log: LogBuilder, opened: OpenLoopRequests) -> None:
    log.add(
        len(opened),
        arrival_s=opened.arrival_s,
        prompt_tokens=opened.prompt_tokens,
        cached_tokens=opened.cached_tokens,
        cache_write_tokens=opened.write_tokens,
        output_tokens=opened.output_tokens,
        job=-1,
        user=opened.user,
    )


def simulate_day(
    server: Server,
    workload: Workload,
    *,
    option: str = "",
    replicas: int = 1,
    users: int | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    exact: bool = False,
    scaling: ScalingPlan | None = None,
    router: str = LEAST_OUTSTANDING,
    progress: Callable[[float], None] | None = None,
) -> SimulationResult:
    """Simulate one working day of `workload` on `replicas` copies of a deployment, or on an API; same seed, same
    result. `exact` steps saturated batch work step by step instead of replaying its steady windows. `scaling`: the
    fleet follows the load between its minimum and maximum replicas instead (`replicas` is then ignored). `router`
    picks the replica of each interactive request (simulate/routers.py). `progress` hears, now and then, the
    simulated share of the day so far (0 to 1: the clock against the last arrival)."""
    made = day_requests(server, workload, users=users, seed=seed)
    is_api = isinstance(server, ApiServing)
    closed = workload.arrival_pattern == "closed_loop"
    if scaling is not None:
        replicas = scaling.max_replicas
    assert scaling is None or is_api or server.disaggregation is None, "the scenario refuses autoscale on a disaggregated option"
    day = _Day(
        server,
        workload,
        made.log,
        made.sessions,
        made.rng,
        replicas=replicas,
        scheduler=scheduler,
        exact=exact or closed,
        scaling=scaling,
        router=router,
    )
    if closed:
        think = workload.think_time_s or 0.0
        starts = made.rng.uniform(0, think, size=made.users) if think > 0 else np.zeros(made.users)
        for u, t0 in enumerate(starts.tolist()):
            day.schedule_user(u, t0)
    stopped = day.run(made.opened, made.blocks, made.block_rid, progress or (lambda share: None))
    if progress is not None:
        progress(1.0)
    day.copy_twins()
    served = made.log.freeze()
    held = None
    if day.fleet is not None:
        held = day.fleet.result(day.now, spilled=served.where(served.spilled == 1), words=target_words(day.fleet.plan))
    return summarise(
        served,
        workload,
        option=option,
        users=made.users,
        seed=seed,
        replicas=day.unit_shares(),
        units=replicas if day.prefill_pool else None,
        end_s=day.now,
        stopped=stopped,
        scaling=held,
    )


def simulate_share(
    dep: Deployment, workload: Workload, requests: OpenLoopRequests, *, scheduler: str | None, exact: bool, last_submit_s: float
) -> tuple[RequestLog, Replica, float, str | None]:
    """One replica's share of an open-loop day (the `requests` a router that reads no replica's load gave it), stepped
    alone: (its requests' log, in their order; the replica, with its counters; when its last event happened, s; why
    it stopped early, if it did). `last_submit_s`: the whole day's last arrival, which its run's end is counted from.
    The same as that replica's part of the whole day: a replica's steps read only its own requests."""
    rng = np.random.default_rng(0)  # an open-loop day draws nothing while it runs
    log = LogBuilder(len(requests))
    _log_arrivals(log, requests)
    sessions = Sessions(workload, prefix_caching=dep.engine.supports_prefix_caching, rng=rng)
    day = _Day(dep, workload, log, sessions, rng, replicas=1, scheduler=scheduler, exact=exact)
    stopped = day.run(requests, [], [], lambda share: None, last_submit_s=last_submit_s)
    return log.freeze(), day.engines[0], day.now, stopped


def target_words(plan: ScalingPlan) -> str:
    """'4.2 requests per replica', '1 queued request per replica', '70% of the KV cache'."""
    if plan.signal == "kv_cache":
        return f"{plan.target:.0%} of the KV cache per replica"
    noun = "requests in flight" if plan.signal == "requests" else "queued requests"
    return f"{plan.target:.3g} {noun} per replica"


class _Day:
    """The state of one simulated day: the replicas (or the API), the heap, the closed-loop users."""

    def __init__(
        self,
        server: Server,
        workload: Workload,
        log: LogBuilder,
        sessions: Sessions,
        rng: np.random.Generator,
        *,
        replicas: int,
        scheduler: str | None,
        exact: bool,
        scaling: ScalingPlan | None = None,
        router: str = LEAST_OUTSTANDING,
    ) -> None:
        self.workload = workload
        self.log = log
        self.sessions = sessions
        self.rng = rng
        self.api = server if isinstance(server, ApiServing) else None
        self.engines: list[Replica] = []
        self.prefill_pool = 0
        """Disaggregated: the first this many engines prefill, the rest decode; 0: every engine does both."""
        self.dep = server if isinstance(server, Deployment) else None
        if self.dep is not None:
            for pool_dep, count in self.dep.pools:  # a prefill pool's replicas step exactly: a replayed window hands off nothing
                prefill_only = len(self.dep.pools) > 1 and not self.engines
                policy = scheduler_for(pool_dep, scheduler)
                self.engines += [Replica(pool_dep, policy, log, exact=exact or prefill_only) for _ in range(replicas * count)]
            self.prefill_pool = replicas * self.dep.pools[0][1] if len(self.dep.pools) > 1 else 0
        self.version = [0] * len(self.engines)
        self.heap: list[tuple[float, int, int, int]] = []
        self.counter = itertools.count()
        self.day_end_s = workload.active_hours * S_PER_HOUR
        self.closed = workload.arrival_pattern == "closed_loop"
        self.think_s = workload.think_time_s or 0.0
        self.now = 0.0
        self.twins: list[_Twin] = []
        self.fleet = Fleet(scaling, len(self.engines)) if scaling is not None and self.engines else None
        self.handoffs: dict[int, Seq] = {}
        """Disaggregated: requests whose cache is on its way to the decode pool, by id."""
        self.job_fits: dict[int, int] = {}
        """Disaggregated: the answer tokens each batch job's requests get from the decode pool."""
        self.interactive_in_flight = 0
        """Interactive requests in the replicas (the rest of their outstanding requests are batch work)."""
        self.router = ROUTERS.get(router)
        """The router of a fixed fleet's interactive requests; None: the least-outstanding one (`_least_loaded`)."""
        self.routed = 0
        """Interactive requests routed so far (a router's `arrival`)."""
        if self.fleet is not None:
            self._hold_first_replicas()

    def unit_shares(self) -> list[ReplicaCounters]:
        """Each engine's counters as a share of its unit: every replica whole, or (disaggregated) weighted by its
        devices over the unit's, so busy seconds sum to unit-seconds (what the energy and utilisation read)."""
        if not self.prefill_pool or self.dep is None:
            return [ReplicaCounters.of(e) for e in self.engines]
        return [ReplicaCounters.of(e, e.dep.num_devices / self.dep.unit_devices) for e in self.engines]

    # -- a disaggregated deployment ------------------------------------------------------------------------------

    def _least_loaded(self, prefill: bool) -> int:
        """The engine of the prefill (or decode) pool with the fewest outstanding requests (ties: the lowest); every
        engine is in both when prefill and decode run together."""
        lo, hi = (0, self.prefill_pool or len(self.engines)) if prefill else (self.prefill_pool, len(self.engines))
        loads = [e.outstanding for e in self.engines[lo:hi]]
        return lo + loads.index(min(loads))

    def _check(self, i: int, prompt: int, output: int) -> tuple[int, int]:
        """Engine `i`'s verdict on a request arriving now: SERVED, TRUNCATED or a rejection, and the answer's tokens that
        fit. Disaggregated: the prefill replica takes the prompt and its first token (its queue may be full), a decode
        replica the cache and the whole answer (cut to its context)."""
        if not self.prefill_pool:
            return self.engines[i].check(prompt, output)
        code, _ = self.engines[i].check(prompt, 1)
        if code in REJECTED:
            return code, 0
        return self.engines[self.prefill_pool].check(prompt, output, queue=False)

    def _hand_off(self, seq: Seq) -> None:
        """A prefill replica finished `seq`'s prompt: its cache arrives at the decode pool after the transfer."""
        assert self.dep is not None
        heapq.heappush(self.heap, (self.now + kv_transfer_s(self.dep, seq.prompt), _HANDOFF, next(self.counter), seq.rid))
        self.handoffs[seq.rid] = seq
        cols = self.log.cols
        cols["finished_s"][seq.rid] = cols["first_token_s"][seq.rid] = -1.0  # the decode pool writes them
        cols["generated_tokens"][seq.rid] = 0

    def _decode(self, rid: int, dirty: set[int]) -> None:
        """The cache of request `rid` arrived: a decode replica takes it with its whole prompt cached (no prefill), and
        its first step samples the first token the user sees."""
        done = self.handoffs.pop(rid)
        i = self._least_loaded(prefill=False)
        seq = Seq(
            rid,
            prompt=done.prompt,
            output=self.job_fits[done.job] if done.job >= 0 else done.output_fits,
            cached=done.prompt,
            arrival_s=done.arrival_s,
            job=done.job,
            user=done.user,
            truncated=done.truncated,
        )
        seq.admitted_s = done.admitted_s
        eng = self.engines[i]
        eng.submit(seq)
        dirty.add(i)
        if eng.busy and eng.head_admissible():
            end = eng.cut(self.now)
            if end is not None:
                self._push_step(i, end)

    # -- an autoscaled fleet -----------------------------------------------------------------------------------

    def _hold_first_replicas(self) -> None:
        """The replicas serving as the day starts: the minimum, held all along, and (scheduled) the first hour's
        others, asked for a cold start before it; then the autoscaler's first reading, at once."""
        fleet = self.fleet
        assert fleet is not None
        plan = fleet.plan
        first = plan.schedule[0] if plan.schedule else 0
        for i in range(min(max(plan.min_replicas, first), len(self.engines))):
            cold = i >= plan.min_replicas
            fleet.hold_warm(i, -plan.cold_start_s if cold else 0.0, cold=cold)
        fleet.note(0.0)
        heapq.heappush(self.heap, (0.0, _TICK, next(self.counter), 0))

    def _signal(self) -> FleetSignal:
        fleet = self.fleet
        assert fleet is not None
        active = fleet.indices(WARMING, WARM)
        outstanding = sum(e.outstanding for e in self.engines)
        return FleetSignal(
            requests=fleet.mean_load(self.now),
            queue=float(sum(self.engines[i].queued for i in active)),
            kv_cache=sum(self.engines[i].kv_share() for i in fleet.indices(WARM)),
            batch_in_flight=outstanding > self.interactive_in_flight,
            spilled=fleet.spilled_in_flight(self.now),
        )

    def _full(self, i: int) -> bool:
        """Replica `i` is at or past the autoscaler's target (a request routed there would wait on the fleet)."""
        assert self.fleet is not None
        plan, eng = self.fleet.plan, self.engines[i]
        level = {"requests": eng.outstanding, "queue": eng.queued}.get(plan.signal)
        return (level if level is not None else eng.kv_share()) >= plan.target

    def _start_one(self) -> int | None:
        """Add a replica: a draining one taken back (it is warm), else one asked for (it serves after its cold
        start); None when every replica is held."""
        fleet = self.fleet
        assert fleet is not None
        draining = fleet.indices(DRAINING)
        if draining:
            fleet.undrain(draining[0])
            return draining[0]
        off = fleet.indices(OFF)
        if not off:
            return None
        heapq.heappush(self.heap, (fleet.start(off[0], self.now), _WARM, next(self.counter), off[0]))
        return off[0]

    def _warm(self, i: int, dirty: set[int]) -> None:
        fleet = self.fleet
        assert fleet is not None
        if fleet.state[i] == WARMING and fleet.warm_at[i] == self.now:
            fleet.warm(i, self.now)
            dirty.add(i)

    def _shrink(self, k: int) -> None:
        """Release `k` replicas: warming ones with nothing queued first, then the least-loaded serving ones above the
        minimum, which drain (take no new requests) and are released when empty."""
        fleet = self.fleet
        assert fleet is not None
        idle_warming = [i for i in reversed(fleet.indices(WARMING)) if not self.engines[i].outstanding]
        serving = sorted((i for i in fleet.indices(WARM) if i >= fleet.plan.min_replicas), key=lambda i: (self.engines[i].outstanding, -i))
        for i in (idle_warming + serving)[:k]:
            if self.engines[i].outstanding:
                fleet.drain(i)
            else:
                fleet.release(i, self.now)

    def _tick(self, arrivals_left: bool) -> None:
        """The autoscaler reads the signal: more replicas are asked for at once, fewer only once the load has needed
        fewer for `scale_down_idle_s` (`Fleet.settle`). It reads again `interval_s` later while anything is left to
        happen."""
        fleet = self.fleet
        assert fleet is not None
        plan = fleet.plan
        wanted = min(max(POLICIES[plan.policy](plan, self._signal(), self.now), plan.min_replicas), plan.max_replicas)
        hold, active = fleet.settle(self.now, wanted), fleet.active
        for _ in range(hold - active):
            self._start_one()
        if hold < active:
            self._shrink(active - hold)
        busy = any(e.outstanding for e in self.engines) or fleet.count(WARMING, WARM, DRAINING) > plan.min_replicas
        if arrivals_left or busy or self.heap:  # the heap holds no other reading
            heapq.heappush(self.heap, (self.now + plan.interval_s, _TICK, next(self.counter), 0))

    # -- closed-loop users -------------------------------------------------------------------------------------

    def schedule_user(self, user: int, at_s: float) -> None:
        """The user sends its next request at `at_s` (not after the working day ends)."""
        if at_s < self.day_end_s:
            heapq.heappush(self.heap, (at_s, _ARRIVAL, next(self.counter), user))

    def _user_returns(self, user: int, after_s: float) -> None:
        if self.closed:
            self.schedule_user(user, after_s + (self.rng.exponential(self.think_s) if self.think_s > 0 else 0.0))

    # -- arrivals ----------------------------------------------------------------------------------------------

    def _arrive(self, rid: int, prompt: int, output: int, cached: int, user: int, dirty: set[int]) -> None:
        cols = self.log.cols
        now = self.now
        if self.api is not None:
            self._serve_on_api(self.api, rid, output, user)
            return
        engines = self.engines
        if self.fleet is not None:
            routed = self._route(rid, output, user)
            if routed is None:
                return
            i = routed
        elif len(engines) == 1:
            i = 0
        elif self.router is not None:
            i = self.router.choose(self.prefill_pool or len(engines), self.routed, user)
            self.routed += 1
        else:
            i = self._least_loaded(prefill=True)
        eng = engines[i]
        code, fits = self._check(i, prompt, output)
        if code in REJECTED:
            cols["outcome"][rid] = code
            self.sessions.reset(user)
            self._user_returns(user, now)
            return
        seq = Seq(rid, prompt=prompt, output=fits, cached=cached, arrival_s=now, job=-1, user=user, truncated=code == TRUNCATED)
        if self.prefill_pool:  # the prefill replica stops at the first token; the decode pool generates the answer
            seq.output_fits, seq.output = fits, 1
        eng.submit(seq)
        self.interactive_in_flight += 1
        if self.fleet is not None:
            self.fleet.add_load(now, 1)
        dirty.add(i)
        if eng.busy and eng.head_admissible():
            end = eng.cut(now)
            if end is not None:
                self._push_step(i, end)

    def _route(self, rid: int, output: int, user: int) -> int | None:
        """The replica an autoscaled fleet gives a request: the least-loaded serving one, else (none serves yet) the
        least-loaded warming up, else one asked for now (scale from zero). With a spillover API the request goes there
        instead (None) when no replica serves, or when every serving one is past the target while more warm up."""
        fleet = self.fleet
        assert fleet is not None
        warm = fleet.indices(WARM)
        if not warm and fleet.indices(DRAINING):  # a draining replica still serves: it takes requests again
            warm = [i for i in [self._start_one()] if i is not None]
        if fleet.plan.spill is not None and (not warm or (fleet.count(WARMING) and all(self._full(i) for i in warm))):
            if not fleet.active:
                self._start_one()
            self.log.cols["spilled"][rid] = 1
            fleet.spill(self.now, self._serve_on_api(fleet.plan.spill, rid, output, user))
            return None
        if warm:
            return min(warm, key=lambda i: self.engines[i].outstanding)
        fleet.waited += 1
        warming = fleet.indices(WARMING)
        if not warming:
            started = self._start_one()
            assert started is not None, "an autoscaled fleet with no replica held has one to ask for"
            warming = [started]
        return min(warming, key=lambda i: self.engines[i].outstanding)

    def _serve_on_api(self, api: ApiServing, rid: int, output: int, user: int) -> float:
        """Serve request `rid` on an API's fleet from now (its first token after the API's TTFT, then its speed); the
        user comes back when it ends. Returns when it ends, s."""
        now = self.now
        first = now + api.ttft_s
        finish = first + (output - 1) / api.tok_s
        self._served(rid, now, first, finish, output)
        self._user_returns(user, finish)
        return finish

    def _served(
        self, rid: int | slice, admitted: float | np.ndarray, first: float | np.ndarray, finish: float | np.ndarray, out: object
    ) -> None:
        cols = self.log.cols
        cols["admitted_s"][rid] = admitted
        cols["first_token_s"][rid] = first
        cols["finished_s"][rid] = finish
        cols["generated_tokens"][rid] = out
        cols["outcome"][rid] = SERVED

    def _submit_block(self, b: BatchBlock, first_rid: int, dirty: set[int], *, last: bool) -> None:
        """Submit a batch job, water-filled over the replicas. When it is the `last` thing to arrive and replicas are
        idle, replicas with the same share and state (`Replica.twin_key`) would step alike: one of them serves its
        share and the others copy its requests' times when the day ends (`copy_twins`)."""
        now = self.now
        if self.api is not None:
            rids = slice(first_rid, first_rid + b.requests)
            first = now + self.api.ttft_s
            self._served(rids, now, first, first + (b.output_tokens - 1) / self.api.tok_s, b.output_tokens)
            return
        code, fits = self._check(0, b.prompt_tokens, b.output_tokens)
        if code in REJECTED:
            self.log.cols["outcome"][first_rid : first_rid + b.requests] = code
            return
        targets = list(range(self.prefill_pool or len(self.engines)))
        if self.prefill_pool:  # each request's answer is generated by the decode pool after its hand-off
            self.job_fits[b.job] = fits
            fits, last = 1, False
        if self.fleet is not None:  # batch work takes every replica the fleet may hold; each starts on its share when warm
            while self._start_one() is not None:
                pass
            targets = self.fleet.indices(WARMING, WARM)
            last = False
        shares = [0] * len(self.engines)
        for i, n in zip(targets, water_fill([self.engines[i].outstanding for i in targets], b.requests), strict=True):
            shares[i] = n
        serving: dict[tuple[int, int], tuple[int, int]] = {}
        """(share, twin key) -> (replica, first request id) of the replica that serves that share."""
        rid = first_rid
        for i, n in enumerate(shares):
            if not n:
                continue
            key = self.engines[i].twin_key() if last and TWINS else None
            if key is not None and (n, key) in serving:
                twin, twin_rid = serving[n, key]
                self.twins.append(_Twin(i, twin, rid, twin_rid, n, self.engines[twin].counters()))
            else:
                if key is not None:
                    serving[n, key] = (i, rid)
                self.engines[i].submit(Run(rid, n, prompt=b.prompt_tokens, output=fits, arrival_s=now, job=b.job))
                if self.fleet is not None:
                    self.fleet.add_load(now, n)
                dirty.add(i)
            rid += n

    def copy_twins(self) -> None:
        """Each replica that let a twin serve its share takes the twin's requests' times and counters."""
        cols = self.log.cols
        for t in self.twins:
            mine, theirs = slice(t.first_rid, t.first_rid + t.requests), slice(t.twin_rid, t.twin_rid + t.requests)
            for name in ("admitted_s", "first_token_s", "finished_s", "generated_tokens", "outcome"):
                cols[name][mine] = cols[name][theirs]
            self.engines[t.replica].add_twin_work(self.engines[t.twin], t.since)

    # -- steps ---------------------------------------------------------------------------------------------------

    def _push_step(self, i: int, end_s: float) -> None:
        self.version[i] += 1
        heapq.heappush(self.heap, (end_s, _STEP, self.version[i], -1 - i))

    def _finish(self, i: int, dirty: set[int]) -> None:
        outcome = self.log.cols["outcome"]
        before = self.engines[i].outstanding
        for seq in self.engines[i].finish_step(self.now):
            if i < self.prefill_pool:
                self._hand_off(seq)
                continue
            outcome[seq.rid] = TRUNCATED if seq.truncated else SERVED
            if seq.job < 0:
                self.interactive_in_flight -= 1
                if self.closed:
                    self._user_returns(seq.user, self.now)
        dirty.add(i)
        fleet = self.fleet
        if fleet is not None:
            fleet.add_load(self.now, self.engines[i].outstanding - before)
            if fleet.state[i] == DRAINING and not self.engines[i].outstanding:
                fleet.release(i, self.now)

    def run(
        self,
        opened: OpenLoopRequests,
        blocks: list[BatchBlock],
        block_rid: list[int],
        progress: Callable[[float], None],
        *,
        last_submit_s: float = 0.0,
    ) -> str | None:
        """Process every event, telling `progress` the share of the day done every PROGRESS_EVENTS events; returns why
        the run stopped early, if it did. The run stops DRAIN_LIMIT_HOURS after the last submission: the last of these
        arrivals and jobs, the end of the working day, or `last_submit_s` (a replica's share of a sharded day stops
        when the whole day would)."""
        open_t: list[float] = opened.arrival_s.tolist()
        o_prompt, o_output = opened.prompt_tokens.tolist(), opened.output_tokens.tolist()
        o_cached, o_user = opened.cached_tokens.tolist(), opened.user.tolist()
        n_open, n_blocks = len(open_t), len(blocks)
        last_submit = max([*open_t[-1:], *(b.arrival_s for b in blocks), self.day_end_s, last_submit_s])
        stop_at = last_submit + DRAIN_LIMIT_HOURS * S_PER_HOUR
        io = ib = 0
        inf = math.inf
        heap = self.heap
        engines = self.engines
        dirty: set[int] = set()
        t_open = open_t[0] if n_open else inf
        t_block = blocks[0].arrival_s if n_blocks else inf
        events = 0
        while True:
            events += 1
            if not events % PROGRESS_EVENTS:
                progress(min(1.0, self.now / last_submit) if last_submit > 0 else 0.0)
            t_heap = heap[0][0] if heap else inf
            if dirty and min(t_heap, t_open, t_block) > self.now:
                horizon = min(t_open, t_block, stop_at)  # a replayed jump ends by the next arrival and by the stop
                for i in sorted(dirty):
                    eng = engines[i]
                    if not eng.busy and eng.outstanding and (self.fleet is None or self.fleet.state[i] >= WARM):
                        end = eng.start_step(self.now, horizon_s=horizon)
                        if end is not None:
                            self._push_step(i, end)
                dirty.clear()
                t_heap = heap[0][0] if heap else inf
            if t_heap == inf and t_open == inf and t_block == inf:
                return None
            if t_heap <= t_open and t_heap <= t_block and (t_heap < t_open or heap[0][1] < _ARRIVAL):
                if t_heap > stop_at:
                    self.now = stop_at
                    return self._stop()
                self.now, kind, version, payload = heapq.heappop(heap)
                if kind == _STEP:
                    if version == self.version[-1 - payload]:
                        self._finish(-1 - payload, dirty)
                elif kind == _WARM:
                    self._warm(payload, dirty)
                elif kind == _HANDOFF:
                    self._decode(payload, dirty)
                elif kind == _TICK:
                    self._tick(t_open < inf or t_block < inf)
                else:
                    prompt, cached, write, output = self.sessions.one(payload)
                    rid = self.log.add(
                        1,
                        arrival_s=self.now,
                        prompt_tokens=prompt,
                        cached_tokens=cached,
                        cache_write_tokens=write,
                        output_tokens=output,
                        job=-1,
                        user=payload,
                    )
                    self._arrive(rid, prompt, output, cached, payload, dirty)
            elif t_open <= t_block:
                self.now = t_open
                self._arrive(io, o_prompt[io], o_output[io], o_cached[io], o_user[io], dirty)
                io += 1
                t_open = open_t[io] if io < n_open else inf
            else:
                self.now = t_block
                self._submit_block(blocks[ib], block_rid[ib], dirty, last=io == n_open and ib == n_blocks - 1 and not self.closed)
                ib += 1
                t_block = blocks[ib].arrival_s if ib < n_blocks else inf

    def _stop(self) -> str:
        """Log what is still in flight as unfinished (with the tokens generated so far)."""
        cols = self.log.cols
        for eng in self.engines:
            for seq in eng.running:
                cols["generated_tokens"][seq.rid] = eng.generated(seq)
        return f"stopped {DRAIN_LIMIT_HOURS:g} simulated hours after the last submission with requests unfinished"
