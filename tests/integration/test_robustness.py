"""`verdict.robust`: a verdict planned right at the speed where it flips is fragile and says what flips it; one far
from it holds at both ends of the interval; the ends are whole plans whose costs and fleets come with them."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from tokenlane import builtin_catalog, load_scenario, plan_scenario
from tokenlane.errors import ScenarioError
from tokenlane.plan.days import at_speed
from tokenlane.scenario import Scenario

CATALOG = builtin_catalog()

JUST_FAST_ENOUGH = """name: a box just fast enough
workload:
  users: 2
  active_hours: 1
  requests_per_user_hour: 20
  prompt_tokens: {mean: 500, p90: 800}
  output_tokens: {mean: 200, p90: 300}
  slo: {min_tok_s_per_user: 60, max_ttft_s: 5, percentile: 90}
constraints: {data_residency: on_prem}
options:
  - {name: box, kind: self_host, hardware: rtx-4090, model: qwen3-8b, quant: q4_k_m, engine: llama.cpp, max_units: 1}
  - {name: mini, kind: api, provider: openai, model: gpt-5-mini}
"""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    path: Path = tmp_path_factory.mktemp("robust") / "s.yaml"
    path.write_text(JUST_FAST_ENOUGH)
    return load_scenario(path)


def _label(scenario: Scenario, speed: float) -> str:
    return plan_scenario(at_speed(scenario, {"box": speed}), CATALOG, workers=1, check_speed=False).verdict.label


@pytest.fixture(scope="module")
def flip_speed(scenario: Scenario) -> float:
    """The speed (x the modelled one) below which only-on-prem work has no option: bisected on whole plans."""
    lo, hi = 0.1, 1.0
    assert _label(scenario, hi) == "self host — box" and _label(scenario, lo) == "no option qualifies"
    for _ in range(10):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if _label(scenario, mid) == "self host — box" else (mid, hi)
    return hi


def test_a_verdict_at_its_flip_point_is_fragile_and_says_what_flips_it(scenario: Scenario, flip_speed: float) -> None:
    at_edge = at_speed(scenario, {"box": flip_speed * 1.01})
    plan = plan_scenario(at_edge, CATALOG, workers=1, check_speed=True)
    assert plan.verdict.label == "self host — box"
    assert plan.verdict.robust is False
    assert "if box runs" in plan.verdict.robust_reason and "slower than modelled" in plan.verdict.robust_reason
    assert plan.verdict.robust_reason.endswith("the verdict becomes no option qualifies")
    assert plan.robustness is not None and plan.robustness.at_low == "no option qualifies"
    box = plan.robustness.options["box"]
    assert box.speed_factors[0] < 1 < box.speed_factors[1]
    assert box.meets_slo == [False, True]
    assert plan.verdict.robust_reason + "." in plan.verdict.reasons


def test_a_verdict_far_from_its_flip_point_holds_at_both_ends(scenario: Scenario, flip_speed: float) -> None:
    plan = plan_scenario(at_speed(scenario, {"box": flip_speed * 3}), CATALOG, workers=1, check_speed=True)
    assert plan.verdict.robust is True and plan.robustness is not None
    assert plan.robustness.at_low == plan.robustness.at_high == plan.verdict.label
    assert "holds at both ends" in plan.verdict.robust_reason


def test_the_fragile_sentences_speed_lies_between_the_flip_and_the_interval_end(scenario: Scenario, flip_speed: float) -> None:
    """Planned halfway (in log speed) between the flip and the interval's low end, the verdict flips when the box runs
    1/k as fast; the sentence's figure is bisected to within an eighth of the way to the low end, past the flip."""
    far = plan_scenario(at_speed(scenario, {"box": flip_speed * 3}), CATALOG, workers=1, check_speed=True)
    assert far.robustness is not None
    low = far.robustness.options["box"].speed_factors[0]
    k = low**-0.5
    plan = plan_scenario(at_speed(scenario, {"box": flip_speed * k}), CATALOG, workers=1, check_speed=True)
    assert plan.verdict.robust is False
    found = re.search(r"if box runs (\d+)% slower than modelled", plan.verdict.robust_reason)
    assert found is not None, plan.verdict.robust_reason
    said = int(found.group(1)) / 100
    share = math.log(1 - said) / math.log(low)  # how far towards the low end the sentence puts the flip
    assert 0.5 - 0.02 <= share <= 0.5 + 1 / 8 + 0.02  # rounding to whole percent


def test_a_scenarios_speed_scale_slows_its_box_and_api_options_refuse_it(tmp_path: Path) -> None:
    """`speed_scale` in a scenario file reaches the deployment: half the speed, twice every step time; an API option
    has no box to scale and refuses it."""
    path = tmp_path / "s.yaml"
    path.write_text(JUST_FAST_ENOUGH.replace("max_units: 1}", "max_units: 1, speed_scale: 0.5}"))
    halved = load_scenario(path)
    assert halved.option("box").speed_scale == 0.5
    full = plan_scenario(load_scenario(_write(tmp_path / "full.yaml", JUST_FAST_ENOUGH)), CATALOG, workers=1)
    half = plan_scenario(halved, CATALOG, workers=1)
    assert half.curves["box"].single_stream_tok_s == pytest.approx(full.curves["box"].single_stream_tok_s / 2, rel=1e-9)
    bad = tmp_path / "bad.yaml"
    bad.write_text(JUST_FAST_ENOUGH.replace("model: gpt-5-mini}", "model: gpt-5-mini, speed_scale: 0.5}"))
    with pytest.raises(ScenarioError, match="`speed_scale` does not apply to an api option"):
        load_scenario(bad)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
