"""Cost: API bills (genai-prices), TCO, fleet sizing, break-even, levers — priced on simulated days. Pure."""

from tokenlane.cost.api_bill import ApiBill, TokenBatch, api_tokens, price_requests, priced_models
from tokenlane.cost.breakeven import BreakEven, break_even_volume, self_host_usd_per_day
from tokenlane.cost.fleet import carries, size_fleet
from tokenlane.cost.levers import LEVERS, LeverResult
from tokenlane.cost.option_cost import IntervalEnds, OptionCost, OptionDays
from tokenlane.cost.routing import RoutingTable, cost_per_success, route_tasks
from tokenlane.cost.scenario_cost import CostReport, SensitivityRow, cost_scenario, self_host_cost
from tokenlane.cost.tco import MonthlyCost, hardware_cost

__all__ = [
    "LEVERS",
    "ApiBill",
    "BreakEven",
    "CostReport",
    "IntervalEnds",
    "LeverResult",
    "MonthlyCost",
    "OptionCost",
    "OptionDays",
    "RoutingTable",
    "SensitivityRow",
    "TokenBatch",
    "api_tokens",
    "break_even_volume",
    "carries",
    "cost_per_success",
    "cost_scenario",
    "hardware_cost",
    "price_requests",
    "priced_models",
    "route_tasks",
    "self_host_cost",
    "self_host_usd_per_day",
    "size_fleet",
]
