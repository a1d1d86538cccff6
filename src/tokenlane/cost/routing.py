"""The routing lever: send each task category to the cheapest option that clears its quality bar.

Cost per successful task = cost per attempt / pass rate (a failed attempt is paid for and redone).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.scenario import Task


class RouteChoice(BaseModel):
    """One task category's routing decision."""

    model_config = ConfigDict(frozen=True)

    task: str
    share: float
    option: str
    pass_rate: float
    usd_per_success: float
    meets_bar: bool
    baseline_usd_per_success: float | None


class RoutingTable(BaseModel):
    """Routing over all task categories, and its saving against sending everything to the frontier option."""

    model_config = ConfigDict(frozen=True)

    frontier_option: str
    routes: list[RouteChoice]
    routed_usd_per_month: float
    baseline_usd_per_month: float
    savings_usd_per_month: float


def cost_per_success(usd_per_attempt: float, pass_rate: float) -> float:
    """USD per successful task = USD per attempt / pass rate (inf when it never passes)."""
    return usd_per_attempt / pass_rate if pass_rate > 0 else float("inf")


def route_tasks(
    tasks: list[Task], usd_per_attempt: dict[str, dict[str, float]], *, frontier_option: str, requests_per_month: float
) -> RoutingTable:
    """Pick, per task, the cheapest option (by cost per success) whose pass rate meets the task's bar.

    `usd_per_attempt[task][option]` is the cost of one request of that task on that option. Where no option clears
    the bar, the one with the highest pass rate is chosen and flagged.
    """
    routes: list[RouteChoice] = []
    routed = baseline = 0.0
    for task in tasks:
        costs = usd_per_attempt[task.name]
        rated = [(opt, rate) for opt, rate in task.pass_rates.items() if opt in costs]
        passing = [(opt, rate) for opt, rate in rated if rate >= task.min_pass_rate]
        if passing:
            opt, rate = min(passing, key=lambda o: cost_per_success(costs[o[0]], o[1]))
        elif rated:
            opt, rate = max(rated, key=lambda o: o[1])
        else:
            opt, rate = frontier_option, 1.0
        per_success = cost_per_success(costs[opt], rate)
        frontier_rate = task.pass_rates.get(frontier_option, 1.0)
        base = cost_per_success(costs[frontier_option], frontier_rate) if frontier_option in costs else None
        volume = task.share * requests_per_month
        routed += per_success * volume
        baseline += (base if base is not None else per_success) * volume
        routes.append(
            RouteChoice(
                task=task.name,
                share=task.share,
                option=opt,
                pass_rate=rate,
                usd_per_success=per_success,
                meets_bar=rate >= task.min_pass_rate,
                baseline_usd_per_success=base,
            )
        )
    return RoutingTable(
        frontier_option=frontier_option,
        routes=routes,
        routed_usd_per_month=routed,
        baseline_usd_per_month=baseline,
        savings_usd_per_month=baseline - routed,
    )
