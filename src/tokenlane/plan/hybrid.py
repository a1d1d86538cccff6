"""A hybrid priced as a split: the local part (batch jobs, and the share of interactive traffic in tasks marked
`sensitive`) sized and simulated on a self-hosted option, the rest billed to an API, side by side with all-local and
all-API.

The local part is its own workload — the batch jobs, and the interactive rate x the sensitive share — simulated and
sized like any day (`simulate_options`). The API's part is its day's interactive requests billed at the API's
prices, x (1 - the sensitive share) (bills are linear in requests within a price tier).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import option_deployment
from tokenlane.catalog import Catalog
from tokenlane.cost import CostReport, TokenBatch, api_tokens, price_requests
from tokenlane.cost.energy import self_host_energy
from tokenlane.cost.people import people_usd
from tokenlane.cost.scenario_cost import per_replica_kwh
from tokenlane.cost.tco import hardware_cost, hardware_units
from tokenlane.plan.days import ScenarioDays, simulate_options
from tokenlane.scenario import Scenario, Workload


class HybridSplit(BaseModel):
    """One self-hosted option carrying the local part and one API the rest."""

    model_config = ConfigDict(frozen=True)

    local: str
    api: str
    local_part: str
    """What runs locally, in words."""
    local_usd_per_month: float
    """The self-hosted option sized for the local part alone (people included)."""
    local_units: int
    local_carries: bool
    """The local fleet meets the SLO and the batch windows for its part."""
    api_usd_per_month: float
    """The API's bill for the rest (people included)."""
    total_usd_per_month: float
    all_local_usd_per_month: float | None
    """The same self-hosted option carrying everything (None: it cannot)."""
    all_api_usd_per_month: float


def local_workload(workload: Workload) -> Workload | None:
    """The part a hybrid keeps local: batch jobs and the sensitive share of interactive traffic (None: nothing to split,
    either no local part or no interactive traffic to send to an API)."""
    share = workload.sensitive_share
    interactive = workload.arrival_pattern == "closed_loop" or workload.requests_per_user_hour > 0
    if not interactive or (not workload.batch_jobs and share <= 0) or (workload.trace is not None and share > 0):
        return None  # a trace's requests carry no task, so its sensitive share cannot be picked out
    if share <= 0:
        return workload.model_copy(
            update={"users": 1, "requests_per_user_hour": 0.0, "think_time_s": None, "arrival": "poisson", "trace": None}
        )
    if workload.arrival_pattern == "closed_loop":
        return workload.model_copy(update={"users": max(1, round(workload.users * share))})
    return workload.model_copy(update={"requests_per_user_hour": workload.requests_per_user_hour * share})


def price_splits(scenario: Scenario, catalog: Catalog, days: ScenarioDays, cost: CostReport, *, seed: int = 0) -> list[HybridSplit]:
    """Every (self-hosted option, API option) split, cheapest first; empty when the workload has no local part."""
    local = local_workload(scenario.workload)
    apis = [o for o in scenario.options if o.kind == "api" and o.name in days.priced]
    boxes = [o for o in scenario.options if o.kind != "api" and o.name in days.priced]
    if local is None or not apis or not boxes:
        return []
    # the local part is sized from one replica up: the option's own `count` is sized for all the traffic, not this part
    local_scenario = scenario.model_copy(update={"workload": local, "options": [b.model_copy(update={"count": 1}) for b in boxes]})
    # the whole day's fleet, where it carries the whole day, carries this part of it
    whole = {b.name: days.priced[b.name].replicas for b in boxes if days.priced[b.name].carries}
    local_days = simulate_options(local_scenario, catalog, seed=seed, workers=1, carried_by=whole).priced
    by_name = {o.name: o for o in cost.options}
    share = scenario.workload.sensitive_share
    finance = scenario.finance
    splits: list[HybridSplit] = []
    for api in apis:
        log = days.priced[api.name].day.log
        assert log is not None
        interactive = log.job < 0
        tokens = api_tokens(log, caching=True)
        rest = TokenBatch(*(np.asarray(a)[interactive] for a in vars(tokens).values()))
        bill = price_requests(api, rest, prices_at=finance.prices_at).total_usd * (1.0 - share) * finance.workdays_per_month
        api_usd = bill + people_usd(finance.api_engineer_fte, finance)
        for box in boxes:
            sized = local_days.get(box.name)
            if sized is None:
                continue
            dep = option_deployment(catalog, box)
            energy = self_host_energy(box, dep, local_scenario, catalog, sized.day, sized.replicas)
            kwh = per_replica_kwh(energy, sized.replicas)
            local_usd = hardware_cost(
                dep, box, finance, replicas=sized.replicas, scaling=sized.day.scaling, kwh_per_replica_month=kwh
            ).total_usd
            whole = by_name[box.name]
            parts = (["the batch jobs"] if scenario.workload.batch_jobs else []) + (
                [f"the sensitive {share:.0%} of interactive traffic"] if share else []
            )
            splits.append(
                HybridSplit(
                    local=box.name,
                    api=api.name,
                    local_part=" and ".join(parts),
                    local_usd_per_month=local_usd,
                    local_units=hardware_units(dep, sized.replicas),
                    local_carries=sized.carries,
                    api_usd_per_month=api_usd,
                    total_usd_per_month=local_usd + api_usd,
                    all_local_usd_per_month=whole.monthly_usd if whole.carries_load else None,
                    all_api_usd_per_month=by_name[api.name].monthly_usd or 0.0,
                )
            )
    return sorted(splits, key=lambda s: s.total_usd_per_month)
