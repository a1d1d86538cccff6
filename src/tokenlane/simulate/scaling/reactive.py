"""Reactive scaling: as many replicas as the signal needs at its target level per replica (the rule of Kubernetes'
Horizontal Pod Autoscaler and of KEDA: desired = ceil(current metric total / target per replica)).
# Source: kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ ("Algorithm details").
"""

from __future__ import annotations

import math

from tokenlane.simulate.scaling.fleet import ScalingPlan
from tokenlane.simulate.scaling.signal import FleetSignal


def reactive(plan: ScalingPlan, signal: FleetSignal, now_s: float) -> int:
    """Replicas wanted now: the signal's total over the target per replica (batch work waiting or running: all; while
    requests are spilling: at least one)."""
    if signal.batch_in_flight:
        return plan.max_replicas
    return max(math.ceil(signal.total(plan.signal) / plan.target - 1e-9), 1 if signal.spilled else 0)
