"""Fine-tuning program cost by hand, the memory check for training, and where options process prompts."""

from __future__ import annotations

import pytest

from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import count_params
from tokenlane.cost.finetune import check_trainable, finetune_cost, training_flops
from tokenlane.errors import InputError
from tokenlane.plan.facts import processing_place
from tokenlane.scenario import Finance, FineTune, Option, jurisdiction_of

CATALOG = builtin_catalog()
FIN = Finance()


def _tuned(method: str, model: str = "qwen3-8b") -> Option:
    return Option(
        name="tuned",
        kind="cloud_gpu",
        hardware="h100-sxm",
        model=model,
        quant="bf16",
        engine="vllm",
        finetune=FineTune(
            method=method,
            train_tokens=10_000_000,
            epochs=2,
            labelled_examples=1000,
            usd_per_label=0.5,
            retrain_every_months=4,
            eval_runs=2,
            usd_per_eval_run=100,
        ),
    )


@pytest.mark.parametrize(("method", "k"), [("full", 6.0), ("lora", 4.0)])
def test_training_cost_by_hand(method: str, k: float) -> None:
    option = _tuned(method)
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="qwen3-8b", quant="bf16", engine="vllm")
    active = count_params(dep.model).active
    assert 7.5e9 < active < 8.5e9  # Qwen3-8B: 8.2 B parameters (model card)
    flops = training_flops(dep, option)
    assert flops == pytest.approx(k * active * 10_000_000 * 2)
    cost = finetune_cost(dep, option, FIN, usd_per_gpu_hour=2.0)
    gpu_hours = flops / (dep.hardware.bf16_tflops * 1e12 * FIN.training_mfu) / 3600
    assert cost.gpu_hours == pytest.approx(gpu_hours)
    assert cost.compute_usd_per_run == pytest.approx(2.0 * gpu_hours)
    assert cost.labelling_usd == pytest.approx(500.0)
    assert cost.eval_usd == pytest.approx(200.0)
    people = FIN.ml_team_fte * FIN.engineer_usd_per_year / 12
    assert cost.monthly_usd == pytest.approx((2.0 * gpu_hours + 500 + 200) / 4 + people)


def test_full_fine_tuning_of_a_model_too_big_for_the_box_is_refused() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="qwen3-8b", quant="bf16", engine="vllm")
    with pytest.raises(InputError) as err:
        check_trainable(dep, _tuned("full"))  # 16 B/param x 8.2 B = 131 GB > 80 GB
    assert err.value.field == "finetune.method"
    check_trainable(dep, _tuned("lora"))  # 2.2 B/param x 8.2 B = 18 GB fits


def test_jurisdiction_codes() -> None:
    assert jurisdiction_of("eu") == "eu"
    assert jurisdiction_of("us-east-1") == "us"
    assert jurisdiction_of("eu-frankfurt") == "eu"
    assert jurisdiction_of("on_prem") == "on_prem"
    for bad in ("mars", "on_prem-basement", "useast", ""):
        assert jurisdiction_of(bad) is None


def test_where_an_api_processes_and_retains_prompts() -> None:
    default = Option(name="a", kind="api", provider="anthropic", model="claude-sonnet-4-5")
    assert processing_place(default, CATALOG) == ("us", "us")
    regional = default.model_copy(update={"processes_in": "eu-frankfurt"})
    assert processing_place(regional, CATALOG) == ("eu-frankfurt", "eu-frankfurt")
    zdr = default.model_copy(update={"zero_data_retention": True})
    assert processing_place(zdr, CATALOG) == ("us", None)
    box = Option(name="b", kind="self_host", hardware="dgx-spark", model="gpt-oss-120b")
    assert processing_place(box, CATALOG) == ("on_prem", "on_prem")
