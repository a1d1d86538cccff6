"""Where a search's configurations are judged: here one by one, in a pool of local processes, or as Ray tasks on a
cluster. Each backend is one context manager and one entry of BACKENDS: it holds its workers for the whole search and
yields a `Judge`, called once per wave of configurations; every backend gives the same results (each is `evaluate` or
`paper_bounds`, seeded by the scenario's seed, not by where it runs), in the order of the configurations given."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import TypeVar

from tokenlane.catalog import Catalog
from tokenlane.errors import InputError
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
    and catalog go to the object store once."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("Ray is not installed: pip install 'tokenlane[ray]'", field="--ray") from exc
    started = False
    if address not in ("local", "auto", None):
        _check_reachable(address)
    if not ray.is_initialized():
        try:
            if address == "local":
                ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"cannot reach the Ray cluster at {address} ({exc})", field="--ray") from exc
        started = True
    try:
        remote = ray.remote(_evaluate_parts)
        scenario_ref, catalog_ref = ray.put(scenario), ray.put(catalog)

        def judge(fn: Callable[[EvalJob], R], configs: list[Config]) -> Iterator[R]:
            refs = [remote.remote(fn, scenario_ref, catalog_ref, c, seed, search) for c in configs]
            return (ray.get(ref) for ref in refs)

        yield judge
    finally:
        if started:
            ray.shutdown()


REACH_TIMEOUT_S = 3.0


def _check_reachable(address: str) -> None:
    """A cluster address (`ray://host:port` or `host:port`) answers a TCP connection, else one clear error (Ray
    itself would retry for a minute)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"'{address}' is not host:port, ray://host:port, auto or local", field="--ray")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc})", field="--ray") from exc


def _evaluate_parts(fn: Callable[[EvalJob], R], scenario: Scenario, catalog: Catalog, config: Config, seed: int, search: str) -> R:
    return fn(EvalJob(scenario, catalog, config, seed, search))


Backend = Callable[..., contextlib.AbstractContextManager[Judge]]
BACKENDS: dict[str, Backend] = {"serial": serial, "pool": pool, "ray": ray_tasks}
