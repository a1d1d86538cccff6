"""What a lever reads and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tokenlane.cost.api_bill import TokenBatch, price_requests
from tokenlane.cost.option_cost import OptionCost
from tokenlane.cost.routing import RoutingTable
from tokenlane.scenario import Option, Scenario
from tokenlane.simulate import RequestLog


@dataclass(frozen=True)
class LeverInput:
    """The priced scenario a lever looks at."""

    scenario: Scenario
    costs: dict[str, OptionCost]
    """Each option's monthly cost, by name."""
    api_logs: dict[str, RequestLog]
    """The requests each API option's day made (what its bill priced)."""
    reference: RequestLog
    """The day's requests as the scenario makes them (the reference day)."""


class LeverResult(BaseModel):
    """What one lever saves, with the sentence the verdict quotes."""

    model_config = ConfigDict(frozen=True)

    lever: str
    savings_usd_per_month: float
    """The largest monthly saving over the options it applies to, USD."""
    by_option: dict[str, float] = {}
    """Monthly saving per option it applies to, USD."""
    summary: str
    """The sentence for the option that saves most (or for the lever as a whole)."""
    summary_by_option: dict[str, str] = {}
    """The sentence for each option in `by_option`, so a plan can quote the one for an option it may recommend."""
    routing: RoutingTable | None = None
    """The routing lever's table, task by task."""


def monthly_bill(data: LeverInput, option: Option, tokens: TokenBatch) -> float:
    """What `tokens` (a day's requests) cost on `option` per month, USD."""
    finance = data.scenario.finance
    return price_requests(option, tokens, prices_at=finance.prices_at).total_usd * finance.workdays_per_month


def best_saving(lever: str, saved: dict[str, float], summary: Callable[[str], str]) -> LeverResult:
    """The lever's result from its saving per option: the largest, with `summary(option)` as its sentence."""
    best = max(saved, key=lambda n: saved[n])
    return LeverResult(
        lever=lever,
        savings_usd_per_month=saved[best],
        by_option=saved,
        summary=summary(best),
        summary_by_option={name: summary(name) for name in saved},
    )
