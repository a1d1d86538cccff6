"""Every simulated day of a scenario, each simulated at most once, and a process pool to simulate them in parallel.

A day is keyed by (option, replicas, users, seed): sizing a fleet, assessing an option as configured, pricing it
and reporting on it all read the same `SimulationResult`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from tokenlane.capacity import Deployment, option_deployment, plan_memory, slo_load
from tokenlane.catalog import Catalog
from tokenlane.errors import InputError
from tokenlane.pool import worker_pool
from tokenlane.scenario import Option, Scenario, Workload, unshardable
from tokenlane.simulate.metrics import SimulationResult
from tokenlane.simulate.run import ApiServing, Server, simulate_day
from tokenlane.simulate.scaling import ScalingPlan
from tokenlane.simulate.shard import Shards, sharded_day
from tokenlane.simulate.workload import hourly_profile
from tokenlane.units import GB, S_PER_HOUR

API_TTFT_S = 1.8
"""Default time to first token of an API, s: Claude Sonnet 4.5's median on Artificial Analysis (as quoted in
https://lattice.uptownhr.com/claude-opus-4-5/speed-analysis, 2025-11-24); `ttft_s` on an api option overrides it."""
API_TOK_S = 63.0
"""Default stream speed of an API, tok/s: Claude Sonnet 4.5's median output speed on Artificial Analysis (same
source); `tok_s` on an api option overrides it."""
API_SERVING_SOURCE = "Artificial Analysis medians for Claude Sonnet 4.5 (1.8 s TTFT, 63 tok/s), quoted 2025-11-24"
API_SERVING_AS_OF = "2025-11-24"

TARGET_UTILIZATION = 0.7
"""An autoscaler's default target: this share of what a replica can take (Knative's container-concurrency target
utilisation, 70%: knative.dev/docs/serving/autoscaling/concurrency/)."""
DEFAULT_QUEUE_TARGET = 1.0
"""Default `queue` target: one request waiting per replica (assumption: a queue means the fleet is short)."""

DayKey = tuple[str, int, int, int]
"""(option name, replicas, users, seed)."""
T = TypeVar("T")
R = TypeVar("R")


def option_server(catalog: Catalog, option: Option) -> Server:
    """What serves an option's requests: its deployment, or the API's fleet (speed: the option's, else the catalog
    entry's of that API model, else the default)."""
    if option.kind == "api":
        entry = catalog.api_model(option.provider, option.model)
        ttft = option.ttft_s or (entry.ttft_s if entry else None) or API_TTFT_S
        tok_s = option.tok_s or (entry.tok_s if entry else None) or API_TOK_S
        return ApiServing(ttft_s=ttft, tok_s=tok_s, label=option.name)
    return option_deployment(catalog, option)


def cold_start_s(dep: Deployment, load_gb_per_s: float = 1.0, *, field: str | None = None) -> float:
    """From asking for a replica to its first request, s: its weights read at `load_gb_per_s` (each server of a
    replica reads its share at once) + the engine's start-up (catalog `engines.startup`); InputError naming `field`
    when the catalog has no start-up time for the engine."""
    if dep.engine.startup is None:
        raise InputError(f"the catalog has no start-up time for engine {dep.engine.id}; give cold_start_s", field=field)
    return plan_memory(dep).weights_bytes / GB / load_gb_per_s / dep.servers + dep.engine.startup.seconds


def scaling_plan(scenario: Scenario, catalog: Catalog, option: Option, dep: Deployment, max_replicas: int) -> ScalingPlan | None:
    """An option's `autoscale` resolved with its defaults (docs/autoscale.md), up to `max_replicas`; None without one.

    Cold start = the replica's weights read at `load_gb_per_s` (each server of a replica reads its share at once) +
    the engine's start-up (catalog `engines.startup`). Target `requests`: 70% of the requests one replica holds at
    the most load it carries within the SLO (`requests_at_slo`), at least 1. Schedule: the peak fleet
    scaled by the workload's hourly profile, each hour rounded up."""
    auto = option.autoscale
    if auto is None:
        return None
    field = f"options[{option.name}].autoscale"
    cold = auto.cold_start_s if auto.cold_start_s is not None else cold_start_s(dep, auto.load_gb_per_s, field=f"{field}.cold_start_s")
    workload = scenario.workload
    target = auto.target.value
    if target is None and auto.target.signal == "requests":
        target = max(1.0, TARGET_UTILIZATION * requests_at_slo(dep, workload, option.scheduler))
    elif target is None:
        target = TARGET_UTILIZATION if auto.target.signal == "kv_cache" else DEFAULT_QUEUE_TARGET
    top = max(max_replicas, auto.min_replicas)
    schedule: tuple[int, ...] = ()
    if auto.policy == "scheduled":
        if auto.schedule is not None:
            schedule = tuple(min(max(n, auto.min_replicas), top) for n in auto.schedule)
        else:
            profile = hourly_profile(workload)
            schedule = tuple(min(max(math.ceil(top * w / profile.max() - 1e-9), auto.min_replicas), top) for w in profile.tolist())
    spill = None
    if auto.spillover is not None:
        api = next((o for o in scenario.options if o.name == auto.spillover and o.kind == "api"), None)
        if api is None:
            raise InputError(f"'{auto.spillover}' names no api option", field=f"{field}.spillover")
        spill = option_server(catalog, api)
        assert isinstance(spill, ApiServing)
    return ScalingPlan(
        policy=auto.policy,
        min_replicas=auto.min_replicas,
        max_replicas=top,
        cold_start_s=cold,
        interval_s=auto.interval_s,
        scale_down_idle_s=auto.scale_down_idle_s,
        signal=auto.target.signal,
        target=target,
        schedule=schedule,
        billing_increment_s=auto.billing_increment_s,
        billing_minimum_s=auto.billing_minimum_s,
        spill=spill,
        spillover=auto.spillover,
    )


PROFILE_REQUESTS = 1500
"""Requests in each steady day a replica's load at the SLO is measured on (fewer: a few slow requests decide whether a
95th percentile is met)."""
PROFILE_PRECISION = 1.15
"""The measured load at the SLO is within this factor of the true one (the search stops when its bracket is this
narrow)."""
_AT_SLO: dict[tuple[Deployment, str, str | None, float], tuple[float, SimulationResult | None]] = {}


def requests_at_slo(dep: Deployment, workload: Workload, scheduler: str | None) -> float:
    """Requests one replica holds at once (running and waiting) at the most steady load it carries within the SLO
    (`rate_at_slo`), by Little's law: rate x mean time in the system. What NVIDIA Dynamo's SLA planner profiles before
    it scales (a replica's throughput within the TTFT and ITL targets); 0 when even a light load misses the SLO.
    # Source: docs.nvidia.com/dynamo (SLA-based planner: pre-deployment profiling, then replicas = load / profiled capacity)."""
    rate, result = rate_at_slo(dep, workload, scheduler)
    return rate * (result.e2e_s.mean or 0.0) if result is not None else 0.0


def rate_at_slo(
    dep: Deployment, workload: Workload, scheduler: str | None = None, *, precision: float = PROFILE_PRECISION
) -> tuple[float, SimulationResult | None]:
    """The most requests per second one replica (a disaggregated layout: one unit) carries within the workload's SLO,
    by simulation, and that day: the workload's interactive requests arriving at a constant rate, `PROFILE_REQUESTS`
    of them, the highest rate whose day meets the SLO bracketed from the capacity model's estimate
    (`capacity.slo_load`) and narrowed to within `precision` (a factor); (0, None) when even a light load misses the
    SLO. Memoised per process."""
    steady = workload.model_copy(
        update={"arrival": "poisson", "hourly_weights": None, "think_time_s": None, "batch_jobs": [], "trace": None}
    )
    key = (dep, steady.model_dump_json(), scheduler, precision)
    if key in _AT_SLO:
        return _AT_SLO[key]
    users = workload.users

    def day(rate_rps: float) -> SimulationResult:
        hours = PROFILE_REQUESTS / rate_rps / S_PER_HOUR
        at = steady.model_copy(update={"active_hours": hours, "requests_per_user_hour": rate_rps * S_PER_HOUR / users})
        return simulate_day(dep, at, users=users, scheduler=scheduler)

    prompt, output = workload.prompt_tokens.expected, workload.output_tokens.expected
    model = slo_load(dep, prompt, 0.0, output, workload.slo.min_tok_s_per_user)
    in_system_s = model.prefill_s + model.decode_s * model.streams
    rate = model.requests_in_flight / in_system_s if in_system_s > 0 else 1.0 / S_PER_HOUR
    passing: tuple[float, SimulationResult] | None = None
    failing: float | None = None
    for _ in range(40):
        result = day(rate)
        if result.meets_slo:
            passing = (rate, result)
        else:
            failing = rate
        if passing is not None and failing is not None and failing / passing[0] <= precision:
            break
        if failing is None:
            rate *= 2.0
        elif passing is None:
            rate /= 2.0
        else:
            rate = (passing[0] * failing) ** 0.5
        if passing is None and rate < 1.0 / S_PER_HOUR:
            break  # under one request an hour still misses it: the SLO is out of reach per request
    _AT_SLO[key] = passing if passing is not None else (0.0, None)
    return _AT_SLO[key]


def configured_replicas(option: Option) -> int:
    """The replicas an option runs as configured: its `count`, or an autoscaled fleet's maximum (its
    `autoscale.max_replicas`, else its `max_units`)."""
    if option.autoscale is not None:
        return option.autoscale.max_replicas or option.max_units
    return option.count


class DayRuns:
    """The memo of a scenario's simulated days."""

    def __init__(
        self,
        scenario: Scenario,
        catalog: Catalog,
        *,
        seed: int = 0,
        exact: bool = False,
        keep_logs: bool = True,
        progress: Callable[[str, float], None] | None = None,
        shards: Shards | None = None,
    ) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.seed = seed
        self.exact = exact
        self.keep_logs = keep_logs
        """Keep each day's request log (off: summaries only, so a search over large days holds one log at a time)."""
        self.days: dict[DayKey, SimulationResult] = {}
        self.progress = progress
        """Hears (option, simulated share of its day) while a day is simulated (`simulate_day`'s `progress`)."""
        self.shards = shards
        """Where each replica's share of a day is stepped, for the days that can be sharded (`scenario.unshardable`;
        simulate/shard.py); None: every day in this process."""

    def key(self, option: str, *, replicas: int | None = None, users: int | None = None) -> DayKey:
        opt = self.scenario.option(option)
        return (option, replicas if replicas is not None else configured_replicas(opt), users or self.scenario.workload.users, self.seed)

    def day(self, option: str, *, replicas: int | None = None, users: int | None = None) -> SimulationResult:
        """The simulated day of `option` with `replicas` replicas (default its count) and `users` users."""
        key = self.key(option, replicas=replicas, users=users)
        if key not in self.days:
            opt = self.scenario.option(option)
            server = option_server(self.catalog, opt)
            scaling = scaling_plan(self.scenario, self.catalog, opt, server, key[1]) if isinstance(server, Deployment) else None
            listen = self.progress
            hear = None if listen is None else lambda share: listen(option, share)
            workload = self.scenario.workload
            common = {"option": option, "replicas": key[1], "users": key[2], "seed": self.seed, "scheduler": opt.scheduler}
            common |= {"exact": self.exact, "router": opt.router, "progress": hear}
            if self.shards is not None and isinstance(server, Deployment) and key[1] > 1 and unshardable(workload, opt) is None:
                day = sharded_day(server, workload, shards=self.shards, **common)
            else:
                day = simulate_day(server, workload, scaling=scaling, **common)
            self.days[key] = day if self.keep_logs else day.model_copy(update={"log": None})
        return self.days[key]

    def demand_day(self) -> SimulationResult:
        """The day as the workload makes it, every request served at once at API speed: the first API option's day,
        else one simulated on the default API serving (the volume a scenario without APIs is measured by)."""
        api = next((o for o in self.scenario.options if o.kind == "api"), None)
        if api is not None:
            return self.day(api.name)
        key: DayKey = ("", 0, self.scenario.workload.users, self.seed)
        if key not in self.days:
            self.days[key] = simulate_day(ApiServing(ttft_s=API_TTFT_S, tok_s=API_TOK_S), self.scenario.workload, seed=self.seed)
        return self.days[key]

    def merge(self, days: dict[DayKey, SimulationResult]) -> None:
        """Take days simulated elsewhere (another process)."""
        for key, result in days.items():
            self.days.setdefault(key, result)


def workers_available() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


S = TypeVar("S")
_SHARED: object = None
"""In a pool worker of `map_shared`: the object shared with every call."""


def _keep_shared(value: object) -> None:
    global _SHARED
    _SHARED = value


def _call_with_shared(call: tuple[Callable[[T, object], R], T]) -> R:
    fn, item = call
    return fn(item, _SHARED)


def map_shared(fn: Callable[[T, S], R], items: Iterable[T], shared: S, *, workers: int, chunksize: int = 1) -> Iterator[R]:
    """`fn(x, shared)` for each item, yielded in order as they come, in a pool of `workers` processes when there is
    more than one item and worker (`chunksize` items a task). `shared` reaches each worker once when it starts
    (inherited, not copied, where the platform forks) instead of pickled with every item: for what is large or common
    to every item, such as days with request logs of millions of requests, or a search's scenario and catalog."""
    todo = list(items)
    with shared_pool(shared, workers=min(workers, len(todo))) as run:
        yield from run(fn, todo, chunksize=chunksize)


@contextlib.contextmanager
def shared_pool(shared: S, *, workers: int) -> Iterator[Callable[..., Iterator[R]]]:
    """A pool of `workers` processes holding `shared` (see `map_shared`), kept across calls: yields
    `run(fn, items, chunksize=1)`, which gives `fn(x, shared)` for each item in order (here, one by one, with one
    worker)."""
    if workers <= 1:

        def here(fn: Callable[[T, S], R], items: Iterable[T], chunksize: int = 1) -> Iterator[R]:
            return (fn(x, shared) for x in items)

        yield here
        return
    with worker_pool(workers, initializer=_keep_shared, initargs=(shared,)) as pool:

        def there(fn: Callable[[T, S], R], items: Iterable[T], chunksize: int = 1) -> Iterator[R]:
            return pool.map(_call_with_shared, [(fn, x) for x in items], chunksize=chunksize)

        yield there


def local_shards(workers: int) -> Shards:
    """A day's replica shares stepped on a pool of `workers` local processes (`map_shared`; here, with one)."""
    return lambda fn, items, shared: map_shared(fn, items, shared, workers=workers)


def parallel_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """`[fn(x) for x in items]`, in a pool of `workers` processes when there is more than one item and worker.

    Results come back in order and are the same as a serial run's: every day is seeded by its key, not by the
    process that simulates it.
    """
    todo = list(items)
    if workers <= 1 or len(todo) <= 1:
        return [fn(x) for x in todo]
    with worker_pool(min(workers, len(todo))) as pool:
        return list(pool.map(fn, todo))
