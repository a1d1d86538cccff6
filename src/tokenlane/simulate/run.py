"""The event loop: arrivals, a least-outstanding-requests router over replicas, closed-loop users.

Events are kept on a heap of (time_s, priority, seq, payload) with `seq` from a per-run counter, so events at the
same time run in a fixed order: step completions (priority 0) before arrivals (priority 1).
# Source: event-queue design after SimPy's core (simpy/core.py, Environment.schedule/step).
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from tokenlane.capacity import Deployment
from tokenlane.scenario import Workload
from tokenlane.simulate.engine import Completion, ReplicaEngine, Sequence
from tokenlane.simulate.metrics import BatchJobResult, RequestOutcome, SimulationResult, log_histogram, percentiles, slo_mask
from tokenlane.simulate.workload import apply_sessions_and_cache, build_requests, sample_tokens
from tokenlane.units import MS_PER_S, S_PER_HOUR

DRAIN_LIMIT_HOURS = 24.0
"""After the last submission, the run stops this many simulated hours later with whatever is unfinished."""
MAX_QUEUED = 2_000_000
"""A run whose queues hold more requests than this stops (queue growing without bound)."""
_STEP, _ARRIVAL = 0, 1


def simulate_day(
    dep: Deployment,
    workload: Workload,
    *,
    option: str = "",
    replicas: int = 1,
    users: int | None = None,
    seed: int = 0,
    keep_requests: bool = False,
) -> SimulationResult:
    """Simulate one working day of `workload` on `replicas` copies of `dep`; same seed, same result.

    With `keep_requests`, the result also lists every finished request's outcome.
    """
    rng = np.random.default_rng(seed)
    num_users = users if users is not None else workload.users
    prefix = dep.engine.supports_prefix_caching
    reqs = build_requests(workload, users=num_users, prefix_caching=prefix, rng=rng)
    engines = [ReplicaEngine(dep) for _ in range(replicas)]
    counter = itertools.count()
    heap: list[tuple[float, int, int, object]] = []
    arrivals: list[float] = []
    """Pending arrival times (a heap), the horizon of bulk decode stretches."""

    prompt_l: list[int] = reqs.prompt_tokens.tolist()
    output_l: list[int] = reqs.output_tokens.tolist()
    cached_l: list[int] = reqs.cached_tokens.tolist()
    arrival_l: list[float] = reqs.arrival_s.tolist()
    job_l: list[int] = reqs.job.tolist()
    for rid, t in enumerate(arrival_l):
        heapq.heappush(heap, (t, _ARRIVAL, next(counter), rid))
        arrivals.append(t)
    heapq.heapify(arrivals)

    closed = workload.arrival_pattern == "closed_loop"
    think = workload.think_time_s or 0.0
    day_end_s = workload.active_hours * S_PER_HOUR
    user_of: dict[int, int] = {}
    session: dict[int, tuple[int, int]] = {}

    def new_closed_request(user: int, at_s: float) -> None:
        if at_s >= day_end_s:
            return
        p = sample_tokens(workload.prompt_tokens, 1, rng)
        o = sample_tokens(workload.output_tokens, 1, rng)
        sent, cached = apply_sessions_and_cache(workload, np.array([user]), p, o, prefix_caching=prefix, rng=rng)
        turn, context = session.get(user, (0, 0))
        if turn and workload.turns_per_session > 1:
            sent[0] += context
            cached[0] = max(int(cached[0]), context) if prefix else cached[0]
        nxt = (turn + 1) % workload.turns_per_session
        session[user] = (nxt, int(sent[0] + o[0]) if nxt else 0)
        rid = len(arrival_l)
        arrival_l.append(at_s)
        prompt_l.append(int(sent[0]))
        output_l.append(int(o[0]))
        cached_l.append(int(cached[0]))
        job_l.append(-1)
        user_of[rid] = user
        heapq.heappush(heap, (at_s, _ARRIVAL, next(counter), rid))
        heapq.heappush(arrivals, at_s)

    if closed:
        starts = rng.uniform(0, think, size=num_users) if think > 0 else np.zeros(num_users)
        for u, t0 in enumerate(starts.tolist()):
            new_closed_request(u, t0)

    finished: list[Completion] = []
    last_submit_s = max([*arrival_l, day_end_s])
    stop_at_s = last_submit_s + DRAIN_LIMIT_HOURS * S_PER_HOUR
    stopped: str | None = None
    now = 0.0

    def kick(now_s: float) -> None:
        horizon = arrivals[0] if arrivals else math.inf
        for idx, eng in enumerate(engines):
            if eng.busy_until_s is None and eng.outstanding:
                end = eng.start_step(now_s, horizon)
                if end is not None:
                    heapq.heappush(heap, (end, _STEP, next(counter), -1 - idx))

    while heap:
        now, _, _, payload = heapq.heappop(heap)
        if now > stop_at_s:
            stopped = f"stopped {DRAIN_LIMIT_HOURS:g} simulated hours after the last submission with requests unfinished"
            break
        assert isinstance(payload, int)
        if payload >= 0:
            heapq.heappop(arrivals)
            eng = min(engines, key=lambda e: e.outstanding)
            seq = Sequence(payload, prompt_l[payload], output_l[payload], prefilled=cached_l[payload])
            rejection = eng.submit(seq)
            if rejection is not None:
                finished.append(rejection)
            if sum(e.outstanding for e in engines) > MAX_QUEUED:
                stopped = f"stopped: more than {MAX_QUEUED:,} requests queued (load far beyond capacity)"
                break
        else:
            eng = engines[-1 - payload]
            for c in eng.finish_step(now):
                finished.append(c)
                if closed and c.rid in user_of:
                    new_closed_request(user_of[c.rid], now + (rng.exponential(think) if think > 0 else 0.0))
        if heap and heap[0][0] <= now:
            continue
        kick(now)

    return _summarise(
        option,
        num_users,
        seed,
        workload,
        engines,
        finished,
        arrival=np.asarray(arrival_l),
        prompt=np.asarray(prompt_l),
        job=np.asarray(job_l),
        end_s=now,
        stopped=stopped,
        keep_requests=keep_requests,
    )


def _summarise(
    option: str,
    users: int,
    seed: int,
    workload: Workload,
    engines: list[ReplicaEngine],
    finished: list[Completion],
    *,
    arrival: np.ndarray,
    prompt: np.ndarray,
    job: np.ndarray,
    end_s: float,
    stopped: str | None,
    keep_requests: bool,
) -> SimulationResult:
    ok = [c for c in finished if not c.rejected]
    rid = np.asarray([c.rid for c in ok], dtype=np.int64)
    first = np.asarray([c.first_token_at_s for c in ok])
    fin = np.asarray([c.finished_at_s for c in ok])
    admitted = np.asarray([c.admitted_at_s for c in ok])
    out = np.asarray([c.output_tokens for c in ok], dtype=np.int64)
    interactive = job[rid] < 0 if len(rid) else np.zeros(0, dtype=bool)
    arr = arrival[rid] if len(rid) else np.zeros(0)
    decode_s = fin - first
    with np.errstate(divide="ignore", invalid="ignore"):
        tok_s = np.where(out > 1, (out - 1) / np.maximum(decode_s, 1e-12), np.inf)
        tpot_ms = np.where(out > 1, decode_s / np.maximum(out - 1, 1) * MS_PER_S, 0.0)
    ttft = first - arr
    i = interactive
    n_interactive = int(np.sum(job < 0))
    met = slo_mask(ttft[i], tok_s[i], workload.slo)
    attainment = float(met.sum() / n_interactive) if n_interactive else 1.0
    finite_tok_s = tok_s[i][np.isfinite(tok_s[i])]
    jobs: list[BatchJobResult] = []
    for j, spec in enumerate(workload.batch_jobs):
        mask = job[rid] == j if len(rid) else np.zeros(0, dtype=bool)
        done = int(mask.sum())
        start_s = (spec.start_hour if spec.start_hour is not None else workload.active_hours) * S_PER_HOUR
        hours = (float(fin[mask].max()) - start_s) / S_PER_HOUR if done == spec.requests else math.inf
        jobs.append(
            BatchJobResult(
                name=spec.name,
                requests=spec.requests,
                completed=done,
                completion_hours=hours,
                window_hours=spec.window_hours,
                met_window=hours <= spec.window_hours,
            )
        )
    span_s = max(end_s, workload.active_hours * S_PER_HOUR)
    busy = sum(e.busy_s for e in engines)
    return SimulationResult(
        option=option,
        users=users,
        seed=seed,
        requests=n_interactive,
        completed=int(i.sum()),
        rejected=sum(1 for c in finished if c.rejected),
        truncated=sum(e.num_truncated for e in engines),
        unfinished=len(arrival) - len(finished),
        per_user_tok_s=percentiles(finite_tok_s, higher_is_better=True),
        ttft_s=percentiles(ttft[i]),
        queue_wait_s=percentiles((admitted - arr)[i]),
        tpot_ms=percentiles(tpot_ms[i][out[i] > 1]),
        e2e_s=percentiles((fin - arr)[i]),
        ttft_histogram=log_histogram(ttft[i], low=0.01),
        tok_s_histogram=log_histogram(finite_tok_s, low=0.1),
        slo_attainment=attainment,
        meets_slo=attainment >= workload.slo.percentile / 100.0 and stopped is None,
        goodput_rps=float(met.sum()) / (workload.active_hours * S_PER_HOUR),
        peak_concurrency=max((e.peak_running for e in engines), default=0),
        mean_concurrency=sum(e.concurrency_area for e in engines) / busy if busy else 0.0,
        busy_fraction=busy / (span_s * len(engines)) if span_s else 0.0,
        batch_jobs=jobs,
        decode_steps=sum(e.num_steps for e in engines),
        preemptions=sum(e.num_preemptions for e in engines),
        output_tokens=int(out.sum()),
        prompt_tokens=int(prompt.sum()),
        simulated_hours=end_s / S_PER_HOUR,
        stopped_early=stopped,
        per_request=_outcomes(workload, rid, arr, admitted, first, fin, out, prompt, job, tok_s, tpot_ms) if keep_requests else None,
    )


def _outcomes(
    workload: Workload,
    rid: np.ndarray,
    arr: np.ndarray,
    admitted: np.ndarray,
    first: np.ndarray,
    fin: np.ndarray,
    out: np.ndarray,
    prompt: np.ndarray,
    job: np.ndarray,
    tok_s: np.ndarray,
    tpot_ms: np.ndarray,
) -> list[RequestOutcome]:
    """One RequestOutcome per finished request, in arrival order."""
    names = [j.name for j in workload.batch_jobs]
    rows = [
        RequestOutcome(
            request=int(r),
            job=names[job[r]] if job[r] >= 0 else None,
            arrival_s=float(arr[k]),
            queue_wait_s=float(admitted[k] - arr[k]),
            ttft_s=float(first[k] - arr[k]),
            tpot_ms=float(tpot_ms[k]) if out[k] > 1 else None,
            tok_s=float(tok_s[k]) if out[k] > 1 else None,
            e2e_s=float(fin[k] - arr[k]),
            prompt_tokens=int(prompt[r]),
            output_tokens=int(out[k]),
        )
        for k, r in enumerate(rid.tolist())
    ]
    return sorted(rows, key=lambda o: o.arrival_s)


def find_max_users(dep: Deployment, workload: Workload, *, replicas: int = 1, seed: int = 0, upper: int = 100_000) -> int:
    """Most users (same workload per user) for which the simulated day still meets the SLO; 0 if even one fails.

    Doubling then bisection; assumes attainment falls as users grow (checked by a property test).
    """

    def ok(n: int) -> bool:
        return simulate_day(dep, workload, replicas=replicas, users=n, seed=seed).meets_slo

    if not ok(1):
        return 0
    lo, hi = 1, 2
    while hi <= upper and ok(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, upper + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo
