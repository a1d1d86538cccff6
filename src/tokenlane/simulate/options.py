"""Simulate every self-hosted option of a scenario (API options are fleets: they have no box to simulate)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.scenario import Scenario
from tokenlane.simulate.metrics import SimulationResult
from tokenlane.simulate.run import find_max_users, simulate_day


class SkippedOption(BaseModel):
    """An option that was not simulated, and why."""

    model_config = ConfigDict(frozen=True)

    option: str
    reason: str


class ScenarioSimulation(BaseModel):
    """Simulation results for a scenario's options."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    results: list[SimulationResult]
    max_users_by_option: dict[str, int]
    skipped: list[SkippedOption]


def simulate_scenario(
    scenario: Scenario,
    catalog: Catalog,
    *,
    option: str | None = None,
    seed: int = 0,
    find_max: bool = False,
    keep_requests: bool = False,
) -> ScenarioSimulation:
    """Simulate the chosen option (or every self_host/cloud_gpu option) for one day."""
    chosen = [scenario.option(option)] if option else scenario.options
    results: list[SimulationResult] = []
    skipped: list[SkippedOption] = []
    max_users: dict[str, int] = {}
    for opt in chosen:
        if opt.kind == "api":
            skipped.append(SkippedOption(option=opt.name, reason="API: served by the provider's fleet, no box to simulate"))
            continue
        dep = option_deployment(catalog, opt)
        plan = plan_memory(dep)
        if not plan.fits:
            skipped.append(SkippedOption(option=opt.name, reason=f"does not fit: short by {plan.shortfall_gb:.1f} GB"))
            continue
        results.append(simulate_day(dep, scenario.workload, option=opt.name, replicas=opt.count, seed=seed, keep_requests=keep_requests))
        if find_max:
            max_users[opt.name] = find_max_users(dep, scenario.workload, replicas=opt.count, seed=seed)
    return ScenarioSimulation(scenario=scenario.name, results=results, max_users_by_option=max_users, skipped=skipped)
