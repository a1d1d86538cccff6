"""Simulate a scenario's options as configured (and, if asked, the most users each carries within the SLO)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.errors import InputError
from tokenlane.scenario import MAX_USERS, Scenario
from tokenlane.simulate.metrics import SimulationResult
from tokenlane.simulate.runs import DayRuns
from tokenlane.simulate.search import largest_passing
from tokenlane.simulate.shard import Shards


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
    """Most users meeting the SLO (0: not even one), per option searched."""
    skipped: list[SkippedOption]


def simulate_scenario(
    scenario: Scenario,
    catalog: Catalog,
    *,
    option: str | None = None,
    seed: int = 0,
    find_max: bool = False,
    exact: bool = False,
    progress: Callable[[str, float], None] | None = None,
    shards: Shards | None = None,
) -> ScenarioSimulation:
    """Simulate the chosen option (or every option: boxes on their engine, APIs on the provider's fleet) for one day;
    `progress` hears (option, simulated share of the day) as each day runs; `shards` steps the replicas of the days
    that can be sharded (`DayRuns`)."""
    if find_max and scenario.workload.trace is not None:
        raise InputError(
            "does not apply to a trace: its requests are replayed as logged (replay it faster with trace.rate_multiplier)",
            field="--find-max-users",
        )
    chosen = [scenario.option(option)] if option else scenario.options
    runs = DayRuns(scenario, catalog, seed=seed, exact=exact, progress=progress, shards=shards)
    results: list[SimulationResult] = []
    skipped: list[SkippedOption] = []
    max_users: dict[str, int] = {}
    for opt in chosen:
        if opt.kind != "api":
            plan = plan_memory(option_deployment(catalog, opt))
            if not plan.fits:
                skipped.append(SkippedOption(option=opt.name, reason=f"does not fit: short by {plan.shortfall_gb:.1f} GB"))
                continue
        results.append(runs.day(opt.name))
        if find_max:
            found = largest_passing(lambda n, name=opt.name: runs.day(name, users=n), lambda r: r.meets_slo, limit=MAX_USERS)
            max_users[opt.name] = found.value or 0
    return ScenarioSimulation(scenario=scenario.name, results=results, max_users_by_option=max_users, skipped=skipped)
