"""Speculative decoding under load: the gain is the acceptance arithmetic at one stream, and it shrinks and then
reverses as the verify step turns compute-bound."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import decode_load, option_deployment, plan_memory, step_seconds, step_table, token_seconds, weight_bytes
from tokenlane.capacity.speculative import Speculation
from tokenlane.errors import InputError
from tokenlane.scenario import TokenDistribution, Workload, load_scenario
from tokenlane.simulate import simulate_day

CATALOG = builtin_catalog()
TARGET = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.3-70b", quant="fp8", engine="vllm", gpus=2)
DRAFT = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="fp8", engine="vllm", gpus=2)


def _gain(spec: Speculation, batch: int) -> float:
    sped = dataclasses.replace(TARGET, speculation=spec)
    return step_seconds(TARGET, decode_load(TARGET, batch, 2048)) / token_seconds(sped, batch, 2048)


def test_expected_tokens_per_cycle_by_hand() -> None:
    assert Speculation(3, 0.8).expected_tokens == pytest.approx((1 - 0.8**4) / 0.2)
    assert Speculation(5, 0.0).expected_tokens == 1.0


@pytest.mark.parametrize("spec", [Speculation(3, 0.8), Speculation(4, 0.7, DRAFT)], ids=["mtp-head", "draft-model"])
def test_the_gain_shrinks_as_the_batch_grows(spec: Speculation) -> None:
    gains = [_gain(spec, b) for b in (1, 8, 32, 128, 256)]
    assert gains[0] > 1.3 and gains[0] < spec.expected_tokens  # one stream: memory-bound verify, drafting not free
    assert all(a >= b for a, b in itertools.pairwise(gains))


def test_a_draft_model_slows_a_large_batch_down_and_nothing_accepted_never_pays() -> None:
    assert _gain(Speculation(4, 0.7, DRAFT), 256) < 1.0
    assert all(_gain(Speculation(2, 0.0), b) < 1.0 for b in (1, 64))


def test_capacity_prints_the_speculative_speed_and_refuses_a_draft_without_speculation() -> None:
    args = ["capacity", "--hardware", "h100-sxm", "--gpus", "2", "--model", "llama-3.3-70b", "--quant", "fp8", "--engine", "vllm"]
    result = invoke(*args, "--batch", "1,64", "--speculate", "3", "--acceptance", "0.8", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()["speculative"]
    assert doc["expected_tokens_per_cycle"] == pytest.approx(2.952) and len(doc["per_user_tok_s"]) == 2
    assert_user_error(invoke(*args, "--draft-model", "llama-3.1-8b"), "--draft-model", "--speculate")


SPEC = Speculation(3, 0.7)


def test_the_simulators_step_table_prices_a_decode_step_per_generated_token() -> None:
    """One home: the simulator's table and the curve's `token_seconds` agree; a step with prefill chunks but no
    decoders is the plain step; with no chunk it is the decode step."""
    sped = dataclasses.replace(TARGET, speculation=SPEC)
    table, plain = step_table(sped), step_table(TARGET)
    for n in (1, 8, 64):
        assert table.decode_seconds(n, n * 2048.0, 0.0) == pytest.approx(token_seconds(sped, n, 2047))  # keys: context + 1
        assert table.step_seconds(n, n * 2048.0, 0.0, (0.0,) * 6) == pytest.approx(table.decode_seconds(n, n * 2048.0, 0.0))
    chunk = (512.0, 1.0, 512.0, 0.0, 512 * 256.0, 0.0)
    assert table.step_seconds(0, 0.0, 0.0, chunk) == pytest.approx(plain.step_seconds(0, 0.0, 0.0, chunk))
    # A chunk riding along costs less than the decoders' cycle plus a separate chunk step.
    assert table.step_seconds(8, 8 * 2048.0, 0.0, chunk) < table.decode_seconds(8, 8 * 2048.0, 0.0) + plain.step_seconds(0, 0.0, 0.0, chunk)


def _day_gain(users: int, think_time_s: float) -> float:
    lengths = {"prompt_tokens": TokenDistribution(mean=1500), "output_tokens": TokenDistribution(mean=300)}
    workload = Workload(users=users, active_hours=0.25, think_time_s=think_time_s, **lengths)
    fast = simulate_day(dataclasses.replace(TARGET, speculation=SPEC), workload, seed=3)
    plain = simulate_day(TARGET, workload, seed=3)
    return fast.per_user_tok_s.p50 / plain.per_user_tok_s.p50


def test_a_simulated_day_gains_at_light_load_and_less_under_load() -> None:
    light, heavy = _day_gain(2, 60.0), _day_gain(300, 1.0)
    assert light > 1.8  # one or two streams: the verify step is memory-bound, the gain near E = 2.53 less drafting
    assert heavy < 1.3  # the running cap full all day: the verify step is compute-bound


def test_a_draft_model_takes_memory_from_the_kv_cache() -> None:
    drafted = dataclasses.replace(TARGET, speculation=Speculation(4, 0.7, DRAFT))
    plain_plan, drafted_plan = plan_memory(TARGET), plan_memory(drafted)
    assert drafted_plan.weights_bytes == pytest.approx(plain_plan.weights_bytes + weight_bytes(DRAFT.model, DRAFT.quant).total)
    assert drafted_plan.kv_capacity_tokens < plain_plan.kv_capacity_tokens


def test_a_scenario_option_speculates_with_the_models_published_head(tmp_path) -> None:
    scenario = tmp_path / "s.yaml"
    option = "{name: ds, kind: cloud_gpu, hardware: h200-8x, model: deepseek-v3, quant: fp8, speculative: {method: mtp}}"
    scenario.write_text(f"name: t\nworkload: {{users: 5}}\noptions:\n  - {option}\n")
    dep = option_deployment(CATALOG, load_scenario(scenario).options[0])
    assert dep.speculation == Speculation(1, 0.85)  # DeepSeek-V3 report: the MTP token is accepted 85-90% of the time
    scenario.write_text(scenario.read_text().replace("deepseek-v3,", "llama-3.3-70b,"))
    with pytest.raises(InputError, match="no published MTP head") as err:
        option_deployment(CATALOG, load_scenario(scenario).options[0])
    assert err.value.field == "options[ds].speculative"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("{method: draft, draft_tokens: 4, acceptance_rate: 0.7}", "needs draft_model"),
        ("{method: eagle, draft_tokens: 3}", "needs draft_tokens and acceptance_rate"),
        ("{method: mtp, draft_model: llama-3.1-8b}", "apply only to method draft"),
        ("{method: eagle, draft_tokens: 3, acceptance_rate: 1.0}", "acceptance_rate"),
        ("{method: draft, draft_tokens: 3, acceptance_rate: 0.7, draft_model: nope}", "line 4: options[x].speculative.draft_model"),
    ],
)
def test_bad_speculative_settings_are_one_line_errors(tmp_path, setting: str, message: str) -> None:
    scenario = tmp_path / "s.yaml"
    option = f"{{name: x, kind: self_host, hardware: h100-sxm-8x, model: llama-3.3-70b, quant: fp8, speculative: {setting}}}"
    scenario.write_text(f"name: t\nworkload: {{users: 5}}\noptions:\n  - {option}\n")
    assert_user_error(invoke("plan", str(scenario)), message)


def test_the_claims_check_sets_a_speculative_single_stream_figure_against_the_simulated_peak(tmp_path) -> None:
    scenario = tmp_path / "s.yaml"
    option = (
        "{name: spec70b, kind: cloud_gpu, hardware: h100-sxm, gpus: 2, model: llama-3.3-70b, quant: fp8, "
        "speculative: {method: eagle, draft_tokens: 3, acceptance_rate: 0.7}}"
    )
    workload = "{users: 150, active_hours: 0.1, think_time_s: 1, prompt_tokens: {mean: 1500}, output_tokens: {mean: 300}}"
    scenario.write_text(f"name: t\nworkload: {workload}\noptions:\n  - {option}\n")
    doc = invoke("plan", str(scenario), "--json", "--no-report").json()
    claim = next(c for c in doc["claims"] if "single stream" in c["claim"])
    assert "speculative decoding (eagle) on" in claim["claim"]
    single = float(claim["claim"].split(" tok/s")[0].rsplit(" ", 1)[1])
    at_peak = float(claim["finding"].split(" tok/s median")[0].rsplit(" ", 1)[1])
    assert at_peak < single / 3  # the vendor-style figure is what one stream gets, not what 150 users share
