"""Autoscaled fleets: replicas added as the load rises, each serving after its cold start, and released as it falls.

A policy is one function from the fleet's signal to the replicas wanted; `POLICIES` maps an option's
`autoscale.policy` to it. Adding a policy is one file and one entry here. The event loop (`simulate.run`) asks the
policy every `interval_s` and applies the answer through `Fleet`.
"""

from __future__ import annotations

from collections.abc import Callable

from tokenlane.simulate.scaling.fleet import DRAINING, OFF, WARM, WARMING, Fleet, ScalingPlan, ScalingResult
from tokenlane.simulate.scaling.reactive import reactive
from tokenlane.simulate.scaling.scheduled import scheduled
from tokenlane.simulate.scaling.signal import FleetSignal

POLICIES: dict[str, Callable[[ScalingPlan, FleetSignal, float], int]] = {"reactive": reactive, "scheduled": scheduled}
"""Policies by the id an option's `autoscale.policy` gives."""

__all__ = ["DRAINING", "OFF", "POLICIES", "WARM", "WARMING", "Fleet", "FleetSignal", "ScalingPlan", "ScalingResult"]
