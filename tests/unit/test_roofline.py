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
    dep = build_deployment(CATALOG, hardware="h200", model="qwen3-30b-a3b", quant="bf16", engine="vllm", routing_skew=0.0)
    one = compute_step_time(dep, decode_load(dep, 1, 1000))
    eight = compute_step_time(dep, decode_load(dep, 8, 1000))
    assert one.distinct_experts == pytest.approx(8)
    assert eight.distinct_experts == pytest.approx(128 * (1 - (120 / 128) ** 8))
    assert eight.experts_s / one.experts_s == pytest.approx(eight.distinct_experts / one.distinct_experts, rel=1e-6)


def test_each_moe_layer_adds_its_fixed_cost_and_dense_layers_do_not() -> None:
    engine = CATALOG.engines["sglang"]
    without = CATALOG.with_entries("engines", [engine.model_copy(update={"moe_layer_overhead_us": 0.0})])
    for model, moe_layers in (("deepseek-r1", 58), ("llama-3.1-70b", 0)):  # DeepSeek: 61 layers, the first 3 dense
        args = {"hardware": "h200", "model": model, "quant": "fp8", "engine": "sglang", "gpus": 8}
        with_cost, no_cost = build_deployment(CATALOG, **args), build_deployment(without, **args)
        for seqs in (1, 64):
            gap = (
                compute_step_time(with_cost, decode_load(with_cost, seqs, 2048)).total_s
                - compute_step_time(no_cost, decode_load(no_cost, seqs, 2048)).total_s
            )
            assert gap == pytest.approx(moe_layers * engine.moe_layer_overhead_us * 1e-6, abs=1e-12)
    assert engine.moe_layer_overhead_us > 0


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


def _with_dequant(rows: float, *, hardware: str = "ryzen-ai-max-395-128gb", model: str = "llama-2-7b"):
    quant = CATALOG.quants["q4_k_m"].model_copy(update={"id": f"q4-h{rows:g}", "dequant_rows": rows})
    return build_deployment(CATALOG.with_entries("quants", [quant]), hardware=hardware, model=model, quant=quant.id, engine="llama.cpp")


def test_a_prompt_chunk_pays_the_quants_unpacking_by_hand() -> None:
    """A compute-bound 512-token chunk's dense matmuls run at 512 / (512 + dequant_rows) of the large-matmul rate."""
    free, packed = _with_dequant(0.0), _with_dequant(118.1)
    load = prefill_load(free, 512, 0, samples=True)
    a, b = compute_step_time(free, load), compute_step_time(packed, load)
    assert b.ffn_s / a.ffn_s == pytest.approx((512 + 118.1) / 512)
    assert b.attention_proj_s / a.attention_proj_s == pytest.approx((512 + 118.1) / 512)


def test_decode_streams_through_matrix_vector_kernels_that_hide_the_unpacking() -> None:
    free, packed = _with_dequant(0.0), _with_dequant(118.1)
    limit = packed.engine.matvec_max_rows
    assert limit == 8  # llama.cpp's MMVQ_MAX_BATCH_SIZE
    for batch in (1, limit):
        assert compute_step_time(packed, decode_load(packed, batch, 1024)).total_s == pytest.approx(
            compute_step_time(free, decode_load(free, batch, 1024)).total_s
        )


def test_an_moe_chunk_multiplies_each_expert_by_few_rows_and_pays_more_for_it() -> None:
    """512 tokens over 128 experts, 8 each: every expert multiplies about 32 rows, so its matmuls run at
    32 / (32 + h) of the rate while the 512-row dense ones run at 512 / (512 + h)."""
    free, packed = _with_dequant(0.0, model="qwen3-30b-a3b"), _with_dequant(118.1, model="qwen3-30b-a3b")
    load = prefill_load(free, 512, 0, samples=True)
    a, b = compute_step_time(free, load), compute_step_time(packed, load)
    rows = 512 * 8 / expected_distinct_experts(128, 8, 512, routing_skew=free.routing_skew)
    assert b.experts_s / a.experts_s == pytest.approx((rows + 118.1) / rows, rel=1e-6)
    assert b.experts_s / a.experts_s > 3 * b.attention_proj_s / a.attention_proj_s


def test_a_batched_llama_cpp_step_on_cuda_pays_the_launches_its_graph_saves() -> None:
    """llama.cpp's CUDA backend replays a graph only for one-token steps: a two-token step pays the engine's eager
    cost per layer on top (engines.yaml: 120 µs on the DGX Spark); other engines and vendors pay no such step."""
    spark = build_deployment(CATALOG, hardware="dgx-spark", model="qwen2.5-coder-7b", quant="q8_0", engine="llama.cpp")
    one = compute_step_time(spark, decode_load(spark, 1, 512)).overhead_s
    two = compute_step_time(spark, decode_load(spark, 2, 512)).overhead_s
    assert spark.engine.graph_max_tokens == 1
    assert two - one == pytest.approx(spark.model.num_layers * spark.engine.eager_layer_overhead_us * 1e-6)
    assert spark.engine.eager_layer_overhead_us > 0
    for hardware, engine in (("h100-sxm", "vllm"), ("ryzen-ai-max-395-128gb", "llama.cpp")):
        dep = build_deployment(CATALOG, hardware=hardware, model="qwen2.5-coder-7b", quant="bf16", engine=engine)
        steps = [compute_step_time(dep, decode_load(dep, n, 512)).overhead_s for n in (1, 2, 32)]
        assert steps == pytest.approx([steps[0]] * 3)


def test_the_step_table_prices_the_eager_step_as_the_formula_does() -> None:
    from tokenlane.capacity.roofline import StepTable, step_seconds

    spark = build_deployment(CATALOG, hardware="dgx-spark", model="gpt-oss-20b", quant="mxfp4-gguf", engine="llama.cpp")
    table = StepTable(spark, 16)
    for seqs in (1, 2, 8, 16, 40):
        load = decode_load(spark, seqs, 999.0)
        assert table.decode_seconds(seqs, load.kv_tokens_full, load.kv_tokens_window) == pytest.approx(step_seconds(spark, load))


def test_routing_skew_defaults_to_the_models_measured_value() -> None:
    """Qwen3-30B-A3B carries a skew measured from its expert load; a model without one routes uniformly; a given
    value (0 included) wins. The skew only lowers the experts a batch touches."""
    measured = build_deployment(CATALOG, hardware="dgx-spark", model="qwen3-30b-a3b", quant="q8_0", engine="llama.cpp")
    assert measured.routing_skew == CATALOG.model_by_id("qwen3-30b-a3b").moe.routing_skew > 0
    uniform = build_deployment(CATALOG, hardware="dgx-spark", model="qwen3-30b-a3b", quant="q8_0", engine="llama.cpp", routing_skew=0.0)
    assert uniform.routing_skew == 0.0
    assert build_deployment(CATALOG, hardware="dgx-spark", model="gpt-oss-20b", quant="mxfp4-gguf", engine="llama.cpp").routing_skew == 0.0
    for seqs in (2, 8, 32):
        skewed = compute_step_time(measured, decode_load(measured, seqs, 512))
        flat = compute_step_time(uniform, decode_load(uniform, seqs, 512))
        assert skewed.distinct_experts < flat.distinct_experts and skewed.experts_s < flat.experts_s
