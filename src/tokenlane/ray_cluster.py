"""A Ray session for the work that can leave this machine: a search's configurations (search/backends.py) and a
day's replica shares (simulate/shard.py). Ray is an optional extra (`pip install 'tokenlane[ray]'`)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from tokenlane.errors import InputError

REACH_TIMEOUT_S = 3.0


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
