"""Where a search's configurations are judged: here one by one, in a pool of local processes, or as Ray tasks on a
cluster. Each backend is one function and one entry of BACKENDS; every backend yields the same results (each is
`evaluate`, seeded by the scenario's seed, not by where it runs), in the order of the configurations given."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

from tokenlane.catalog import Catalog
from tokenlane.errors import InputError
from tokenlane.scenario import Scenario
from tokenlane.search.evaluate import ConfigResult, EvalJob, evaluate
from tokenlane.search.space import Config
from tokenlane.simulate import map_shared

CHUNK = 4
"""Configurations a pool worker takes at a time (most are pruned on paper in about a millisecond)."""


def _evaluate_with(config: Config, shared: tuple[Scenario, Catalog, int, str]) -> ConfigResult:
    scenario, catalog, seed, search = shared
    return evaluate(EvalJob(scenario, catalog, config, seed, search))


def serial(
    scenario: Scenario, catalog: Catalog, configs: list[Config], *, seed: int, search: str, workers: int, address: str | None
) -> Iterator[ConfigResult]:
    """One after another in this process."""
    for config in configs:
        yield evaluate(EvalJob(scenario, catalog, config, seed, search))


def pool(
    scenario: Scenario, catalog: Catalog, configs: list[Config], *, seed: int, search: str, workers: int, address: str | None
) -> Iterator[ConfigResult]:
    """A pool of `workers` local processes (the scenario and catalog reach each once: `simulate.map_shared`)."""
    yield from map_shared(_evaluate_with, configs, (scenario, catalog, seed, search), workers=workers, chunksize=CHUNK)


def ray_tasks(
    scenario: Scenario, catalog: Catalog, configs: list[Config], *, seed: int, search: str, workers: int, address: str | None
) -> Iterator[ConfigResult]:
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
        refs = [remote.remote(scenario_ref, catalog_ref, c, seed, search) for c in configs]
        for ref in refs:
            yield ray.get(ref)
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


def _evaluate_parts(scenario: Scenario, catalog: Catalog, config: Config, seed: int, search: str) -> ConfigResult:
    return evaluate(EvalJob(scenario, catalog, config, seed, search))


Backend = Callable[..., Iterator[ConfigResult]]
BACKENDS: dict[str, Backend] = {"serial": serial, "pool": pool, "ray": ray_tasks}
