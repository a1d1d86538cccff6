"""Routers: which replica of a fixed fleet takes an interactive request.

The default, `least_outstanding`, reads every replica's load at each arrival (the event loop's `_Day._least_loaded`).
The others here choose without reading any replica: from the arrival's place in the day or its user. Such a router
assigns a whole day before it is simulated (`choose` takes arrays as well as single values), so each replica's share
can be stepped on a worker of its own (simulate/shard.py). Adding one is one class and one entry of ROUTERS.
# Sources: vLLM production-stack router, `--routing-logic roundrobin|session` (RoundRobinRouter; SessionRouter routes
# by the request's session id), docs.vllm.ai/projects/production-stack (vllm-stack 0.1.5, dev_guide/dev_api/
# router-logic); vllm-router 0.1.9 (pypi.org/project/vllm-router): round robin and consistent hashing.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np

Index = TypeVar("Index", int, np.ndarray)


class Router(Protocol):
    def choose(self, replicas: int, arrival: Index, user: Index) -> Index:
        """The replica (0 to `replicas` - 1) of the `arrival`-th interactive request of the day (0-based), sent by
        `user`; elementwise over arrays."""
        ...


class RoundRobin:
    """Each request to the next replica in turn."""

    def choose(self, replicas: int, arrival: Index, user: Index) -> Index:
        return arrival % replicas


class Session:
    """Every request of a user to the same replica (user modulo the replicas: a session-affinity router, which keeps
    a conversation's prefix cache on one replica)."""

    def choose(self, replicas: int, arrival: Index, user: Index) -> Index:
        return user % replicas


LEAST_OUTSTANDING = "least_outstanding"
ROUTERS: dict[str, Router] = {"round_robin": RoundRobin(), "session": Session()}
"""Routers that read no replica's load, by the id an option's `router` gives (the default, LEAST_OUTSTANDING, reads
every replica's and lives in the event loop)."""
BALANCERS = {
    LEAST_OUTSTANDING: "a least-outstanding-requests load balancer",
    "round_robin": "a round-robin load balancer (vLLM production-stack router: --routing-logic roundrobin)",
    "session": "a load balancer keeping each user on one replica (vLLM production-stack router: --routing-logic session)",
}
"""What to put the replicas behind, in words, per router: the deployment's recipe and files say it."""
