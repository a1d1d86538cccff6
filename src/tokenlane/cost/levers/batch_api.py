"""The batch API: batch jobs billed at the provider's batch discount, for API options that do not use it yet."""

from __future__ import annotations

from tokenlane.cost.api_bill import api_tokens
from tokenlane.cost.levers.base import LeverInput, LeverResult, best_saving, monthly_bill


def evaluate(data: LeverInput) -> LeverResult | None:
    """Savings per API option without `batch_api`; None when there are no batch jobs or every API uses it."""
    scenario = data.scenario
    if not scenario.workload.batch_jobs:
        return None
    saved: dict[str, float] = {}
    for name, log in data.api_logs.items():
        option = scenario.option(name)
        if not option.batch_api:
            tokens = api_tokens(log, caching=True)
            saved[name] = monthly_bill(data, option, tokens) - monthly_bill(data, option.model_copy(update={"batch_api": True}), tokens)
    if not saved:
        return None
    return best_saving(
        "batch_api",
        saved,
        lambda best: (
            f"Sending the batch jobs through {best}'s batch API ({scenario.option(best).batch_discount:.0%} off) "
            f"saves ${saved[best]:,.0f}/month."
        ),
    )
