"""`tokenlane cost` as a user runs it."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import assert_user_error, invoke

SCENARIO = """\
name: cost check
workload:
  users: 10
  active_hours: 2
  prompt_tokens: 1000
  output_tokens: 200
  shared_prefix_tokens: 500
  tasks:
    - {name: extract, share: 0.6, pass_rates: {spark: 0.9, sonnet: 0.97, mini: 0.92}}
    - {name: analysis, share: 0.4, pass_rates: {spark: 0.4, sonnet: 0.9, mini: 0.7}}
options:
  - {name: spark, kind: self_host, hardware: dgx-spark, model: gpt-oss-120b, quant: mxfp4-gguf, engine: llama.cpp}
  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5}
  - {name: mini, kind: api, provider: openai, model: gpt-5-mini}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cost.yaml"
    path.write_text(text)
    return path


def test_json_has_the_promised_fields(tmp_path: Path) -> None:
    result = invoke("cost", str(_write(tmp_path, SCENARIO)), "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    names = [o["name"] for o in doc["options"]]
    assert names == ["spark", "sonnet", "mini"]
    for o in doc["options"]:
        assert {"name", "kind", "monthly_usd", "usd_per_mtok_input", "usd_per_mtok_output", "units"} <= set(o)
        assert o["monthly_usd"] > 0
    assert {(b["self_host"], b["api"]) for b in doc["breakeven"]} == {("spark", "sonnet"), ("spark", "mini")}
    for b in doc["breakeven"]:
        assert {"tokens_per_day", "reachable"} <= set(b)
    levers = {lever["lever"]: lever for lever in doc["levers"]}
    assert [r["option"] for r in levers["routing"]["routing"]["routes"]][1] == "sonnet"
    assert levers["caching"]["by_option"]["sonnet"] > 0
    assert invoke("cost", str(_write(tmp_path, SCENARIO))).exit_code == 0


def test_unknown_provider_and_model_name_close_matches(tmp_path: Path) -> None:
    bad = SCENARIO.replace("provider: anthropic", "provider: anthropik")
    assert_user_error(invoke("cost", str(_write(tmp_path, bad))), "unknown provider id 'anthropik'", "anthropic")
    bad = SCENARIO.replace("model: claude-sonnet-4-5", "model: claude-sonet-4-5")
    assert_user_error(invoke("cost", str(_write(tmp_path, bad))), "options[sonnet].model", "claude-sonnet-4-5")


def test_price_problems_are_clear(tmp_path: Path) -> None:
    negative = SCENARIO.replace(
        "{name: mini, kind: api, provider: openai, model: gpt-5-mini}",
        "{name: mini, kind: api, model: x, price: {input_usd_per_mtok: -1, output_usd_per_mtok: 1}}",
    )
    assert_user_error(
        invoke("cost", str(_write(tmp_path, negative))), "options[mini].price.input_usd_per_mtok", "greater than or equal to 0"
    )
    no_price = SCENARIO.replace("{name: mini, kind: api, provider: openai, model: gpt-5-mini}", "{name: mini, kind: api, model: my-own}")
    assert_user_error(invoke("cost", str(_write(tmp_path, no_price))), "options[mini].provider", "needs `provider`")
    years = SCENARIO + "finance: {amortization_years: -2}\n"
    assert_user_error(invoke("cost", str(_write(tmp_path, years))), "finance.amortization_years", "greater than 0")


def test_cost_and_plan_agree_on_each_box_at_its_speed_intervals_ends() -> None:
    """`cost` sizes and prices every box again at the low and the high end of its speed interval; a slower box never
    needs fewer replicas nor costs less, and `plan` (which plans whole days at the same ends) finds the same fleets."""
    example = Path(__file__).resolve().parents[2] / "examples" / "regulated-on-prem.yaml"
    cost = invoke("cost", str(example), "--json")
    plan = invoke("plan", str(example), "--json", "--no-report")
    assert cost.exit_code == 0 and plan.exit_code == 0, cost.stderr + plan.stderr
    ends = cost.json()["at_interval_ends"]
    options = {o["name"]: o for o in cost.json()["options"]}
    assert set(ends) == {"spark", "pro6000-pair", "h100-server"}  # the API has no box to vary
    for name, end in ends.items():
        low, high = end["speed_factors"]
        assert 0 < low < 1 < high
        assert end["replicas"][0] >= options[name]["replicas"] >= end["replicas"][1]
        assert end["monthly_usd"][0] >= options[name]["monthly_usd"] >= end["monthly_usd"][1]
        planned = plan.json()["robustness"]["options"][name]
        assert (planned["speed_factors"], planned["replicas"], planned["monthly_usd"]) == (
            end["speed_factors"],
            end["replicas"],
            end["monthly_usd"],
        )
