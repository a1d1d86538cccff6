"""Prompt caching: each API's bill with its cache hits against the same requests billed without a cache."""

from __future__ import annotations

from tokenlane.cost.api_bill import api_tokens, price_requests
from tokenlane.cost.levers.base import LeverInput, LeverResult


def evaluate(data: LeverInput) -> LeverResult | None:
    """Savings per API option; None when no request hits a cache."""
    scenario = data.scenario
    cached = int(data.reference.cached_tokens.sum())
    prompt = int(data.reference.prompt_tokens.sum())
    if not cached or not data.api_logs:
        return None
    saved: dict[str, float] = {}
    for name, log in data.api_logs.items():
        option = scenario.option(name)
        at = scenario.finance.prices_at
        with_cache = price_requests(option, api_tokens(scenario.workload, log, caching=True), prices_at=at).total_usd
        without = price_requests(option, api_tokens(scenario.workload, log, caching=False), prices_at=at).total_usd
        saved[name] = (without - with_cache) * scenario.finance.workdays_per_month
    best = max(saved, key=lambda n: saved[n])
    return LeverResult(
        lever="caching",
        savings_usd_per_month=saved[best],
        by_option=saved,
        summary=(
            f"Prompt caching of the repeated prefix saves ${saved[best]:,.0f}/month on {best} "
            f"({cached / prompt:.0%} of input tokens are cache hits)."
        ),
    )
