"""What a lever reads and what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from tokenlane.cost.routing import RoutingTable
from tokenlane.scenario import Scenario
from tokenlane.simulate import RequestLog

if TYPE_CHECKING:
    from tokenlane.cost.scenario_cost import OptionCost


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
    routing: RoutingTable | None = None
    """The routing lever's table, task by task."""
