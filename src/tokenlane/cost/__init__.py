"""Cost: API bills (genai-prices), TCO, fleet sizing, break-even, routing and caching. Pure."""

from tokenlane.cost.api_bill import ApiBill, TokenBatch, price_requests
from tokenlane.cost.breakeven import BreakEven, break_even_volume, self_host_usd_per_day
from tokenlane.cost.routing import RoutingTable, cost_per_success, route_tasks
from tokenlane.cost.scenario_cost import CostReport, OptionCost, SensitivityRow, cost_scenario
from tokenlane.cost.tco import MonthlyCost, hardware_cost

__all__ = [
    "ApiBill",
    "BreakEven",
    "CostReport",
    "MonthlyCost",
    "OptionCost",
    "RoutingTable",
    "SensitivityRow",
    "TokenBatch",
    "break_even_volume",
    "cost_per_success",
    "cost_scenario",
    "hardware_cost",
    "price_requests",
    "route_tasks",
    "self_host_usd_per_day",
]
