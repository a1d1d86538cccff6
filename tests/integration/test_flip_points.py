"""Flip points are where the verdict really changes: re-planning with the assumption just past the flip point gives
the flipped verdict, and just before it the original one."""

from __future__ import annotations

from pathlib import Path

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
