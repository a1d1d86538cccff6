"""Hand-checked memory arithmetic: parameters, weight bytes, KV bytes, what fits."""

from __future__ import annotations

import pytest

from tokenlane import (
    build_deployment,
    builtin_catalog,
    count_params,
    kv_bytes_per_token,
    max_concurrent_sequences,
    plan_memory,
    weight_bytes,
)
from tokenlane.capacity.memory import file_sized_quant, kv_bytes_for_context

CATALOG = builtin_catalog()


@pytest.mark.parametrize("model", [m for m in CATALOG.models.values() if m.declared_total_params_b], ids=lambda m: m.id)
def test_total_params_match_model_card(model) -> None:
    total_b = count_params(model).total / 1e9
    assert total_b == pytest.approx(model.declared_total_params_b, rel=0.03)


@pytest.mark.parametrize("model", [m for m in CATALOG.models.values() if m.declared_active_params_b], ids=lambda m: m.id)
def test_active_params_match_model_card(model) -> None:
    active_b = count_params(model).active / 1e9
    assert active_b == pytest.approx(model.declared_active_params_b, rel=0.10)


@pytest.mark.parametrize(
    ("model_id", "kv_dtype", "expected_bytes"),
    [
        ("llama-3.1-8b", "bf16", 2 * 8 * 128 * 2 * 32),  # K and V, 8 KV heads x 128 dims, 2 bytes, 32 layers
        ("llama-3.1-70b", "fp8", 2 * 8 * 128 * 1 * 80),
        ("deepseek-v3", "bf16", (512 + 64) * 2 * 61),  # MLA latent + rope key, 61 layers
        ("llama-2-7b", "bf16", 2 * 32 * 128 * 2 * 32),  # MHA
    ],
)
def test_kv_bytes_per_token(model_id: str, kv_dtype: str, expected_bytes: int) -> None:
    model = CATALOG.model_by_id(model_id)
    assert kv_bytes_per_token(model, CATALOG.kv_dtype_by_id(kv_dtype).bytes_per_element) == expected_bytes


def test_sliding_window_layers_stop_growing_at_the_window() -> None:
    model = CATALOG.model_by_id("gpt-oss-120b")  # 18 full layers, 18 layers with a 128-token window
    per_layer = 2 * 8 * 64 * 2
    assert kv_bytes_for_context(model, 2, 1000) == per_layer * (18 * 1000 + 18 * 128)
    assert kv_bytes_for_context(model, 2, 100) == per_layer * 36 * 100


def test_weight_bytes_hand_checked() -> None:
    model = CATALOG.model_by_id("llama-3.1-8b")
    params = count_params(model).total
    assert weight_bytes(model, CATALOG.quant_by_id("bf16")).total == pytest.approx(params * 2)
    # Q4_K_M: FFN at 4.85 bits, attention at 4.6, token embedding Q4_K (4.5 bits), untied output head Q6_K (6.5625).
    p = count_params(model)
    layers = p.num_dense_layers + p.num_moe_layers
    expected = (layers * (p.attention_per_layer * 4.6 + p.dense_ffn_per_layer * 4.85) + p.embedding * 4.5 + p.lm_head * 6.5625) / 8
    assert weight_bytes(model, CATALOG.quant_by_id("q4_k_m")).total == pytest.approx(expected)


def test_a_235b_moe_in_q3_k_m_is_the_size_of_its_published_files_and_fits_a_128_gb_box() -> None:
    """llama.cpp's Q3_K_M mix by hand (src/llama-quant.cpp): expert gate/up Q3_K (3.4375 bits), expert down Q4_K
    (4.5) with the first 94 // 16 = 5 layers Q5_K (5.5); q, k Q3_K, v and o Q4_K; token_embd Q3_K; output Q6_K."""
    model = CATALOG.model_by_id("qwen3-235b-a22b")
    p = count_params(model)
    down = (5 * 5.5 + 89 * 4.5) / 94
    experts = p.num_moe_layers * p.num_experts * p.expert_per_layer * (2 * 3.4375 + down) / 3
    h, q, kv = model.hidden_size, model.num_attention_heads * model.head_dim, model.num_kv_heads * model.head_dim
    attention = model.num_layers * (h * q * 3.4375 + h * kv * 3.4375 + h * kv * 4.5 + q * h * 4.5)
    by_hand = (experts + attention + p.embedding * 3.4375 + p.lm_head * 6.5625) / 8
    assert by_hand / 1e9 == pytest.approx(112, abs=1)
    assert weight_bytes(model, CATALOG.quant_by_id("q3_k_m")).total == pytest.approx(by_hand, rel=0.01)
    dep = build_deployment(CATALOG, hardware="ryzen-ai-max-395-128gb", model=model.id, quant="q3_k_m", engine="llama.cpp")
    assert plan_memory(dep).fits


def test_mxfp4_keeps_attention_in_bf16() -> None:
    model = CATALOG.model_by_id("gpt-oss-120b")
    wb = weight_bytes(model, CATALOG.quant_by_id("mxfp4"))
    p = count_params(model)
    assert wb.expert_per_layer == pytest.approx(p.expert_per_layer * 4.25 / 8)
    assert wb.attention_per_layer == pytest.approx(p.attention_per_layer * 2)


def test_a_file_sized_quant_totals_the_file_and_keeps_its_formats_mix() -> None:
    """gpt-oss-120b's ggml GGUF is 59.02 GiB (ggml-org/llama.cpp benches/dgx-spark.md): sized from the file, the
    experts stay at about half the bits of the rest, so one token reads far more than uniform bits would say."""
    model = CATALOG.model_by_id("gpt-oss-120b")
    named = CATALOG.quant_by_id("mxfp4-gguf")
    params = count_params(model).total
    file_bits = 59.02 * 2**30 * 8 / params
    quant = file_sized_quant(model, named, file_bits, id="file", name="file", source="test", as_of="2026-11-28")
    assert weight_bytes(model, quant).total == pytest.approx(file_bits * params / 8)
    assert quant.expert_bits_per_weight / quant.bits_per_weight == pytest.approx(4.25 / 8.5)
    assert (quant.format, quant.dequant_rows) == (named.format, named.dequant_rows)
    uniform = file_sized_quant(model, None, file_bits, id="u", name="u", source="test", as_of="2026-11-28")
    assert weight_bytes(model, uniform).total == pytest.approx(file_bits * params / 8, rel=0.01)
    assert weight_bytes(model, quant).attention_per_layer > 1.9 * weight_bytes(model, uniform).attention_per_layer


def test_model_that_does_not_fit_reports_shortfall() -> None:
    dep = build_deployment(CATALOG, hardware="rtx-4090", model="llama-3.1-70b", quant="bf16", engine="vllm")
    plan = plan_memory(dep)
    assert not plan.fits
    # 141 GB of weights + 2 GB runtime against 23 GiB x 0.9 usable
    expected_short = (weight_bytes(dep.model, dep.quant).total + 2e9 - 23 * 2**30 * 0.9) / 1e9
    assert plan.shortfall_gb == pytest.approx(expected_short)
    assert max_concurrent_sequences(dep, 4096) == 0


def test_tensor_parallel_pools_memory() -> None:
    one = plan_memory(build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-70b", quant="bf16", gpus=1))
    four = plan_memory(build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-70b", quant="bf16", gpus=4))
    assert not one.fits and four.fits
    assert four.usable_bytes == pytest.approx(4 * one.usable_bytes)


def test_max_sequences_is_kv_budget_over_per_sequence_bytes() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="bf16", engine="vllm")
    plan = plan_memory(dep)
    per_seq = 131072 * 4096  # 128 KiB per token x 4096 tokens (a whole number of 16-token blocks)
    assert max_concurrent_sequences(dep, 4096) == min(256, int(plan.kv_budget_bytes // per_seq))
