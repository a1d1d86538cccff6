"""Where a search's configurations are judged: here one by one, in a pool of local processes, or as Ray tasks on a
cluster. Each backend is one context manager and one entry of BACKENDS: it holds its workers for the whole search and
yields a `Judge`, called once per wave of configurations; every backend gives the same results (each is `evaluate` or
`paper_bounds`, seeded by the scenario's seed, not by where it runs), in the order of the configurations given."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

from tokenlane.catalog import Catalog
from tokenlane.ray_cluster import ray_map
from tokenlane.scenario import Scenario
from tokenlane.search.evaluate import EvalJob
from tokenlane.search.space import Config
from tokenlane.simulate.runs import shared_pool

CHUNK = 4
"""Configurations a pool worker takes at a time (most are pruned on paper in about a millisecond)."""
R = TypeVar("R")
Judge = Callable[[Callable[[EvalJob], R], list[Config]], Iterator[R]]
"""`judge(fn, configs)`: `fn(EvalJob(...))` for each configuration, in their order (`evaluate`, or `paper_bounds`)."""


def _judge_with(item: tuple[Callable[[EvalJob], R], Config], shared: tuple[Scenario, Catalog, int, str]) -> R:
    fn, config = item
    scenario, catalog, seed, search = shared
    return fn(EvalJob(scenario, catalog, config, seed, search))


@contextlib.contextmanager
def serial(scenario: Scenario, catalog: Catalog, *, seed: int, search: str, workers: int, address: str | None) -> Iterator[Judge]:
    """One after another in this process."""
    yield lambda fn, configs: (fn(EvalJob(scenario, catalog, c, seed, search)) for c in configs)


@contextlib.contextmanager
def pool(scenario: Scenario, catalog: Catalog, *, seed: int, search: str, workers: int, address: str | None) -> Iterator[Judge]:
    """A pool of `workers` local processes, kept for the whole search (the scenario and catalog reach each once:
    `simulate.shared_pool`)."""
    with shared_pool((scenario, catalog, seed, search), workers=workers) as run:
        # a wave of a few simulations goes one to a worker; thousands of paper checks in chunks
        yield lambda fn, configs: run(_judge_with, [(fn, c) for c in configs], chunksize=CHUNK if len(configs) > CHUNK * workers else 1)


@contextlib.contextmanager
def ray_tasks(scenario: Scenario, catalog: Catalog, *, seed: int, search: str, workers: int, address: str | None) -> Iterator[Judge]:
    """Ray tasks on the cluster at `address` (`local`: a Ray instance started here with `workers` CPUs); the scenario
    and catalog go to the object store once (`ray_cluster.ray_map`)."""
    shared = (scenario, catalog, seed, search)
    with ray_map(address, workers=workers) as run:
        yield lambda fn, configs: run(_judge_with, [(fn, c) for c in configs], shared)


Backend = Callable[..., contextlib.AbstractContextManager[Judge]]
BACKENDS: dict[str, Backend] = {"serial": serial, "pool": pool, "ray": ray_tasks}
