"""Discrete-event simulation of a workday on a deployment's engine scheduler. Pure."""

from tokenlane.simulate.metrics import BatchJobResult, Percentiles, RequestOutcome, SimulationResult
from tokenlane.simulate.options import ScenarioSimulation, SkippedOption, simulate_scenario
from tokenlane.simulate.run import find_max_users, simulate_day

__all__ = [
    "BatchJobResult",
    "Percentiles",
    "RequestOutcome",
    "ScenarioSimulation",
    "SimulationResult",
    "SkippedOption",
    "find_max_users",
    "simulate_day",
    "simulate_scenario",
]
