"""Flip points: for each key assumption, the value at which the verdict changes — the question a CTO asks next.

Each assumption scales some cost lines of every option (`FLIPS`); the options are assessed and the rule table is run
again on the adjusted costs (no new simulation). Daily volume is adjusted on paper: API bills scale with it, and a
self-hosted option's per-replica lines scale with the replicas it would need (its sized fleet x the factor, rounded
up, never below its own count). Each side of the baseline is scanned on a log grid and the first change refined by
bisection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from tokenlane.cost import MonthlyCost, OptionCost
from tokenlane.plan.verdict import Verdict
from tokenlane.scenario import Finance, Scenario

GRID_POINTS = 12
"""Factors tried on each side of the baseline (log-spaced out to each assumption's range)."""
BISECTIONS = 12
SHOWN_IN_VERDICT = 3


class FlipPoint(BaseModel):
    """Where one assumption flips the verdict."""

    model_config = ConfigDict(frozen=True)

    parameter: str
    baseline: float
    value: float
    verdict: str
    """The verdict past the flip point (recommendation — option)."""
    sentence: str


@dataclass(frozen=True)
class _Flip:
    label: str
    baseline: Callable[[Finance], float]
    low: float
    """Smallest factor tried (x the baseline)."""
    high: Callable[[Finance], float]
    scale: Callable[[MonthlyCost, float, int, int], MonthlyCost]
    """(breakdown, factor, replicas as sized, the option's own count) -> adjusted breakdown."""
    phrase: Callable[[float, float, float], str]
    """(factor, value, baseline) -> the condition in words, e.g. 'below $0.05/kWh of electricity (now $0.15)'."""


def _replicas_scale(b: MonthlyCost, factor: float, replicas: int, count: int) -> MonthlyCost:
    if replicas <= 0:  # an API
        return b.model_copy(update={"api_usd": b.api_usd * factor})
    ratio = max(count, math.ceil(replicas * factor - 1e-9)) / replicas
    per_replica = ("hardware_usd", "power_usd", "hosting_usd", "rental_usd")
    return b.model_copy(update={k: getattr(b, k) * ratio for k in per_replica})


def _side(factor: float, down: str = "below", up: str = "above") -> str:
    return down if factor < 1 else up


FLIPS = {
    "engineer_time": _Flip(
        "engineering time",
        lambda f: 1.0,
        0.05,
        lambda f: 10.0,
        lambda b, k, r, c: b.model_copy(update={"people_usd": b.people_usd * k}),
        lambda k, v, b: f"if engineering takes {_side(k, 'less', 'more')} than {k:.2g}x the assumed time",
    ),
    "amortization_years": _Flip(
        "amortisation period",
        lambda f: f.amortization_years,
        1 / 3,
        lambda f: 10 / f.amortization_years,
        lambda b, k, r, c: b.model_copy(update={"hardware_usd": b.hardware_usd / k}),
        lambda k, v, b: f"with hardware written off over {_side(k, 'less', 'more')} than {v:.1f} years (now {b:g})",
    ),
    "electricity_usd_per_kwh": _Flip(
        "electricity price",
        lambda f: f.electricity_usd_per_kwh,
        0.1,
        lambda f: 10.0,
        lambda b, k, r, c: b.model_copy(update={"power_usd": b.power_usd * k}),
        lambda k, v, b: f"{_side(k)} ${v:.2f}/kWh of electricity (now ${b:.2f})",
    ),
    "api_prices": _Flip(
        "API prices",
        lambda f: 1.0,
        0.1,
        lambda f: 10.0,
        lambda b, k, r, c: b.model_copy(update={"api_usd": b.api_usd * k}),
        lambda k, v, b: f"if API prices {_side(k, 'fall', 'rise')} to {k:.2g}x today's",
    ),
    "daily_volume": _Flip(
        "daily volume",
        lambda f: 1.0,
        0.1,
        lambda f: 10.0,
        _replicas_scale,
        lambda k, v, b: f"if the daily volume {_side(k, 'falls', 'grows')} to {k:.2g}x this scenario's",
    ),
}
"""The assumptions searched, by id: how each one moves every option's cost lines."""


def _adjusted(costs: list[OptionCost], counts: list[int], flip: _Flip, factor: float) -> list[OptionCost]:
    out: list[OptionCost] = []
    for c, count in zip(costs, counts, strict=True):
        if c.breakdown is None:
            out.append(c)
            continue
        b = flip.scale(c.breakdown, factor, c.replicas, count)
        out.append(c.model_copy(update={"breakdown": b, "monthly_usd": b.total_usd}))
    return out


def find_flip_points(scenario: Scenario, costs: list[OptionCost], judge: Callable[[list[OptionCost]], Verdict]) -> list[FlipPoint]:
    """The nearest value of each assumption at which `judge` (assess + rule table) gives another verdict, nearest
    first (by how far, as a ratio, it is from today's value); assumptions that never flip it in range are left out."""
    counts = [o.count for o in scenario.options]
    base = judge(costs).label
    found: list[tuple[float, FlipPoint]] = []
    fte = {c.name: c.people_fte for c in costs}
    for key, flip in FLIPS.items():
        baseline = flip.baseline(scenario.finance)
        best: tuple[float, float, Verdict] | None = None
        for end in (flip.low, flip.high(scenario.finance)):
            if end <= 0 or math.isclose(end, 1.0):
                continue
            previous = 1.0
            for factor in np.geomspace(1.0, end, GRID_POINTS + 1)[1:].tolist():
                then = judge(_adjusted(costs, counts, flip, factor)).label
                if then != base:
                    lo, hi = previous, factor
                    for _ in range(BISECTIONS):
                        mid = math.sqrt(lo * hi)
                        lo, hi = (lo, mid) if judge(_adjusted(costs, counts, flip, mid)).label != base else (mid, hi)
                    flipped = judge(_adjusted(costs, counts, flip, hi))
                    if best is None or abs(math.log(hi)) < abs(math.log(best[0])):
                        best = (hi, baseline * hi, flipped)
                    break
                previous = factor
        if best is not None:
            factor, value, flipped = best
            sentence = f"the verdict becomes {flipped.label} {flip.phrase(factor, value, baseline)}"
            if key == "engineer_time" and flipped.option in fte:
                sentence += f" ({flipped.option}: {fte[flipped.option] * factor:.2g} FTE instead of {fte[flipped.option]:g})"
            point = FlipPoint(parameter=key, baseline=baseline, value=value, verdict=flipped.label, sentence=sentence)
            found.append((abs(math.log(factor)), point))
    return [point for _, point in sorted(found, key=lambda item: item[0])]
