"""Cost of every option in a scenario, priced on the requests its simulated day served: API bills, TCO with the
fleet size, break-even, sensitivity, cost curves and the levers.

Cost builds no day of its own: `days` comes from the simulator (one `OptionDays` per option, see
`plan.simulate_options`), and an API bills exactly the requests its day made.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import Deployment, option_deployment, plan_memory, slo_load
from tokenlane.catalog import Catalog
from tokenlane.cost.api_bill import ApiBill, api_tokens, check_api_option, price_requests
from tokenlane.cost.breakeven import BreakEven, break_even_volume, self_host_usd_per_day
from tokenlane.cost.energy import OptionEnergy, api_energy, self_host_energy
from tokenlane.cost.levers import LEVERS, LeverInput, LeverResult
from tokenlane.cost.option_cost import IntervalEnds, OptionCost, OptionDays
from tokenlane.cost.people import engineer_fte, fte_field, machines, people_usd
from tokenlane.cost.routing import RoutingTable
from tokenlane.cost.tco import MonthlyCost, hardware_cost, hardware_units
from tokenlane.scenario import Finance, Option, Scenario, Workload
from tokenlane.simulate import SimulationResult, describe_rejections
from tokenlane.units import S_PER_HOUR, format_duration, format_number, per_mtok

SENSITIVITY = {"electricity_usd_per_kwh": (0.08, 0.15, 0.30), "amortization_years": (2.0, 3.0, 5.0), "engineer_fte": (0.25, 0.5, 1.0)}
"""Finance parameters varied one at a time in the sensitivity table."""


class SensitivityRow(BaseModel):
    """One finance parameter varied for one self-host option."""

    model_config = ConfigDict(frozen=True)

    option: str
    parameter: str
    value: float
    monthly_usd: float
    breakeven_tokens_per_day: float | None
    """Against the cheapest API option."""


VOLUME_GRID_TOKENS_PER_DAY = tuple(float(f"{10 ** (5 + i / 4):.4g}") for i in range(0, 22))
"""Daily token volumes (1e5 .. ~3e10) at which the cost curves are tabulated."""


class CostCurve(BaseModel):
    """Monthly cost of one option as daily volume grows, at the scenario's token mix (None: beyond what it can carry)."""

    model_config = ConfigDict(frozen=True)

    option: str
    tokens_per_day: list[float]
    monthly_usd: list[float | None]


class CostReport(BaseModel):
    """Everything `tokenlane cost` computes."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    requests_per_day: int
    """Requests the day makes, served at full speed (the demand day: the first API's day, else one on API serving)."""
    input_tokens_per_day: int
    output_tokens_per_day: int
    options: list[OptionCost]
    breakeven: list[BreakEven]
    sensitivity: list[SensitivityRow]
    levers: list[LeverResult]
    """What each cost lever (routing, caching, batch API) saves, in the order of `cost.levers.LEVERS`."""
    cost_curves: list[CostCurve]
    finance: Finance
    at_interval_ends: dict[str, IntervalEnds] = {}
    """Each self-hosted option at the ends of its speed interval (`tokenlane cost` fills it; empty otherwise)."""

    @property
    def routing(self) -> RoutingTable | None:
        """The routing lever's table, when the scenario has tasks."""
        return next((lever.routing for lever in self.levers if lever.routing is not None), None)


def replica_capacity_tokens_per_day(dep: Deployment, workload: Workload, day: SimulationResult) -> tuple[float, float]:
    """(tokens/day one replica carries at the SLO speed, prefill share of its GPU time), at the day's mean request
    (`capacity.slo_load`: prefill of the uncached prompt + output x step(b) / b at the largest batch b whose streams
    still meet the SLO's tok/s)."""
    prompt, cached, output = day.mean_request_tokens
    if prompt <= 0:
        prompt, cached, output = workload.prompt_tokens.expected, 0.0, workload.output_tokens.expected
    load = slo_load(dep, prompt, cached, output, workload.slo.min_tok_s_per_user)
    if load.streams == 0:
        return 0.0, 0.0
    return 24 * S_PER_HOUR / (load.prefill_s + load.decode_s) * (prompt + output), load.prefill_share


def self_host_cost(
    option: Option, dep: Deployment, scenario: Scenario, catalog: Catalog, days: OptionDays | None
) -> tuple[OptionCost, float, float]:
    finance = scenario.finance
    plan = plan_memory(dep)
    if not plan.fits or days is None:
        return (
            OptionCost(
                name=option.name,
                kind=option.kind,
                location=option.location,
                fits=False,
                carries_load=False,
                meets_slo=None,
                replicas=0,
                units=0,
                monthly_usd=None,
                breakdown=None,
                usd_per_mtok_input=None,
                usd_per_mtok_output=None,
                capacity_tokens_per_day_per_replica=None,
                simulation=None,
                note=f"does not fit: {dep.model.id} in {dep.quant.id} is short by {plan.shortfall_gb:.1f} GB",
            ),
            0.0,
            0.0,
        )
    sim, replicas = days.day, days.replicas
    energy = self_host_energy(option, dep, scenario, catalog, sim, replicas)
    cost = hardware_cost(
        dep, option, finance, replicas=replicas, scaling=sim.scaling, kwh_per_replica_month=per_replica_kwh(energy, replicas)
    )
    spilled = sim.scaling.spilled_log if sim.scaling is not None else None
    if spilled is not None and len(spilled):
        api = scenario.option(sim.scaling.spillover or "")
        bill = price_requests(api, api_tokens(spilled, caching=True), prices_at=finance.prices_at).total_usd
        cost = cost.model_copy(update={"api_usd": bill * finance.workdays_per_month})
    capacity, prefill_share = replica_capacity_tokens_per_day(dep, scenario.workload, sim)
    workdays = finance.workdays_per_month
    in_tokens, out_tokens = float(sim.prompt_tokens) * workdays, float(sim.output_tokens) * workdays
    if days.carries:
        note = ""
    elif days.at_max_units:
        note = f"cannot carry the load within the SLO even with {replicas} replicas (max_units)"
    else:
        note = (
            f"SLO out of reach at any fleet size: with {replicas} replicas and no queueing {sim.slo_attainment:.0%} of requests "
            f"meet it (TTFT p95 {format_duration(sim.ttft_s.p95)}, tok/s p95 {format_number(sim.per_user_tok_s.p95, 1)})"
        )
    rejected = describe_rejections(sim.rejected_by_reason)
    note += f"; {rejected}" if note and rejected else rejected
    return (
        OptionCost(
            name=option.name,
            kind=option.kind,
            location=option.location,
            fits=True,
            carries_load=days.carries,
            meets_slo=sim.meets_slo,
            replicas=replicas,
            units=hardware_units(dep, replicas),
            monthly_usd=cost.total_usd,
            breakdown=cost,
            usd_per_mtok_input=per_mtok(cost.total_usd * prefill_share, in_tokens),
            usd_per_mtok_output=per_mtok(cost.total_usd * (1 - prefill_share), out_tokens),
            capacity_tokens_per_day_per_replica=capacity,
            simulation=sim,
            people_fte=engineer_fte(option.kind, finance, dep, replicas),
            machines=machines(dep, replicas),
            energy=energy,
            note=note,
        ),
        capacity,
        prefill_share,
    )


def per_replica_kwh(energy: OptionEnergy | None, replicas: int) -> float | None:
    """One replica's kWh a month from its option's energy (None when unknown)."""
    return energy.kwh_per_month / replicas if energy is not None and energy.kwh_per_month is not None and replicas else None


def _api_cost(option: Option, scenario: Scenario, catalog: Catalog, day: SimulationResult) -> tuple[OptionCost, ApiBill]:
    assert day.log is not None, "cost needs the day's request log"
    finance = scenario.finance
    bill = price_requests(option, api_tokens(day.log, caching=True), prices_at=finance.prices_at)
    breakdown = MonthlyCost(api_usd=bill.total_usd * finance.workdays_per_month, people_usd=people_usd(finance.api_engineer_fte, finance))
    return (
        OptionCost(
            name=option.name,
            kind=option.kind,
            location=option.location,
            fits=True,
            carries_load=True,
            meets_slo=None,
            replicas=0,
            units=0,
            monthly_usd=breakdown.total_usd,
            breakdown=breakdown,
            usd_per_mtok_input=per_mtok(bill.input_usd, float(day.prompt_tokens)),
            usd_per_mtok_output=per_mtok(bill.output_usd, float(day.output_tokens)),
            capacity_tokens_per_day_per_replica=None,
            simulation=day,
            people_fte=finance.api_engineer_fte,
            energy=api_energy(option, scenario, catalog, day),
            note=f"{bill.provider}/{bill.model_ref}: {len(day.log):,} requests a day billed at prices of {finance.prices_at}; "
            "served from the provider's fleet at full speed (assumed)",
        ),
        bill,
    )


def cost_scenario(scenario: Scenario, catalog: Catalog, *, days: dict[str, OptionDays], demand: SimulationResult) -> CostReport:
    """Price every option of `scenario` on its simulated day x workdays per month.

    `days` holds one entry per option that was simulated (a self-hosted option that does not fit has none);
    `demand` is the day as the workload makes it (with its request log), which measures the scenario's volume.
    """
    finance = scenario.finance
    for option in scenario.options:
        if option.kind == "api":
            check_api_option(option, finance.prices_at)
    ref = demand
    assert ref.log is not None, "the demand day carries its request log"
    ref_in, ref_out = int(ref.log.prompt_tokens.sum()), int(ref.log.output_tokens.sum())
    tokens_per_day = float(ref_in + ref_out)
    input_share = ref_in / tokens_per_day if tokens_per_day else 0.5
    costs: list[OptionCost] = []
    api_bills: dict[str, ApiBill] = {}
    self_hosts: dict[str, tuple[Option, Deployment, float]] = {}
    for option in scenario.options:
        if option.kind == "api":
            oc, bill = _api_cost(option, scenario, catalog, days[option.name].day)
            api_bills[option.name] = bill
        else:
            dep = option_deployment(catalog, option)
            oc, capacity, _ = self_host_cost(option, dep, scenario, catalog, days.get(option.name))
            if oc.fits:
                self_hosts[option.name] = (option, dep, capacity)
        costs.append(oc)
    by_name = {c.name: c for c in costs}
    api_rate = {a: b.total_usd / max(1, days[a].day.prompt_tokens + days[a].day.output_tokens) for a, b in api_bills.items()}

    def as_priced(option: Option, dep: Deployment, fin: Finance, *, replicas: int) -> MonthlyCost:
        """`replicas` replicas of a self-hosted option under `fin`, held and powered as its priced day held and powered
        its replicas (the day's autoscaling, a replica's kWh)."""
        priced = by_name[option.name]
        scaling = priced.simulation.scaling if priced.simulation is not None else None
        kwh = per_replica_kwh(priced.energy, priced.replicas)
        return hardware_cost(dep, option, fin, replicas=replicas, scaling=scaling, kwh_per_replica_month=kwh)

    def breakeven(option: Option, dep: Deployment, capacity: float, api: str, fin: Finance) -> BreakEven:
        sized = days.get(option.name)
        one = as_priced(option, dep, fin, replicas=1)
        out_of_reach = sized is not None and not sized.carries and not sized.at_max_units  # the SLO, at any fleet size
        volume, replicas, reachable = break_even_volume(
            api_usd_per_token=api_rate[api],
            fixed_usd_per_day=(one.people_usd + one.finetune_usd) / fin.workdays_per_month,
            replica_usd_per_day=(one.total_usd - one.people_usd - one.finetune_usd) / fin.workdays_per_month,
            capacity_per_replica=capacity,
            max_replicas=max(option.count, option.max_units),
        )
        api_people = people_usd(fin.api_engineer_fte, fin)
        return BreakEven(
            self_host=option.name,
            api=api,
            tokens_per_day=volume,
            input_tokens_per_day=volume * input_share if volume is not None else None,
            output_tokens_per_day=volume * (1 - input_share) if volume is not None else None,
            reachable=reachable and not out_of_reach,
            batch_only=out_of_reach and volume is not None,
            replicas_at_break_even=replicas,
            capacity_tokens_per_day_per_replica=capacity,
            scenario_tokens_per_day=tokens_per_day,
            monthly_usd=api_people + api_rate[api] * volume * fin.workdays_per_month if volume is not None else None,
        )

    breakevens = [breakeven(o, d, c, api, finance) for o, d, c in self_hosts.values() for api in api_bills]
    cheapest_api = min(api_bills, key=lambda a: api_bills[a].total_usd, default=None)
    sensitivity: list[SensitivityRow] = []
    for name, (option, dep, capacity) in self_hosts.items():
        for parameter, values in SENSITIVITY.items():
            if option.kind == "cloud_gpu" and parameter != "engineer_fte":
                continue
            for value in values:
                key = fte_field(option.kind) if parameter == "engineer_fte" else parameter
                fin = finance.model_copy(update={key: value})
                monthly = as_priced(option, dep, fin, replicas=by_name[name].replicas).total_usd
                be = breakeven(option, dep, capacity, cheapest_api, fin).tokens_per_day if cheapest_api else None
                sensitivity.append(
                    SensitivityRow(option=name, parameter=parameter, value=value, monthly_usd=monthly, breakeven_tokens_per_day=be)
                )
    curves: list[CostCurve] = []
    grid = list(VOLUME_GRID_TOKENS_PER_DAY)
    for option in scenario.options:
        if option.kind == "api":
            people = people_usd(finance.api_engineer_fte, finance)
            rate = api_rate[option.name]
            curves.append(
                CostCurve(
                    option=option.name, tokens_per_day=grid, monthly_usd=[people + rate * v * finance.workdays_per_month for v in grid]
                )
            )
        elif option.name in self_hosts:
            opt, dep, capacity = self_hosts[option.name]
            one = as_priced(opt, dep, finance, replicas=1)
            limit = 4 * max(opt.count, opt.max_units)
            monthly: list[float | None] = []
            for v in grid:
                day_usd = self_host_usd_per_day(
                    v,
                    fixed_usd_per_day=(one.people_usd + one.finetune_usd) / finance.workdays_per_month,
                    replica_usd_per_day=(one.total_usd - one.people_usd - one.finetune_usd) / finance.workdays_per_month,
                    capacity_per_replica=capacity,
                )
                fits = capacity > 0 and v / capacity <= limit
                monthly.append(day_usd * finance.workdays_per_month if fits else None)
            curves.append(CostCurve(option=option.name, tokens_per_day=grid, monthly_usd=monthly))
    lever_input = LeverInput(
        scenario=scenario,
        costs=by_name,
        api_logs={a: days[a].day.log for a in api_bills if days[a].day.log is not None},
        reference=ref.log,
    )
    levers = [result for evaluate in LEVERS.values() if (result := evaluate(lever_input)) is not None]
    return CostReport(
        scenario=scenario.name,
        requests_per_day=len(ref.log),
        input_tokens_per_day=ref_in,
        output_tokens_per_day=ref_out,
        options=costs,
        breakeven=breakevens,
        sensitivity=sensitivity,
        levers=levers,
        cost_curves=curves,
        finance=finance,
    )
