"""Hand-checked step times and MoE expert coverage."""

from __future__ import annotations

import pytest

from tokenlane import (
    build_deployment,
    builtin_catalog,
    compute_step_time,
    decode_load,
    expected_distinct_experts,
    prefill_load,
    weight_bytes,
)

CATALOG = builtin_catalog()


@pytest.mark.parametrize(
    ("experts", "top_k", "tokens", "expected"),
    [
        (128, 8, 1, 8.0),
        (128, 8, 2, 128 * (1 - (120 / 128) ** 2)),  # 15.5
        (64, 64, 3, 64.0),
        (256, 8, 0, 0.0),
    ],
)
def test_distinct_experts_uniform(experts: int, top_k: int, tokens: int, expected: float) -> None:
    assert expected_distinct_experts(experts, top_k, tokens) == pytest.approx(expected)


def test_skewed_routing_touches_fewer_experts() -> None:
    uniform = expected_distinct_experts(128, 8, 16)
    skewed = expected_distinct_experts(128, 8, 16, routing_skew=1.0)
    assert 8 <= skewed < uniform < 128


def test_batch1_decode_is_weight_streaming_plus_overheads() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="bf16", engine="vllm")
    step = compute_step_time(dep, decode_load(dep, 1, 0))
    bandwidth = 3350e9 * 0.90 * 0.85
    wb = weight_bytes(dep.model, dep.quant)
    streamed = wb.total - wb.embedding  # the embedding is a lookup, the LM head a full read
    overhead = 1.5e-3 + 32 * 10e-6
    kv = 131072 * 1 / bandwidth
    assert step.total_s == pytest.approx(streamed / bandwidth + overhead + kv, rel=1e-6)


def test_moe_batch_reads_more_experts() -> None:
    dep = build_deployment(CATALOG, hardware="h200", model="qwen3-30b-a3b", quant="bf16", engine="vllm")
    one = compute_step_time(dep, decode_load(dep, 1, 1000))
    eight = compute_step_time(dep, decode_load(dep, 8, 1000))
    assert one.distinct_experts == pytest.approx(8)
    assert eight.distinct_experts == pytest.approx(128 * (1 - (120 / 128) ** 8))
    assert eight.experts_s / one.experts_s == pytest.approx(eight.distinct_experts / one.distinct_experts, rel=1e-6)


def test_prefill_is_compute_bound_with_quadratic_attention() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="bf16", engine="vllm")
    short = compute_step_time(dep, prefill_load(dep, 4096, 0, samples=True))
    assert short.attention_proj_s > compute_step_time(dep, decode_load(dep, 1, 0)).attention_proj_s
    pairs = 4096 * 4097 / 2
    flops = 32 * pairs * 2 * 2 * 32 * 128
    assert short.attention_s == pytest.approx(max(32 * 4096 * 4096 / (3350e9 * 0.9 * 0.85), flops / (989e12 * 0.6)))


def test_tensor_parallel_adds_allreduce() -> None:
    one = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", gpus=1)
    two = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", gpus=2)
    assert compute_step_time(one, decode_load(one, 1, 0)).allreduce_s == 0
    step2 = compute_step_time(two, decode_load(two, 1, 0))
    expected = 2 * 80 * 8192 * 2 * (2 * 1 / 2) / 450e9 + 2 * 80 * 8e-6
    assert step2.allreduce_s == pytest.approx(expected)
