"""Scheduler policies: how one replica admits queued requests into its running batch.

A policy is one small class; `SCHEDULERS` maps an id (an engine's `batching`, or an option's `scheduler`) to a
factory. Adding a policy is one file and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable

from tokenlane.capacity import Deployment
from tokenlane.simulate.schedulers.base import FcfsQueue, SchedulerPolicy, WaitQueue
from tokenlane.simulate.schedulers.continuous import ContinuousBatching
from tokenlane.simulate.schedulers.priority import InteractiveFirst
from tokenlane.simulate.schedulers.serial import OneAtATime
from tokenlane.simulate.schedulers.slots import FixedSlots

SCHEDULERS: dict[str, Callable[[Deployment], SchedulerPolicy]] = {
    "continuous": ContinuousBatching,
    "slots": FixedSlots,
    "serial": OneAtATime,
    "priority": lambda dep: InteractiveFirst(SCHEDULERS[dep.engine.batching](dep)),
}
"""Policy factories by id; `priority` wraps the engine's own policy."""


def scheduler_for(dep: Deployment, scheduler: str | None = None) -> SchedulerPolicy:
    """The policy `scheduler` names, else the one the engine's `batching` names."""
    return SCHEDULERS[scheduler or dep.engine.batching](dep)


__all__ = ["SCHEDULERS", "FcfsQueue", "SchedulerPolicy", "WaitQueue", "scheduler_for"]
