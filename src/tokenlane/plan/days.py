"""The one wiring from scenario to simulated days: every option's day, fleet sizes found by simulation, each
(option, replicas, users, seed) day simulated once — options in parallel on the cores available."""

from __future__ import annotations

from dataclasses import dataclass

from tokenlane.capacity import option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.cost import CostReport, OptionDays, cost_scenario, size_fleet
from tokenlane.scenario import Scenario
from tokenlane.simulate import DayRuns, SimulationResult, parallel_map, workers_available
from tokenlane.simulate.runs import DayKey


@dataclass(frozen=True)
class ScenarioDays:
    """What cost, the assessment and the report read: each option's priced day, and every day simulated."""

    priced: dict[str, OptionDays]
    """Per option: the day at its fleet size (APIs: on the provider's fleet). Options that do not fit are absent."""
    demand: SimulationResult
    """The day as the workload makes it (`DayRuns.demand_day`), with its request log: the scenario's volume."""
    runs: DayRuns

    def as_configured(self, option: str) -> SimulationResult | None:
        """The option's day with its own `count` of replicas, if it was simulated."""
        key = self.runs.key(option)
        return self.runs.days.get(key)


@dataclass(frozen=True)
class SizingJob:
    scenario: Scenario
    catalog: Catalog
    option: str
    seed: int
    exact: bool


def size_option(job: SizingJob) -> tuple[str, OptionDays | None, dict[DayKey, SimulationResult]]:
    """One self-hosted option's fleet-sizing search (which starts at the option's own count), summaries only."""
    runs = DayRuns(job.scenario, job.catalog, seed=job.seed, exact=job.exact, keep_logs=False)
    option = job.scenario.option(job.option)
    if not plan_memory(option_deployment(job.catalog, option)).fits:
        return option.name, None, runs.days
    limit = max(option.count, option.max_units)
    found = size_fleet(lambda n: runs.day(option.name, replicas=n), min_replicas=option.count, max_replicas=limit)
    assert found.value is not None
    day = runs.day(option.name, replicas=found.value)
    return (
        option.name,
        OptionDays(day=day, replicas=found.value, carries=found.passes, at_max_units=not found.passes and not found.gave_up),
        runs.days,
    )


def simulate_options(
    scenario: Scenario, catalog: Catalog, *, seed: int = 0, exact: bool = False, workers: int | None = None
) -> ScenarioDays:
    """Simulate every option's day: APIs here (their logs are billed), self-hosted fleets sized by simulation in
    parallel across options when cores allow. The result is the same serial or parallel: each day is seeded by its
    key."""
    runs = DayRuns(scenario, catalog, seed=seed, exact=exact)
    priced = {o.name: OptionDays(day=runs.day(o.name), replicas=0, carries=True) for o in scenario.options if o.kind == "api"}
    jobs = [SizingJob(scenario, catalog, o.name, seed, exact) for o in scenario.options if o.kind != "api"]
    for name, days, option_runs in parallel_map(size_option, jobs, workers=workers_available() if workers is None else workers):
        runs.merge(option_runs)
        if days is not None:
            priced[name] = days
    ordered = {o.name: priced[o.name] for o in scenario.options if o.name in priced}
    return ScenarioDays(priced=ordered, demand=runs.demand_day(), runs=runs)


def price_scenario(scenario: Scenario, catalog: Catalog, *, seed: int = 0, exact: bool = False, workers: int | None = None) -> CostReport:
    """`tokenlane cost`: simulate every option's day (`simulate_options`) and price it (`cost.cost_scenario`)."""
    days = simulate_options(scenario, catalog, seed=seed, exact=exact, workers=workers)
    return cost_scenario(scenario, catalog, days=days.priced, demand=days.demand)
