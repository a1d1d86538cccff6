"""Hybrid linear attention (Qwen3-Next): KV cache only on the softmax-attention layers, a fixed state per sequence,
and step times that follow from the architecture."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import count_params, decode_load, kv_cache, plan_memory, step_seconds
from tokenlane.capacity.memory import STATE_BYTES_PER_ELEMENT, kv_bytes_per_token, kv_elements_per_token_per_layer, state_bytes_per_sequence
from tokenlane.catalog.hf_config import model_from_hf_config

CATALOG = builtin_catalog()
HYBRID = CATALOG.models["qwen3-next-80b-a3b"]
DATA = Path(__file__).resolve().parents[1] / "data"


def _dense_twin():
    """The same model with every layer softmax attention (no linear layers)."""
    return HYBRID.model_copy(update={"id": "qwen3-next-all-full", "linear_attention": None})


def test_kv_bytes_per_token_are_the_full_attention_layers_share() -> None:
    twin = _dense_twin()
    assert kv_bytes_per_token(HYBRID, 2.0) == kv_bytes_per_token(twin, 2.0) * 12 / 48
    assert kv_bytes_per_token(HYBRID, 2.0) == 12 * kv_elements_per_token_per_layer(HYBRID) * 2.0 == 24_576


def test_the_state_is_fixed_per_sequence_and_counted_by_hand() -> None:
    lin = HYBRID.linear_attention
    assert lin is not None
    per_layer = 32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128)  # recurrent state + convolution state, elements
    assert state_bytes_per_sequence(HYBRID, 2.0) == 36 * per_layer * 2.0
    dep = build_deployment(CATALOG, hardware="h100-sxm", model=HYBRID.id, quant="fp8", engine="vllm", gpus=2)
    cache = kv_cache(dep)
    state = state_bytes_per_sequence(HYBRID, STATE_BYTES_PER_ELEMENT) / plan_memory(dep).kv_bytes_per_token
    assert cache.state_tokens == pytest.approx(state, abs=1)
    # Growth with context is the KV cache's alone; the state is there from the first token.
    assert cache.tokens_held(16_384) - cache.tokens_held(8_192) == 8_192
    assert cache.tokens_held(16) == 16 + cache.state_tokens


def test_the_params_match_the_model_card_and_the_config_reader() -> None:
    assert count_params(HYBRID).total / 1e9 == pytest.approx(80, rel=0.03)
    read = model_from_hf_config(DATA / "qwen3_next_config.json", model_id="qwen3-next-from-config")
    assert read.linear_attention == HYBRID.linear_attention and read.attention_output_gate
    assert count_params(read).total == count_params(HYBRID).total and read.attention_layers == 12


def test_long_contexts_cost_a_hybrid_a_quarter_of_what_they_cost_full_attention() -> None:
    hybrid = build_deployment(CATALOG, hardware="h100-sxm", model=HYBRID.id, quant="fp8", engine="vllm", gpus=2)
    twin_catalog = CATALOG.with_entries("models", [_dense_twin()])
    full = build_deployment(twin_catalog, hardware="h100-sxm", model="qwen3-next-all-full", quant="fp8", engine="vllm", gpus=2)

    def growth(dep, batch: int) -> float:
        return step_seconds(dep, decode_load(dep, batch, 65_536)) - step_seconds(dep, decode_load(dep, batch, 1_024))

    for batch in (1, 16):
        assert growth(hybrid, batch) == pytest.approx(growth(full, batch) * 12 / 48, rel=0.02)
    # And the hybrid holds more long sequences: its per-sequence memory is the state plus a quarter of the KV.
    assert kv_cache(hybrid).max_sequences(65_536) > 2 * kv_cache(dataclasses.replace(full)).max_sequences(65_536)


def test_a_day_simulates_on_a_hybrid_model(tmp_path: Path) -> None:
    from tests.cli.helpers import invoke

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: hybrid\nworkload: {users: 40, prompt_tokens: 6000, output_tokens: 500}\n"
        "options:\n  - {name: next, kind: cloud_gpu, hardware: h100-sxm, gpus: 2, model: qwen3-next-80b-a3b, quant: fp8, engine: vllm}\n"
    )
    result = invoke("plan", str(scenario), "--json", "--no-report")
    assert result.exit_code == 0, result.stderr
    option = result.json()["options"][0]
    assert option["fits"] and option["monthly_usd"] > 0


def test_sparse_attention_caches_every_token_but_reads_only_the_top_k() -> None:
    v3, v32 = CATALOG.models["deepseek-v3"], CATALOG.models["deepseek-v3.2-exp"]
    assert kv_bytes_per_token(v32, 2.0) == kv_bytes_per_token(v3, 2.0) + (128 * 1.0 + 4.0) * 61  # the fp8 index key + scale
    deps = {m: build_deployment(CATALOG, hardware="h200", model=m, quant="fp8", engine="vllm", gpus=8) for m in (v3.id, v32.id)}

    def growth(dep, batch: int) -> float:
        return step_seconds(dep, decode_load(dep, batch, 100_000)) - step_seconds(dep, decode_load(dep, batch, 10_000))

    for batch in (1, 32):
        assert 0 < growth(deps[v32.id], batch) < 0.2 * growth(deps[v3.id], batch)
    # Within the top-k every key is read anyway: only the indexer's small keys cost more.
    short = [step_seconds(d, decode_load(d, 8, 1_000)) for d in deps.values()]
    assert short[0] <= short[1] < short[0] * 1.05
    # The cache holds every token (and the index keys): fewer long sequences fit than in V3.
    assert kv_cache(deps[v32.id]).max_sequences(100_000) <= kv_cache(deps[v3.id]).max_sequences(100_000)
