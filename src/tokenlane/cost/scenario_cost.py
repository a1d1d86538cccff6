"""Cost of every option in a scenario: API bills, TCO with fleet sizing, break-even, sensitivity, the two levers."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import Deployment, decode_load, option_deployment, plan_memory, prefill_seconds, step_seconds
from tokenlane.catalog import Catalog
from tokenlane.cost.api_bill import ApiBill, TokenBatch, check_api_option, price_requests
from tokenlane.cost.breakeven import BreakEven, break_even_volume, self_host_usd_per_day
from tokenlane.cost.fleet import size_fleet
from tokenlane.cost.routing import RoutingTable, route_tasks
from tokenlane.cost.tco import MonthlyCost, hardware_cost, hardware_units, people_usd_per_month
from tokenlane.scenario import Finance, Option, Scenario, Workload
from tokenlane.simulate import SimulationResult
from tokenlane.simulate.workload import Requests, build_requests
from tokenlane.units import S_PER_HOUR, per_mtok

SENSITIVITY = {"utilization": (0.3, 0.6, 0.9), "amortization_years": (2.0, 3.0, 5.0), "engineer_fte": (0.25, 0.5, 1.0)}
"""Finance parameters varied one at a time in the sensitivity table."""


class OptionCost(BaseModel):
    """One option's monthly cost and what it buys."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    location: str
    fits: bool
    carries_load: bool
    """Meets the SLO and batch windows with `replicas` replicas (APIs: assumed, served from a fleet)."""
    meets_slo: bool | None
    replicas: int
    units: int
    """Purchasable hardware units (boxes/servers) or rented GPUs' servers; 0 for APIs."""
    monthly_usd: float | None
    breakdown: MonthlyCost | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    capacity_tokens_per_day_per_replica: float | None
    """Tokens one replica carries per 24 h at the SLO's per-user speed (self-host)."""
    simulation: SimulationResult | None
    note: str = ""


class SensitivityRow(BaseModel):
    """One finance parameter varied for one self-host option."""

    model_config = ConfigDict(frozen=True)

    option: str
    parameter: str
    value: float
    monthly_usd: float
    breakeven_tokens_per_day: float | None
    """Against the cheapest API option."""


class CachingLever(BaseModel):
    """What prompt/prefix caching saves."""

    model_config = ConfigDict(frozen=True)

    api_savings_usd_per_month: dict[str, float]
    """Per API option: bill without caching - bill with it."""
    self_host_prefill_tokens_avoided_per_day: int
    cached_share_of_input: float


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
    input_tokens_per_day: int
    output_tokens_per_day: int
    options: list[OptionCost]
    breakeven: list[BreakEven]
    sensitivity: list[SensitivityRow]
    routing: RoutingTable | None
    caching: CachingLever
    cost_curves: list[CostCurve]
    finance: Finance


def _api_tokens(workload: Workload, reqs: Requests, *, caching: bool) -> TokenBatch:
    """API view of the day: cached prefix hits are cache reads, misses write the shared prefix to the cache."""
    prompt = reqs.prompt_tokens.astype(np.int64)
    read = reqs.cached_tokens.astype(np.int64) if caching else np.zeros_like(prompt)
    prefix = min(workload.shared_prefix_tokens, int(prompt.min()) - 1) if len(prompt) and workload.shared_prefix_tokens else 0
    write = np.where((read == 0) & (reqs.job < 0), np.minimum(prefix, prompt - 1), 0) if caching and prefix > 0 else np.zeros_like(prompt)
    return TokenBatch(prompt, reqs.output_tokens.astype(np.int64), read, np.maximum(write, 0), reqs.job >= 0)


def replica_capacity_tokens_per_day(dep: Deployment, workload: Workload, reqs: Requests) -> tuple[float, float]:
    """(tokens/day one replica carries at the SLO speed, prefill share of its GPU time).

    GPU seconds per request = prefill of the uncached prompt + output x step(b) / b, at the largest batch b whose
    stream speed still meets the SLO's tok/s (and that memory and the engine allow).
    """
    mask = reqs.job < 0 if np.any(reqs.job < 0) else np.ones(len(reqs), dtype=bool)
    prompt = float(np.mean(reqs.prompt_tokens[mask])) if len(reqs) else workload.prompt_tokens.expected
    cached = float(np.mean(reqs.cached_tokens[mask])) if len(reqs) else 0.0
    output = float(np.mean(reqs.output_tokens[mask])) if len(reqs) else workload.output_tokens.expected
    context = prompt + output / 2
    plan = plan_memory(dep)
    cap = min(dep.running_seq_cap, max(1, int(plan.kv_capacity_tokens // max(1.0, prompt + output))))
    best = 0
    for b in range(1, cap + 1):
        if 1.0 / step_seconds(dep, decode_load(dep, b, context)) >= workload.slo.min_tok_s_per_user:
            best = b
        else:
            break
    if best == 0:
        return 0.0, 0.0
    prefill_s = prefill_seconds(dep, round(prompt), cached_tokens=round(cached))
    decode_s = output * step_seconds(dep, decode_load(dep, best, context)) / best
    per_request_s = prefill_s + decode_s
    return 24 * S_PER_HOUR / per_request_s * (prompt + output), prefill_s / per_request_s


def _self_host_cost(option: Option, dep: Deployment, scenario: Scenario, reqs: Requests, seed: int) -> tuple[OptionCost, float, float]:
    workload, finance = scenario.workload, scenario.finance
    plan = plan_memory(dep)
    if not plan.fits:
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
    replicas, sim, carries = size_fleet(
        dep, workload, min_replicas=option.count, max_replicas=max(option.count, option.max_units), seed=seed
    )
    cost = hardware_cost(dep, option, finance, replicas=replicas)
    capacity, prefill_share = replica_capacity_tokens_per_day(dep, workload, reqs)
    days = finance.workdays_per_month
    in_tokens, out_tokens = float(reqs.prompt_tokens.sum()) * days, float(reqs.output_tokens.sum()) * days
    if carries:
        note = ""
    elif replicas >= max(option.count, option.max_units):
        note = f"cannot carry the load within the SLO even with {replicas} replicas (max_units)"
    else:
        note = (
            f"SLO out of reach at any fleet size: with {replicas} replicas and no queueing {sim.slo_attainment:.0%} of requests "
            f"meet it (TTFT p95 {sim.ttft_s.p95:.1f} s, tok/s p95 {sim.per_user_tok_s.p95:.1f})"
        )
    return (
        OptionCost(
            name=option.name,
            kind=option.kind,
            location=option.location,
            fits=True,
            carries_load=carries,
            meets_slo=sim.meets_slo,
            replicas=replicas,
            units=hardware_units(dep, replicas),
            monthly_usd=cost.total_usd,
            breakdown=cost,
            usd_per_mtok_input=per_mtok(cost.total_usd * prefill_share, in_tokens),
            usd_per_mtok_output=per_mtok(cost.total_usd * (1 - prefill_share), out_tokens),
            capacity_tokens_per_day_per_replica=capacity,
            simulation=sim,
            note=note,
        ),
        capacity,
        prefill_share,
    )


def _api_cost(option: Option, scenario: Scenario, reqs: Requests) -> tuple[OptionCost, ApiBill, ApiBill]:
    days = scenario.finance.workdays_per_month
    bill = price_requests(option, _api_tokens(scenario.workload, reqs, caching=True))
    uncached = price_requests(option, _api_tokens(scenario.workload, reqs, caching=False))
    people = people_usd_per_month(option, scenario.finance)
    breakdown = MonthlyCost(api_usd=bill.total_usd * days, people_usd=people)
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
            usd_per_mtok_input=per_mtok(bill.input_usd, float(reqs.prompt_tokens.sum())),
            usd_per_mtok_output=per_mtok(bill.output_usd, float(reqs.output_tokens.sum())),
            capacity_tokens_per_day_per_replica=None,
            simulation=None,
            note=f"{bill.provider}/{bill.model_ref}: served from the provider's fleet at full speed (assumed, not simulated)",
        ),
        bill,
        uncached,
    )


def cost_scenario(scenario: Scenario, catalog: Catalog, *, seed: int = 0) -> CostReport:
    """Price every option of `scenario` for one simulated day x workdays per month."""
    workload, finance = scenario.workload, scenario.finance
    for option in scenario.options:
        if option.kind == "api":
            check_api_option(option)
    reqs = build_requests(workload, users=workload.users, prefix_caching=True, rng=np.random.default_rng(seed))
    tokens_per_day = float(reqs.prompt_tokens.sum() + reqs.output_tokens.sum())
    input_share = float(reqs.prompt_tokens.sum()) / tokens_per_day if tokens_per_day else 0.5
    costs: list[OptionCost] = []
    api_bills: dict[str, tuple[ApiBill, ApiBill]] = {}
    self_hosts: dict[str, tuple[Option, Deployment, float]] = {}
    for option in scenario.options:
        if option.kind == "api":
            oc, bill, uncached = _api_cost(option, scenario, reqs)
            api_bills[option.name] = (bill, uncached)
        else:
            dep = option_deployment(catalog, option)
            oc, capacity, _ = _self_host_cost(option, dep, scenario, reqs, seed)
            if oc.fits:
                self_hosts[option.name] = (option, dep, capacity)
        costs.append(oc)
    by_name = {c.name: c for c in costs}

    def breakeven(option: Option, dep: Deployment, capacity: float, api: str, fin: Finance) -> BreakEven:
        bill = api_bills[api][0]
        api_rate = bill.total_usd / tokens_per_day if tokens_per_day else 0.0
        one = hardware_cost(dep, option, fin, replicas=1)
        volume, replicas, reachable = break_even_volume(
            api_usd_per_token=api_rate,
            fixed_usd_per_day=one.people_usd / fin.workdays_per_month,
            replica_usd_per_day=(one.total_usd - one.people_usd) / fin.workdays_per_month,
            capacity_per_replica=capacity,
            max_replicas=max(option.count, option.max_units),
        )
        api_people = people_usd_per_month(next(o for o in scenario.options if o.name == api), fin)
        return BreakEven(
            self_host=option.name,
            api=api,
            tokens_per_day=volume,
            input_tokens_per_day=volume * input_share if volume is not None else None,
            output_tokens_per_day=volume * (1 - input_share) if volume is not None else None,
            reachable=reachable,
            replicas_at_break_even=replicas,
            capacity_tokens_per_day_per_replica=capacity,
            scenario_tokens_per_day=tokens_per_day,
            monthly_usd=api_people + api_rate * volume * fin.workdays_per_month if volume is not None else None,
        )

    breakevens = [breakeven(o, d, c, api, finance) for o, d, c in self_hosts.values() for api in api_bills]
    cheapest_api = min(api_bills, key=lambda a: api_bills[a][0].total_usd, default=None)
    sensitivity: list[SensitivityRow] = []
    for name, (option, dep, capacity) in self_hosts.items():
        for parameter, values in SENSITIVITY.items():
            if option.kind == "cloud_gpu" and parameter != "engineer_fte":
                continue
            for value in values:
                key = finance.fte_field(option.kind) if parameter == "engineer_fte" else parameter
                fin = finance.model_copy(update={key: value})
                monthly = hardware_cost(dep, option, fin, replicas=by_name[name].replicas).total_usd
                be = breakeven(option, dep, capacity, cheapest_api, fin).tokens_per_day if cheapest_api else None
                sensitivity.append(
                    SensitivityRow(option=name, parameter=parameter, value=value, monthly_usd=monthly, breakeven_tokens_per_day=be)
                )
    routing = None
    if workload.tasks:
        routing = _routing(scenario, reqs, by_name, api_bills)
    curves: list[CostCurve] = []
    for option in scenario.options:
        grid = list(VOLUME_GRID_TOKENS_PER_DAY)
        if option.kind == "api":
            bill = api_bills[option.name][0]
            people = people_usd_per_month(option, finance)
            rate = bill.total_usd / tokens_per_day if tokens_per_day else 0.0
            curves.append(
                CostCurve(
                    option=option.name, tokens_per_day=grid, monthly_usd=[people + rate * v * finance.workdays_per_month for v in grid]
                )
            )
        elif option.name in self_hosts:
            opt, dep, capacity = self_hosts[option.name]
            one = hardware_cost(dep, opt, finance, replicas=1)
            limit = 4 * max(opt.count, opt.max_units)
            monthly: list[float | None] = []
            for v in grid:
                day = self_host_usd_per_day(
                    v,
                    fixed_usd_per_day=one.people_usd / finance.workdays_per_month,
                    replica_usd_per_day=(one.total_usd - one.people_usd) / finance.workdays_per_month,
                    capacity_per_replica=capacity,
                )
                fits = capacity > 0 and v / capacity <= limit
                monthly.append(day * finance.workdays_per_month if fits else None)
            curves.append(CostCurve(option=option.name, tokens_per_day=grid, monthly_usd=monthly))
    cached_tokens = int(reqs.cached_tokens.sum())
    caching = CachingLever(
        api_savings_usd_per_month={a: (u.total_usd - b.total_usd) * finance.workdays_per_month for a, (b, u) in api_bills.items()},
        self_host_prefill_tokens_avoided_per_day=cached_tokens,
        cached_share_of_input=cached_tokens / float(reqs.prompt_tokens.sum()) if len(reqs) else 0.0,
    )
    return CostReport(
        scenario=scenario.name,
        requests_per_day=len(reqs),
        input_tokens_per_day=int(reqs.prompt_tokens.sum()),
        output_tokens_per_day=int(reqs.output_tokens.sum()),
        options=costs,
        breakeven=breakevens,
        sensitivity=sensitivity,
        routing=routing,
        caching=caching,
        cost_curves=curves,
        finance=finance,
    )


def _routing(
    scenario: Scenario, reqs: Requests, by_name: dict[str, OptionCost], api_bills: dict[str, tuple[ApiBill, ApiBill]]
) -> RoutingTable:
    """Cost per attempt of each task on each option: APIs price one request of the task's profile; self-hosted
    options charge their monthly cost / monthly requests (capacity is shared, so every task pays the average)."""
    workload = scenario.workload
    monthly_requests = len(reqs) * scenario.finance.workdays_per_month
    per_attempt: dict[str, dict[str, float]] = {}
    hit = workload.cache_hit_rate
    for task in workload.tasks:
        prompt = task.prompt_tokens or round(workload.prompt_tokens.expected)
        output = task.output_tokens or round(workload.output_tokens.expected)
        prefix = min(workload.shared_prefix_tokens, prompt - 1)
        costs: dict[str, float] = {}
        for option in scenario.options:
            oc = by_name[option.name]
            if option.kind == "api":
                one = TokenBatch(
                    np.array([prompt]),
                    np.array([output]),
                    np.array([round(prefix * hit)]),
                    np.array([round(prefix * (1 - hit))]),
                    np.array([False]),
                )
                costs[option.name] = price_requests(option, one).total_usd
            elif oc.monthly_usd is not None and oc.carries_load:
                costs[option.name] = oc.monthly_usd / monthly_requests
        per_attempt[task.name] = costs
    frontier = max(api_bills, key=lambda a: api_bills[a][0].rates_usd_per_mtok["output"], default=None)
    if frontier is None:
        frontier = max(by_name, key=lambda n: by_name[n].monthly_usd or 0.0)
    return route_tasks(workload.tasks, per_attempt, frontier_option=frontier, requests_per_month=monthly_requests)
