"""The batch API: batch jobs billed at the provider's batch discount, for API options that do not use it yet."""

from __future__ import annotations

from tokenlane.cost.api_bill import api_tokens, price_requests
from tokenlane.cost.levers.base import LeverInput, LeverResult


def evaluate(data: LeverInput) -> LeverResult | None:
    """Savings per API option without `batch_api`; None when there are no batch jobs or every API uses it."""
    scenario = data.scenario
    if not scenario.workload.batch_jobs:
        return None
    saved: dict[str, float] = {}
    for name, log in data.api_logs.items():
        option = scenario.option(name)
        if option.batch_api:
            continue
        tokens = api_tokens(scenario.workload, log, caching=True)
        at = scenario.finance.prices_at
        now = price_requests(option, tokens, prices_at=at).total_usd
        shifted = price_requests(option.model_copy(update={"batch_api": True}), tokens, prices_at=at).total_usd
        saved[name] = (now - shifted) * scenario.finance.workdays_per_month
    if not saved:
        return None
    best = max(saved, key=lambda n: saved[n])
    return LeverResult(
        lever="batch_api",
        savings_usd_per_month=saved[best],
        by_option=saved,
        summary=(
            f"Sending the batch jobs through {best}'s batch API ({scenario.option(best).batch_discount:.0%} off) "
            f"saves ${saved[best]:,.0f}/month."
        ),
    )
