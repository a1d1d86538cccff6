"""Data residency by jurisdiction and fine-tuned options: who is eligible, what flips, and bad input."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import assert_user_error, invoke

SONNET_US = "  - {name: sonnet-us, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
SONNET_EU = "  - {name: sonnet-eu, kind: api, provider: anthropic, model: claude-sonnet-4-5, processes_in: eu-frankfurt}\n"
DEEPSEEK = "  - {name: deepseek-api, kind: api, provider: deepseek, model: deepseek-chat}\n"
WORKLOAD = "{users: 10, active_hours: 1, difficulty: mixed}"


def _write(tmp_path: Path, workload: str, options: str, constraints: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: residency\nworkload: {workload}\noptions:\n{options}{constraints}")
    return path


def _plan(path: Path) -> dict:
    result = invoke("plan", str(path), "--json", "--no-report")
    assert result.exit_code == 0, result.stderr
    return result.json()


def _eligible(doc: dict) -> dict[str, bool]:
    return {o["name"]: o["eligible"] for o in doc["options"]}


def test_allowing_a_jurisdiction_flips_an_api_into_eligibility(tmp_path: Path) -> None:
    eu_only = _plan(_write(tmp_path, WORKLOAD, SONNET_US + SONNET_EU, "constraints: {data_residency: {allowed: [on_prem, eu]}}\n"))
    assert _eligible(eu_only) == {"sonnet-us": False, "sonnet-eu": True}
    us = next(o for o in eu_only["options"] if o["name"] == "sonnet-us")
    assert us["processes_in"] == "us" and any("processes prompts in us" in i for i in us["issues"])
    assert eu_only["verdict"]["option"] == "sonnet-eu" and eu_only["verdict"]["recommendation"] == "cloud_api"
    with_us = _plan(_write(tmp_path, WORKLOAD, SONNET_US + SONNET_EU, "constraints: {data_residency: {allowed: [on_prem, eu, us]}}\n"))
    assert _eligible(with_us) == {"sonnet-us": True, "sonnet-eu": True}


def test_a_chinese_api_is_excluded_and_its_self_hosted_twin_named(tmp_path: Path) -> None:
    twin = (
        "  - {name: v3-box, kind: cloud_gpu, hardware: h100-sxm, gpus: 8, model: deepseek-v3, quant: fp8, engine: vllm,\n"
        "     processes_in: us-east-1}\n"
    )
    doc = _plan(_write(tmp_path, WORKLOAD, DEEPSEEK + twin + SONNET_US, "constraints: {data_residency: {allowed: [us]}}\n"))
    api = next(o for o in doc["options"] if o["name"] == "deepseek-api")
    assert not api["eligible"] and api["processes_in"] == "cn"
    assert any("v3-box" in i for i in api["issues"])


def test_no_retention_constraint_is_met_by_zero_data_retention_only_in_place(tmp_path: Path) -> None:
    zdr = "  - {name: sonnet-zdr, kind: api, provider: anthropic, model: claude-sonnet-4-5, zero_data_retention: true}\n"
    doc = _plan(_write(tmp_path, WORKLOAD, zdr, "constraints: {data_residency: {allowed: [eu]}}\n"))
    # Zero retention does not move processing: prompts are still processed in the US.
    assert _eligible(doc) == {"sonnet-zdr": False}
    assert doc["verdict"]["recommendation"] == "none"


TUNED = (
    "  - {name: tuned, kind: cloud_gpu, hardware: h100-sxm, model: qwen3-8b, quant: bf16, engine: vllm, processes_in: us,\n"
    "     finetune: {method: lora, train_tokens: 20000000, labelled_examples: 20000, usd_per_label: 0.5,\n"
    "                eval_runs: 2, usd_per_eval_run: 300}}\n"
)
SONNET = "  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5, batch_api: true}\n"


def _tuned_workload(requests: int, tuned_rate: float) -> str:
    return (
        "{users: 1, active_hours: 24, requests_per_user_hour: 0, difficulty: narrow, "
        f"batch_jobs: [{{name: docs, requests: {requests}, prompt_tokens: 1200, output_tokens: 100, window_hours: 20}}], "
        f"tasks: [{{name: extraction, share: 1.0, min_pass_rate: 0.9, pass_rates: {{tuned: {tuned_rate}, sonnet: 0.95}}}}]}}"
    )


def test_a_fine_tuned_model_that_costs_more_per_success_does_not_win(tmp_path: Path) -> None:
    doc = _plan(_write(tmp_path, _tuned_workload(5000, 0.97), TUNED + SONNET))
    tuned = next(o for o in doc["options"] if o["name"] == "tuned")
    sonnet = next(o for o in doc["options"] if o["name"] == "sonnet")
    assert tuned["finetune_usd"] > 0
    assert tuned["effective_monthly_usd"] > sonnet["effective_monthly_usd"]
    assert doc["verdict"]["option"] == "sonnet" and doc["verdict"]["rule"] != "fine-tuned"


def test_a_fine_tuned_model_below_its_bar_never_wins(tmp_path: Path) -> None:
    doc = _plan(_write(tmp_path, _tuned_workload(5000, 0.85), TUNED + SONNET))
    assert _eligible(doc) == {"tuned": False, "sonnet": True}
    assert doc["verdict"]["option"] == "sonnet"


def test_unknown_jurisdiction_is_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, WORKLOAD, "  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5, processes_in: mars}\n")
    assert_user_error(invoke("plan", str(path), "--no-report"), "s.yaml", "processes_in", "mars")


def test_fine_tuning_an_api_option_is_refused(tmp_path: Path) -> None:
    api = "  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5, finetune: {method: lora, train_tokens: 1000}}\n"
    path = _write(tmp_path, WORKLOAD, api)
    assert_user_error(invoke("plan", str(path), "--no-report"), "s.yaml", "finetune")


def test_full_fine_tuning_too_big_for_the_hardware_is_refused(tmp_path: Path) -> None:
    options = TUNED.replace("method: lora", "method: full")
    path = _write(tmp_path, _tuned_workload(5000, 0.97), options + SONNET)
    assert_user_error(invoke("plan", str(path), "--no-report"), "s.yaml", "finetune.method", "tuned")


def test_no_training_excludes_apis_whose_terms_allow_it_unless_the_option_says_otherwise(tmp_path: Path) -> None:
    constraint = "constraints: {data_residency: {allowed: [us, cn], no_training: true}}\n"
    doc = _plan(_write(tmp_path, WORKLOAD, DEEPSEEK + SONNET_US, constraint))
    assert _eligible(doc) == {"deepseek-api": False, "sonnet-us": True}
    api = next(o for o in doc["options"] if o["name"] == "deepseek-api")
    assert any("may train on API prompts" in i for i in api["issues"])
    negotiated = DEEPSEEK.replace("}\n", ", trains_on_prompts: false}\n")
    assert _eligible(_plan(_write(tmp_path, WORKLOAD, negotiated + SONNET_US, constraint))) == {"deepseek-api": True, "sonnet-us": True}


def test_a_fine_tune_of_another_model_is_refused(tmp_path: Path) -> None:
    options = TUNED.replace("method: lora", "base_model: llama-3.1-8b, method: lora")
    path = _write(tmp_path, _tuned_workload(5000, 0.97), options + SONNET)
    assert_user_error(invoke("plan", str(path), "--no-report"), "s.yaml", "base_model", "qwen3-8b")
