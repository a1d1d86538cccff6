"""Scheduled scaling: a replica count per active hour, each hour's replicas asked for a cold start before the hour
begins so that they serve from its first second (forecast-driven planners, such as Dynamo's load predictor, and
cron-scheduled scalers, such as KEDA's cron trigger). After the active hours the fleet keeps its minimum; batch work
waiting or running holds all replicas.
"""

from __future__ import annotations

from tokenlane.simulate.scaling.fleet import ScalingPlan
from tokenlane.simulate.scaling.signal import FleetSignal
from tokenlane.units import S_PER_HOUR


def scheduled(plan: ScalingPlan, signal: FleetSignal, now_s: float) -> int:
    """Replicas wanted now: the schedule's count for the hour that starts within a cold start from now."""
    if signal.batch_in_flight:
        return plan.max_replicas
    hour = int((now_s + plan.cold_start_s) // S_PER_HOUR)
    return plan.schedule[hour] if 0 <= hour < len(plan.schedule) else plan.min_replicas
