"""Every simulated day of a scenario, each simulated at most once, and a process pool to simulate them in parallel.

A day is keyed by (option, replicas, users, seed): sizing a fleet, assessing an option as configured, pricing it
and reporting on it all read the same `SimulationResult`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from tokenlane.capacity import option_deployment
from tokenlane.catalog import Catalog
from tokenlane.pool import worker_pool
from tokenlane.scenario import Option, Scenario
from tokenlane.simulate.metrics import SimulationResult
from tokenlane.simulate.run import ApiServing, Server, simulate_day

API_TTFT_S = 1.8
"""Default time to first token of an API, s: Claude Sonnet 4.5's median on Artificial Analysis (as quoted in
https://lattice.uptownhr.com/claude-opus-4-5/speed-analysis, 2025-11-24); `ttft_s` on an api option overrides it."""
API_TOK_S = 63.0
"""Default stream speed of an API, tok/s: Claude Sonnet 4.5's median output speed on Artificial Analysis (same
source); `tok_s` on an api option overrides it."""
API_SERVING_SOURCE = "Artificial Analysis medians for Claude Sonnet 4.5 (1.8 s TTFT, 63 tok/s), quoted 2025-11-24"
API_SERVING_AS_OF = "2025-11-24"

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


class DayRuns:
    """The memo of a scenario's simulated days."""

    def __init__(self, scenario: Scenario, catalog: Catalog, *, seed: int = 0, exact: bool = False, keep_logs: bool = True) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.seed = seed
        self.exact = exact
        self.keep_logs = keep_logs
        """Keep each day's request log (off: summaries only, so a search over large days holds one log at a time)."""
        self.days: dict[DayKey, SimulationResult] = {}

    def key(self, option: str, *, replicas: int | None = None, users: int | None = None) -> DayKey:
        opt = self.scenario.option(option)
        return (option, replicas if replicas is not None else opt.count, users or self.scenario.workload.users, self.seed)

    def day(self, option: str, *, replicas: int | None = None, users: int | None = None) -> SimulationResult:
        """The simulated day of `option` with `replicas` replicas (default its count) and `users` users."""
        key = self.key(option, replicas=replicas, users=users)
        if key not in self.days:
            opt = self.scenario.option(option)
            day = simulate_day(
                option_server(self.catalog, opt),
                self.scenario.workload,
                option=option,
                replicas=key[1],
                users=key[2],
                seed=self.seed,
                scheduler=opt.scheduler,
                exact=self.exact,
            )
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
    if workers <= 1 or len(todo) <= 1:
        for x in todo:
            yield fn(x, shared)
        return
    with worker_pool(min(workers, len(todo)), initializer=_keep_shared, initargs=(shared,)) as pool:
        yield from pool.map(_call_with_shared, [(fn, x) for x in todo], chunksize=chunksize)


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
