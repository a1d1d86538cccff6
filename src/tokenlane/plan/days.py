"""The one wiring from scenario to simulated days: every option's day, fleet sizes found by simulation, each
(option, replicas, users, seed) day simulated once — options in parallel on the cores available."""

from __future__ import annotations

from dataclasses import dataclass

from tokenlane.capacity import Deployment, option_deployment, plan_memory
from tokenlane.capacity.uncertainty import SpeedInterval, prediction_interval
from tokenlane.catalog import Catalog
from tokenlane.cost import CostReport, IntervalEnds, OptionDays, cost_scenario, size_fleet
from tokenlane.scenario import Option, Scenario, Workload
from tokenlane.simulate import DayRuns, SimulationResult, batch_replicas_floor, map_shared, parallel_map, workers_available
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
    start: int | None = None
    """Replicas known to be needed at least (the same option, slower, needed them); None: its count."""
    carries_at: int | None = None
    """Replicas known to carry the day (the same option, faster, carried it with them); None: its max_units."""
    guess: int | None = None
    """A likely fleet size to try first (the same option's at another speed, scaled by the speeds)."""
    configured: bool = False
    """Also simulate the option's day with its own `count` (what a plan says of the option as configured) when the
    search did not (it starts above the count when a batch job needs more)."""


def size_option(job: SizingJob) -> tuple[str, OptionDays | None, dict[DayKey, SimulationResult]]:
    """One self-hosted option's fleet-sizing search, summaries only. It starts at the most of the option's own count,
    `start`, and the fleet its batch jobs need at their saturated rate (`simulate.batch_replicas_floor`): the days of
    smaller fleets are not simulated. An autoscaled option's size is its most replicas (`autoscale.max_replicas` when
    given: then not searched)."""
    runs = DayRuns(job.scenario, job.catalog, seed=job.seed, exact=job.exact, keep_logs=False)
    option = job.scenario.option(job.option)
    dep = option_deployment(job.catalog, option)
    if not plan_memory(dep).fits:
        return option.name, None, runs.days
    limit = max(option.count, option.max_units) if job.carries_at is None else job.carries_at
    floor = batch_replicas_floor(dep, job.scenario.workload, scheduler=option.scheduler, exact=job.exact)
    start = min(limit, max(option.count, job.start or 0, floor))
    fixed_max = option.autoscale.max_replicas if option.autoscale is not None else None
    if fixed_max is not None:  # an autoscaled fleet's own maximum: its day is what it is
        start = limit = fixed_max
    found = size_fleet(lambda n: runs.day(option.name, replicas=n), min_replicas=start, max_replicas=limit, guess=job.guess)
    assert found.value is not None
    if job.configured:
        runs.day(option.name)
    day = runs.day(option.name, replicas=found.value)
    return (
        option.name,
        OptionDays(day=day, replicas=found.value, carries=found.passes, at_max_units=not found.passes and not found.gave_up),
        runs.days,
    )


def _hints(option: Option, reuse: ScenarioDays | None) -> tuple[int | None, int | None, int | None]:
    """(start, carries_at, guess) for sizing `option` from a plan of the same option at another speed: a slower box
    needs at least the replicas the faster one needed, a faster box carries the day with the replicas a slower one did
    (passing grows with speed, as it grows with replicas), and the fleet scales about inversely with the speed."""
    before = next((o for o in reuse.runs.scenario.options if o.name == option.name), None) if reuse else None
    sized = reuse.priced.get(option.name) if reuse else None
    if before is None or sized is None or before.model_copy(update={"speed_scale": option.speed_scale}) != option:
        return None, None, None
    guess = max(1, round(sized.replicas * before.speed_scale / option.speed_scale))
    if option.speed_scale < before.speed_scale:
        return sized.replicas, None, guess
    return None, sized.replicas if sized.carries else None, guess


def simulate_options(
    scenario: Scenario,
    catalog: Catalog,
    *,
    seed: int = 0,
    exact: bool = False,
    workers: int | None = None,
    reuse: ScenarioDays | None = None,
    carried_by: dict[str, int] | None = None,
    as_configured: bool = False,
) -> ScenarioDays:
    """Simulate every option's day: APIs here (their logs are billed), self-hosted fleets sized by simulation in
    parallel across options when cores allow. The result is the same serial or parallel: each day is seeded by its
    key. `reuse`: the days of a plan of the same workload and seed, whose options equal to this scenario's are taken
    as they are and whose fleets start the search for the options at another speed (the plan at a speed interval's end
    varies only the self-hosted options); a plan of another workload or seed is not used. `carried_by`: per option, a
    fleet known to carry a day this workload is part of (the whole day, for a hybrid's local part): its sizing stops
    there. `as_configured`: also each self-hosted option's day with its own count (`ScenarioDays.as_configured`)."""
    runs = DayRuns(scenario, catalog, seed=seed, exact=exact)
    if reuse is not None and (reuse.runs.scenario.workload != scenario.workload or reuse.runs.seed != seed):
        reuse = None  # another day's demand: nothing to take from it, nor to size from
    same = set()
    if reuse is not None:
        before = {o.name: o for o in reuse.runs.scenario.options}
        same = {o.name for o in scenario.options if before.get(o.name) == o}
        runs.merge({key: day for key, day in reuse.runs.days.items() if key[0] in same or key[0] == ""})
    priced = {o.name: OptionDays(day=runs.day(o.name), replicas=0, carries=True) for o in scenario.options if o.kind == "api"}
    if reuse is not None:
        priced |= {name: days for name, days in reuse.priced.items() if name in same}
    jobs = []
    for o in scenario.options:
        if o.kind != "api" and o.name not in same:
            start, carries_at, guess = _hints(o, reuse)
            carries_at = min((c for c in (carries_at, (carried_by or {}).get(o.name)) if c is not None), default=None)
            jobs.append(SizingJob(scenario, catalog, o.name, seed, exact, start, carries_at, guess, as_configured))
    for name, days, option_runs in parallel_map(size_option, jobs, workers=workers_available() if workers is None else workers):
        runs.merge(option_runs)
        if days is not None:
            priced[name] = days
    ordered = {o.name: priced[o.name] for o in scenario.options if o.name in priced}
    return ScenarioDays(priced=ordered, demand=runs.demand_day(), runs=runs)


def curve_lengths(dep: Deployment, workload: Workload) -> tuple[int, int]:
    """(context, prompt) tokens of the workload's mean request on `dep`: the prompt plus half the output while decoding."""
    mean_context = round(workload.prompt_tokens.expected + workload.output_tokens.expected / 2)
    return min(mean_context, dep.model.max_context_tokens), min(round(workload.prompt_tokens.expected), dep.model.max_context_tokens)


def speed_interval(catalog: Catalog, option: Option, workload: Workload) -> SpeedInterval | None:
    """The 80% interval of a self-hosted option's single-stream decode speed at the workload's mean context (the regime
    every public source measures; `capacity.uncertainty`); None for an API or a model that does not fit."""
    if option.kind == "api":
        return None
    dep = option_deployment(catalog, option)
    if not plan_memory(dep).fits:
        return None
    context, _ = curve_lengths(dep, workload)
    return prediction_interval(catalog.prediction_errors.values(), dep, "decode", batch=1, context=context)


def at_speed(scenario: Scenario, factors: dict[str, float]) -> Scenario:
    """`scenario` with each named option's speed multiplied by its factor (`Option.speed_scale`)."""
    options = [o.model_copy(update={"speed_scale": o.speed_scale * factors[o.name]}) if o.name in factors else o for o in scenario.options]
    return scenario.model_copy(update={"options": options})


def end_scenarios(scenario: Scenario, intervals: dict[str, SpeedInterval]) -> list[Scenario]:
    """[the scenario with every named box at its interval's low end, the same at the high end]."""
    return [at_speed(scenario, {n: iv.low for n, iv in intervals.items()}), at_speed(scenario, {n: iv.high for n, iv in intervals.items()})]


def interval_ends(interval: SpeedInterval, low: tuple[float | None, int, bool], high: tuple[float | None, int, bool]) -> IntervalEnds:
    """One box at its interval's two ends from its (monthly USD, replicas, meets the SLO) at each."""
    return IntervalEnds(
        speed_factors=[round(interval.low, 3), round(interval.high, 3)],
        basis=interval.words,
        monthly_usd=[low[0], high[0]],
        replicas=[low[1], high[1]],
        meets_slo=[low[2], high[2]],
    )


@dataclass(frozen=True)
class _EndJob:
    scenario: Scenario
    catalog: Catalog
    seed: int
    exact: bool


def _price_end(job: _EndJob, reuse: ScenarioDays) -> CostReport:
    """The cost of a scenario at other speeds, reusing the days of the options left as they were (one process)."""
    days = simulate_options(job.scenario, job.catalog, seed=job.seed, exact=job.exact, workers=1, reuse=reuse)
    return cost_scenario(job.scenario, job.catalog, days=days.priced, demand=days.demand)


def price_scenario(
    scenario: Scenario, catalog: Catalog, *, seed: int = 0, exact: bool = False, workers: int | None = None, at_ends: bool = False
) -> CostReport:
    """`tokenlane cost`: simulate every option's day (`simulate_options`) and price it (`cost.cost_scenario`); with
    `at_ends`, also each self-hosted option's fleet and cost at the low and the high end of its speed interval (the two
    ends simulated in parallel), in `at_interval_ends`."""
    days = simulate_options(scenario, catalog, seed=seed, exact=exact, workers=workers)
    report = cost_scenario(scenario, catalog, days=days.priced, demand=days.demand)
    if not at_ends:
        return report
    intervals = {o.name: iv for o in scenario.options if (iv := speed_interval(catalog, o, scenario.workload)) is not None}
    if not intervals:
        return report
    jobs = [_EndJob(end, catalog, seed, exact) for end in end_scenarios(scenario, intervals)]
    low, high = (
        {o.name: (o.monthly_usd, o.replicas, o.carries_load) for o in end.options}
        for end in map_shared(_price_end, jobs, days, workers=workers_available() if workers is None else workers)
    )
    ends = {name: interval_ends(iv, low[name], high[name]) for name, iv in intervals.items()}
    return report.model_copy(update={"at_interval_ends": ends})


def days_at_ends(scenario: Scenario, catalog: Catalog, names: list[str], *, seed: int = 0, exact: bool = False) -> dict[str, dict]:
    """Each named box's day as configured (its own `count`) with every step at the low and at the high end of its
    speed interval: {name: {speed_factors, basis, slo_attainment, meets_slo}}, each a [low, high] pair (`simulate
    --interval-ends`)."""
    out: dict[str, dict] = {}
    for name in names:
        interval = speed_interval(catalog, scenario.option(name), scenario.workload)
        if interval is None:
            continue
        ends = [DayRuns(at_speed(scenario, {name: f}), catalog, seed=seed, exact=exact).day(name) for f in (interval.low, interval.high)]
        out[name] = {
            "speed_factors": [round(interval.low, 3), round(interval.high, 3)],
            "basis": interval.words,
            "slo_attainment": [day.slo_attainment for day in ends],
            "meets_slo": [day.meets_slo for day in ends],
        }
    return out
