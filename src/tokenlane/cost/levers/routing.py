"""Routing: each task category to the cheapest option (by cost per success) that clears its quality bar.

Cost per attempt: an API prices one request of the task's profile (batch-API discount in the share of the day's
requests that are batch work) plus its share of the API option's people cost (monthly people / monthly requests, so
the routed total and the option's monthly cost agree); a self-hosted option that carries the load
charges its monthly cost / monthly requests (capacity is shared, so every task pays the average).
"""

from __future__ import annotations

import numpy as np

from tokenlane.cost.api_bill import TokenBatch, price_requests
from tokenlane.cost.levers.base import LeverInput, LeverResult
from tokenlane.cost.routing import route_tasks


def evaluate(data: LeverInput) -> LeverResult | None:
    """The routing table and its saving against sending everything to the frontier option; None without tasks."""
    scenario = data.scenario
    workload = scenario.workload
    if not workload.tasks:
        return None
    monthly_requests = len(data.reference) * scenario.finance.workdays_per_month
    per_attempt: dict[str, dict[str, float]] = {}
    hit = workload.cache_hit_rate
    batch_share = float(np.mean(data.reference.job >= 0)) if len(data.reference) else 0.0
    for task in workload.tasks:
        prompt = task.prompt_tokens or round(workload.prompt_tokens.expected)
        output = task.output_tokens or round(workload.output_tokens.expected)
        prefix = min(workload.shared_prefix_tokens, prompt - 1)
        costs: dict[str, float] = {}
        for option in scenario.options:
            oc = data.costs[option.name]
            if option.kind == "api":
                # One interactive and one batch request of the task's profile, weighted by the day's batch share.
                pair = TokenBatch(
                    np.array([prompt, prompt]),
                    np.array([output, output]),
                    np.array([round(prefix * hit), 0]),
                    np.array([round(prefix * (1 - hit)), 0]),
                    np.array([False, True]),
                )
                bill = price_requests(option, pair, prices_at=scenario.finance.prices_at)
                full = price_requests(option, TokenBatch(*(a[:1] for a in vars(pair).values())), prices_at=scenario.finance.prices_at)
                people = oc.breakdown.people_usd / monthly_requests if oc.breakdown is not None and monthly_requests else 0.0
                costs[option.name] = (1 - batch_share) * full.total_usd + batch_share * (bill.total_usd - full.total_usd) + people
            elif oc.monthly_usd is not None and oc.carries_load:
                costs[option.name] = oc.monthly_usd / monthly_requests
        per_attempt[task.name] = costs
    apis = [o for o in scenario.options if o.kind == "api"]
    if apis:
        frontier = max(apis, key=lambda o: data.costs[o.name].usd_per_mtok_output or 0.0).name
    else:
        frontier = max(data.costs, key=lambda n: data.costs[n].monthly_usd or 0.0)
    table = route_tasks(workload.tasks, per_attempt, frontier_option=frontier, requests_per_month=monthly_requests)
    return LeverResult(
        lever="routing",
        savings_usd_per_month=table.savings_usd_per_month,
        by_option={frontier: table.savings_usd_per_month},
        summary=(
            f"Routing each task to the cheapest option that clears its quality bar costs ${table.routed_usd_per_month:,.0f}/month "
            f"against ${table.baseline_usd_per_month:,.0f}/month for sending everything to {frontier}."
        ),
        routing=table,
    )
