"""A Ray session for the work that can leave this machine: a search's configurations (search/backends.py) and a
day's replica shares (simulate/shard.py). Ray is an optional extra (`pip install 'tokenlane[ray]'`)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from tokenlane.errors import InputError

REACH_TIMEOUT_S = 3.0
T = TypeVar("T")
S = TypeVar("S")
R = TypeVar("R")
RayMap = Callable[[Callable[[T, S], R], list[T], S], Iterator[R]]
"""`run(fn, items, shared)`: `fn(item, shared)` for each item as a Ray task, the results in the items' order."""


@contextlib.contextmanager
def ray_session(address: str | None, *, workers: int) -> Iterator[Any]:
    """The `ray` module, connected to the cluster at `address` (`ray://host:port`, `host:port`, `auto`) or to a Ray
    instance started here with `workers` CPUs (`local`); a session this call started is shut down after. Errors name
    the `--ray` option."""
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
        yield ray
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def ray_map(address: str | None, *, workers: int) -> Iterator[RayMap]:
    """A `RayMap` on the cluster at `address` (see `ray_session`) for the session's length. `shared` goes to the object
    store once for as long as the same object is passed (a search's scenario and catalog, wave after wave)."""
    with ray_session(address, workers=workers) as ray:
        remote = ray.remote(_call)
        held: list[Any] = [None, None]
        """The last `shared` object and its object-store reference."""

        def run(fn: Callable[[T, S], R], items: list[T], shared: S) -> Iterator[R]:
            if held[0] is not shared:
                held[:] = [shared, ray.put(shared)]
            refs = [remote.remote(fn, item, held[1]) for item in items]
            return (ray.get(ref) for ref in refs)

        yield run


def _call(fn: Callable[[T, S], R], item: T, shared: S) -> R:
    return fn(item, shared)


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
