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

from tokenlane.capacity.uncertainty import SpeedInterval
from tokenlane.cost import IntervalEnds
from tokenlane.plan.days import at_speed, end_scenarios, interval_ends
from tokenlane.plan.facts import OptionAssessment
from tokenlane.plan.verdict import Verdict
from tokenlane.scenario import Scenario

BISECTIONS = 3
"""Plans spent finding the speed that flips a fragile verdict: the flip is placed within 1/8 of the interval's end."""


class Robustness(BaseModel):
    """Whether the verdict holds at both ends of every self-hosted option's speed interval."""

    model_config = ConfigDict(frozen=True)

    robust: bool
    """True also when no box's speed can change the verdict (the reason says so)."""
    reason: str
    at_low: str
    """The verdict with every box at its interval's low end."""
    at_high: str
    options: dict[str, IntervalEnds]


def speed_matters(option: OptionAssessment) -> bool:
    """Whether the option's speed can change the verdict: it fits and nothing but speed or cost rules it out (a box
    outside the data residency or under the quality bar stays out however fast it runs)."""
    return option.fits and (option.data_residency_ok or option.eligible_for_rest) and option.quality_ok


Outcome = tuple[Verdict, dict[str, tuple[float | None, int, bool]]]
"""A plan's verdict and, per option, (monthly USD, replicas, meets the SLO)."""


def _end(interval: SpeedInterval, side: int) -> float:
    """The low (0) or the high (1) end of an interval, as a factor on the modelled speed."""
    return interval.high if side else interval.low


def check_robustness(
    scenario: Scenario, base: Verdict, ends: dict[str, SpeedInterval], replan: Callable[[list[Scenario]], list[Outcome]]
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
    (low_v, low_opts), (high_v, high_opts) = replan(end_scenarios(scenario, ends))
    options = {n: interval_ends(iv, low_opts[n], high_opts[n]) for n, iv in ends.items() if n in low_opts and n in high_opts}
    spread = ", ".join(f"{n} {iv.low:.2f}-{iv.high:.2f}x" for n, iv in ends.items())
    low_name, high_name = low_v.label, high_v.label
    if low_name == name and high_name == name:
        reason = f"The verdict holds at both ends of the capacity model's 80% speed interval ({spread} the modelled speed)"
        return Robustness(robust=True, reason=reason, at_low=low_name, at_high=high_name, options=options)
    side = 0 if low_name != name else 1
    flipped = low_name if side == 0 else high_name
    lo_t, hi_t = 0.0, 1.0  # share of the way, in log speed, from the modelled speed to the end that flipped
    for _ in range(BISECTIONS):
        mid = (lo_t + hi_t) / 2
        [(then, _)] = replan([at_speed(scenario, {n: math.exp(mid * math.log(_end(iv, side))) for n, iv in ends.items()})])
        if then.label == name:
            lo_t = mid
        else:
            hi_t, flipped = mid, then.label
    factors = [math.exp(hi_t * math.log(_end(iv, side))) for iv in ends.values()]
    shift = max(factors, key=lambda f: abs(math.log(f)))
    how = f"{1 - shift:.0%} slower" if shift < 1 else f"{shift - 1:.0%} faster"
    subject = f"{next(iter(ends))} runs" if len(ends) == 1 else "the self-hosted boxes run"
    reason = (
        f"Fragile: if {subject} {how} than modelled (within the capacity model's 80% interval, {spread}), the verdict becomes {flipped}"
    )
    return Robustness(robust=False, reason=reason, at_low=low_name, at_high=high_name, options=options)
