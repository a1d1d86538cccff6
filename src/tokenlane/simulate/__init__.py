"""Discrete-event simulation of a workday on a deployment's engine scheduler (or an API). Pure."""

from tokenlane.simulate.log import OUTCOMES, RequestLog, describe_rejections
from tokenlane.simulate.metrics import BatchJobResult, Percentiles, SimulationResult, percentiles
from tokenlane.simulate.options import ScenarioSimulation, SkippedOption, simulate_scenario
from tokenlane.simulate.run import ApiServing, Server, simulate_day
from tokenlane.simulate.runs import (
    API_SERVING_AS_OF,
    API_SERVING_SOURCE,
    DayRuns,
    map_shared,
    option_server,
    parallel_map,
    rate_at_slo,
    workers_available,
)
from tokenlane.simulate.schedulers import SCHEDULERS
from tokenlane.simulate.search import Boundary, largest_passing, smallest_passing
from tokenlane.simulate.steady import batch_replicas_floor, saturated_rate_rps

__all__ = [
    "API_SERVING_AS_OF",
    "API_SERVING_SOURCE",
    "OUTCOMES",
    "SCHEDULERS",
    "ApiServing",
    "BatchJobResult",
    "Boundary",
    "DayRuns",
    "Percentiles",
    "RequestLog",
    "ScenarioSimulation",
    "Server",
    "SimulationResult",
    "SkippedOption",
    "batch_replicas_floor",
    "describe_rejections",
    "largest_passing",
    "map_shared",
    "option_server",
    "parallel_map",
    "percentiles",
    "rate_at_slo",
    "saturated_rate_rps",
    "simulate_day",
    "simulate_scenario",
    "smallest_passing",
    "workers_available",
]
