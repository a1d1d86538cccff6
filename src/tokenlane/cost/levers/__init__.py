"""Cost levers: what routing, prompt caching and the batch API would save. Each lever is one module with an
`evaluate(LeverInput) -> LeverResult | None`, registered in `LEVERS`; adding a lever is one file and one entry."""

from __future__ import annotations

from collections.abc import Callable

from tokenlane.cost.levers import batch_api, caching, routing
from tokenlane.cost.levers.base import LeverInput, LeverResult

LEVERS: dict[str, Callable[[LeverInput], LeverResult | None]] = {
    "routing": routing.evaluate,
    "caching": caching.evaluate,
    "batch_api": batch_api.evaluate,
}
"""Levers by id, evaluated in this order."""

__all__ = ["LEVERS", "LeverInput", "LeverResult"]
