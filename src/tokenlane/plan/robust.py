"""Does the verdict survive the capacity model's error? The day is planned again with every self-hosted option at the
low end of its 80% speed interval, then at the high end (`capacity.uncertainty`); a verdict that changes at either end
is fragile, and the sentence says how much slower (or faster) than modelled the boxes must run for it to change.

Each end is a whole plan (simulated days, fleet sizing, prices, rule table) with `Option.speed_scale` set, so costs,
fleet sizes and SLO attainment at the ends come from the same code as the verdict. The speed that flips a fragile
verdict is found by bisection between the modelled speed and the end that flipped it, `BISECTIONS` plans deep.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import CapacityReport
from tokenlane.plan.facts import OptionAssessment
from tokenlane.plan.verdict import Verdict
from tokenlane.scenario import Scenario

BISECTIONS = 3
"""Plans spent finding the speed that flips a fragile verdict: the flip is placed within 1/8 of the interval's end."""


class OptionRange(BaseModel):
    """One self-hosted option at the ends of its speed interval."""

    model_config = ConfigDict(frozen=True)

    speed_factors: list[float]
    """[low, high]: the interval's ends as factors on the modelled speed."""
    basis: str
    """The rows the interval rests on, in words."""
    monthly_usd: list[float | None]
    """Monthly cost at the low and the high end (None: does not carry the load at any size)."""
    replicas: list[int]
    """Fleet size at each end."""
    meets_slo: list[bool]


class Robustness(BaseModel):
    """Whether the verdict holds at both ends of every self-hosted option's speed interval."""

    model_config = ConfigDict(frozen=True)

    robust: bool
    """True also when no box's speed can change the verdict (the reason says so)."""
    reason: str
    at_low: str
    """The verdict with every box at its interval's low end."""
    at_high: str
    options: dict[str, OptionRange]


def speed_ends(curves: dict[str, CapacityReport]) -> dict[str, tuple[float, float, str]]:
    """(low, high, basis) factors of each self-hosted option's decode speed, from its curve's single-stream interval
    (the regime every public row source measures)."""
    out = {}
    for name, curve in curves.items():
        bounds = curve.single_stream_tok_s_range
        if bounds and curve.single_stream_tok_s > 0:
            basis = next((p.range_basis for p in curve.points if p.range_basis), "")
            out[name] = (bounds[0] / curve.single_stream_tok_s, bounds[1] / curve.single_stream_tok_s, basis)
    return out


def speed_matters(option: OptionAssessment) -> bool:
    """Whether the option's speed can change the verdict: it fits and nothing but speed or cost rules it out (a box
    outside the data residency or under the quality bar stays out however fast it runs)."""
    return option.fits and (option.data_residency_ok or option.eligible_for_rest) and option.quality_ok


def at_speed(scenario: Scenario, factors: dict[str, float]) -> Scenario:
    """`scenario` with each named option's speed multiplied by its factor."""
    options = [o.model_copy(update={"speed_scale": o.speed_scale * factors[o.name]}) if o.name in factors else o for o in scenario.options]
    return scenario.model_copy(update={"options": options})


Outcome = tuple[Verdict, dict[str, tuple[float | None, int, bool]]]
"""A plan's verdict and, per option, (monthly USD, replicas, meets the SLO)."""


def check_robustness(
    scenario: Scenario, base: Verdict, ends: dict[str, tuple[float, float, str]], replan: Callable[[list[Scenario]], list[Outcome]]
) -> Robustness:
    """Plan at the low and the high ends (`replan`, both at once) and compare with `base`; a fragile verdict's flip speed
    is bisected."""
    name = base.label
    if not ends:
        boxes = [o.name for o in scenario.options if o.kind != "api"]
        reason = (
            f"The verdict rests on no box's speed: {', '.join(boxes)} {'is' if len(boxes) == 1 else 'are'} out for reasons speed does "
            "not change (fit, residency or quality)"
            if boxes
            else "The verdict rests on no capacity prediction: every option is an API"
        )
        return Robustness(robust=True, reason=reason, at_low=name, at_high=name, options={})
    (low_v, low_opts), (high_v, high_opts) = replan(
        [at_speed(scenario, {n: lo for n, (lo, _, _) in ends.items()}), at_speed(scenario, {n: hi for n, (_, hi, _) in ends.items()})]
    )
    options = {
        n: OptionRange(
            speed_factors=[round(lo, 3), round(hi, 3)],
            basis=basis,
            monthly_usd=[low_opts[n][0], high_opts[n][0]],
            replicas=[low_opts[n][1], high_opts[n][1]],
            meets_slo=[low_opts[n][2], high_opts[n][2]],
        )
        for n, (lo, hi, basis) in ends.items()
        if n in low_opts and n in high_opts
    }
    spread = ", ".join(f"{n} {lo:.2f}-{hi:.2f}x" for n, (lo, hi, _) in ends.items())
    low_name, high_name = low_v.label, high_v.label
    if low_name == name and high_name == name:
        reason = f"The verdict holds at both ends of the capacity model's 80% speed interval ({spread} the modelled speed)"
        return Robustness(robust=True, reason=reason, at_low=low_name, at_high=high_name, options=options)
    side = 0 if low_name != name else 1
    flipped = low_name if side == 0 else high_name
    lo_t, hi_t = 0.0, 1.0  # share of the way, in log speed, from the modelled speed to the end that flipped
    for _ in range(BISECTIONS):
        mid = (lo_t + hi_t) / 2
        [(then, _)] = replan([at_speed(scenario, {n: math.exp(mid * math.log(end[side])) for n, end in ends.items()})])
        if then.label == name:
            lo_t = mid
        else:
            hi_t, flipped = mid, then.label
    factors = [math.exp(hi_t * math.log(end[side])) for end in ends.values()]
    shift = max(factors, key=lambda f: abs(math.log(f)))
    how = f"{1 - shift:.0%} slower" if shift < 1 else f"{shift - 1:.0%} faster"
    subject = f"{next(iter(ends))} runs" if len(ends) == 1 else "the self-hosted boxes run"
    reason = (
        f"Fragile: if {subject} {how} than modelled (within the capacity model's 80% interval, {spread}), the verdict becomes {flipped}"
    )
    return Robustness(robust=False, reason=reason, at_low=low_name, at_high=high_name, options=options)
