"""Flip points are where the verdict really changes: re-planning with the assumption just past the flip point gives
the flipped verdict, and just before it the original one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenlane import builtin_catalog, load_scenario, plan_scenario

NARROW = Path(__file__).resolve().parents[2] / "examples" / "narrow-extraction-volume.yaml"


def _verdict(plan) -> str:  # type: ignore[no-untyped-def]
    v = plan.verdict
    return v.recommendation.replace("_", " ") + (f" — {v.option}" if v.option else "")


def test_engineering_time_flip_point_flips_the_replanned_verdict() -> None:
    scenario = load_scenario(NARROW)
    catalog = builtin_catalog()
    plan = plan_scenario(scenario, catalog, workers=1)
    flip = next(f for f in plan.flip_points if f.parameter == "engineer_time")
    assert flip.verdict != _verdict(plan)
    fin = scenario.finance
    bought = next(a.people_fte for a in plan.options if a.kind == "self_host")  # the one bought option's engineering
    below, above = (flip.verdict, _verdict(plan)) if flip.value < flip.baseline else (_verdict(plan), flip.verdict)
    for factor, expected in ((flip.value * 0.97, below), (flip.value * 1.03, above)):
        changed = fin.model_copy(update={"engineer_fte": bought * factor, "api_engineer_fte": fin.api_engineer_fte * factor})
        again = plan_scenario(scenario.model_copy(update={"finance": changed}), catalog, workers=1)
        assert _verdict(again) == expected, factor
    assert any(r.startswith("Flip point: the verdict becomes") for r in plan.verdict.reasons)


EXAMPLES = NARROW.parent


def _rescaled(scenario, parameter: str, factor: float):
    """The scenario with one assumption at `factor` x today's, changed in its own input (no shortcut through the
    flip-point code): API prices as custom prices read from genai-prices directly, the day's volume as more or fewer
    batch requests (the examples below are batch days), engineering as FTE overrides."""
    from genai_prices import Usage, calc_price

    from tokenlane.cost.api_bill import request_time
    from tokenlane.scenario import CustomPrice

    if parameter == "api_prices":
        at = request_time(scenario.finance.prices_at)
        options = []
        for o in scenario.options:
            if o.kind == "api":
                per_mtok = {
                    side: float(
                        calc_price(
                            Usage(**{f"{side}_tokens": 1_000_000}), o.model, provider_id=o.provider, genai_request_timestamp=at
                        ).total_price
                    )
                    for side in ("input", "output")
                }
                price = {"input_usd_per_mtok": per_mtok["input"] * factor, "output_usd_per_mtok": per_mtok["output"] * factor}
                o = o.model_copy(update={"price": CustomPrice(**price)})
            options.append(o)
        return scenario.model_copy(update={"options": options})
    if parameter == "daily_volume":
        w = scenario.workload
        jobs = [j.model_copy(update={"requests": max(1, round(j.requests * factor))}) for j in w.batch_jobs]
        return scenario.model_copy(update={"workload": w.model_copy(update={"batch_jobs": jobs})})
    raise AssertionError(parameter)


@pytest.mark.parametrize(
    ("example", "parameter"),
    [
        ("narrow-extraction-volume.yaml", "api_prices"),
        ("narrow-extraction-volume.yaml", "daily_volume"),
        ("finetuned-extraction.yaml", "api_prices"),
        ("finetuned-extraction.yaml", "daily_volume"),
    ],
)
def test_every_flip_point_flips_the_replanned_verdict(example: str, parameter: str) -> None:
    """Each flip point, re-planned from the scenario's own inputs at 0.97x and 1.03x its value: the verdict on its far
    side is the flipped one and on the near side today's. Daily volume is estimated without re-simulating (flips.py),
    so this is where that estimate is checked against a day simulated at that volume."""
    scenario = load_scenario(EXAMPLES / example)
    catalog = builtin_catalog()
    plan = plan_scenario(scenario, catalog, workers=1)
    flip = next(f for f in plan.flip_points if f.parameter == parameter)
    today = _verdict(plan)
    near, far = (1.03, 0.97) if flip.value < flip.baseline else (0.97, 1.03)
    assert _verdict(plan_scenario(_rescaled(scenario, parameter, flip.value * near), catalog, workers=1)) == today
    assert _verdict(plan_scenario(_rescaled(scenario, parameter, flip.value * far), catalog, workers=1)) == flip.verdict
