"""Prompt caching: each API's bill with its cache hits against the same requests billed without a cache."""

from __future__ import annotations

from tokenlane.cost.api_bill import api_tokens
from tokenlane.cost.levers.base import LeverInput, LeverResult, best_saving, monthly_bill


def evaluate(data: LeverInput) -> LeverResult | None:
    """Savings per API option; None when no request hits a cache."""
    cached = int(data.reference.cached_tokens.sum())
    prompt = int(data.reference.prompt_tokens.sum())
    if not cached or not data.api_logs:
        return None
    saved = {
        name: monthly_bill(data, data.scenario.option(name), api_tokens(log, caching=False))
        - monthly_bill(data, data.scenario.option(name), api_tokens(log, caching=True))
        for name, log in data.api_logs.items()
    }
    return best_saving(
        "caching",
        saved,
        lambda best: (
            f"Prompt caching of the repeated prefix saves ${saved[best]:,.0f}/month on {best} "
            f"({cached / prompt:.0%} of input tokens are cache hits)."
        ),
    )
