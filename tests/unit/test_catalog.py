"""Catalog integrity: required ids, sources, schema freshness, Hugging Face config parsing."""

from __future__ import annotations

import json
import types
from importlib.resources import files
from pathlib import Path

import pytest

import tokenlane
from tests.cli.helpers import invoke
from tokenlane import build_deployment, builtin_catalog, catalog_json_schema, count_params, model_from_hf_config, plan_memory
from tokenlane.catalog.models import Engine, EngineTuning

DATA = Path(__file__).resolve().parent.parent / "data"
REQUIRED = {
    "hardware": [
        "h100-sxm",
        "h200",
        "b200",
        "a100-80gb",
        "l40s",
        "rtx-4090",
        "rtx-5090",
        "rtx-pro-6000",
        "dgx-spark",
        "ryzen-ai-max-395-128gb",
        "m3-ultra-512gb",
        "m4-max-128gb",
    ],
    "models": ["llama-3.1-8b", "llama-3.1-70b", "qwen3-30b-a3b", "qwen3-235b-a22b", "gpt-oss-20b", "gpt-oss-120b", "deepseek-v3"],
    "quants": ["bf16", "fp8", "int4-awq", "mxfp4", "q8_0", "q4_k_m", "q3_k_m"],
    "engines": ["vllm", "sglang", "llama.cpp", "ollama", "mlx"],
}


@pytest.mark.parametrize(("section", "ids"), REQUIRED.items())
def test_required_ids_exist(section: str, ids: list[str]) -> None:
    assert set(ids) <= set(builtin_catalog().section(section))


def test_every_entry_is_sourced_and_dated() -> None:
    catalog = builtin_catalog()
    for section in ("hardware", "models", "quants", "kv_dtypes", "engines"):
        for entry in catalog.section(section).values():
            assert entry.source and entry.as_of, entry.id


def test_schema_json_is_fresh() -> None:
    shipped = json.loads((files("tokenlane.catalog") / "data" / "schema.json").read_text())
    assert shipped == catalog_json_schema(), "run: python -m tokenlane.catalog.schema > src/tokenlane/catalog/data/schema.json"


def test_public_api_matches_all() -> None:
    exported = {name for name in dir(tokenlane) if not name.startswith("_") and not isinstance(getattr(tokenlane, name), types.ModuleType)}
    assert exported == set(tokenlane.__all__)
    assert tokenlane.__all__ == sorted(tokenlane.__all__)


def test_llama_style_config() -> None:
    model = model_from_hf_config(DATA / "llama_config.json")
    assert model.id == "tiny-llama" and model.tied_embeddings and model.head_dim == 64 and model.moe is None


def test_gpt_oss_config_matches_catalog() -> None:
    model = model_from_hf_config(DATA / "gpt_oss_config.json")
    builtin = builtin_catalog().model_by_id("gpt-oss-20b")
    assert model.sliding_window == builtin.sliding_window
    assert count_params(model).total == count_params(builtin).total


def test_deepseek_config_matches_catalog() -> None:
    model = model_from_hf_config(DATA / "deepseek_config.json")
    assert count_params(model).total == count_params(builtin_catalog().model_by_id("deepseek-v3")).total


@pytest.mark.parametrize(
    ("config", "catalog_id"),
    [
        ("llama4_maverick_config.json", "llama-4-maverick"),  # text_config nested; dense layers between MoE layers
        ("qwen3_5_397b_config.json", "qwen3.5-397b-a17b"),  # hybrid linear attention inside a multimodal config
        ("minimax_m2_config.json", "minimax-m2"),
    ],
)
def test_current_model_configs_read_as_their_catalog_entries(config: str, catalog_id: str) -> None:
    """The config reader and the hand-written catalog entry agree on every field the capacity model uses."""
    read = model_from_hf_config(DATA / config)
    builtin = builtin_catalog().model_by_id(catalog_id)
    used = ("num_layers", "hidden_size", "num_attention_heads", "num_kv_heads", "head_dim", "vocab_size", "moe", "mla",
            "sliding_window", "linear_attention", "attention_output_gate", "max_context_tokens")  # fmt: skip
    assert {f: getattr(read, f) for f in used} == {f: getattr(builtin, f) for f in used}
    assert count_params(read).total == count_params(builtin).total
    assert count_params(read).active == count_params(builtin).active


def test_llama4_layers_split_by_the_interleave_step_and_the_rope_flags() -> None:
    maverick = model_from_hf_config(DATA / "llama4_maverick_config.json")
    assert maverick.moe is not None and maverick.moe.num_dense_layers == 24  # MoE on every 2nd of 48 layers
    assert maverick.moe.num_shared_experts == 1 and maverick.moe.shared_expert_intermediate_size == 8192
    assert maverick.intermediate_size == 16384  # the dense layers' `intermediate_size_mlp`
    assert maverick.sliding_window is not None and maverick.sliding_window.num_layers == 36  # every 4th layer global


def test_a_vendor_tuning_applies_on_that_vendors_hardware_only() -> None:
    catalog = builtin_catalog()
    vllm = catalog.engines["vllm"]
    amd = next(t for t in vllm.on_vendor if t.vendor == "amd")
    on_amd = build_deployment(catalog, hardware="mi300x", model="llama-3.1-8b", engine="vllm").engine
    on_nvidia = build_deployment(catalog, hardware="h200", model="llama-3.1-8b", engine="vllm").engine
    assert on_amd.bandwidth_utilization == amd.bandwidth_utilization != vllm.bandwidth_utilization
    assert on_nvidia == vllm  # untouched
    assert on_amd.compute_utilization == vllm.compute_utilization  # fields the tuning leaves out keep the default


def test_a_class_tuning_wins_over_its_vendors_and_gguf_matmuls_take_its_dtype() -> None:
    catalog = builtin_catalog()
    base = catalog.engines["llama.cpp"]
    dated = {"source": "test", "as_of": "2026-11-28"}
    whole = EngineTuning(vendor="nvidia", compute_utilization=0.5, **dated)
    cards = EngineTuning(vendor="nvidia", memory_kind="gddr", compute_utilization=0.2, block_quant_dtype="int8", **dated)
    engine = base.model_copy(update={"on_vendor": (whole, cards)})
    assert engine.on("nvidia", "gddr").compute_utilization == 0.2 and engine.on("nvidia", "hbm").compute_utilization == 0.5
    assert engine.on("apple", "unified") == engine
    with pytest.raises(ValueError, match="twice"):
        Engine.model_validate({**base.model_dump(), "on_vendor": [cards.model_dump(), cards.model_dump()]})
    ids = {"hardware": "rtx-4090", "model": "llama-3.1-8b", "engine": "llama.cpp"}
    # GGUF block formats run on int8 tensor cores under CUDA; F16 weights and other engines keep the quant's dtype.
    assert build_deployment(catalog, **ids, quant="q4_k_m").compute_dtype == "int8"
    assert build_deployment(catalog, **ids, quant="fp16").compute_dtype == "bf16"
    assert build_deployment(catalog, hardware="rtx-4090", model="llama-3.1-8b", engine="vllm", quant="int4-awq").compute_dtype == "bf16"


def test_one_mi300x_holds_a_70b_model_in_bf16_that_one_h100_cannot() -> None:
    catalog = builtin_catalog()
    deployments = [build_deployment(catalog, hardware=hw, model="llama-3.1-70b", engine="vllm") for hw in ("mi300x", "h100-sxm")]
    assert [plan_memory(dep).fits for dep in deployments] == [True, False]


def test_every_unified_memory_box_says_which_setting_its_usable_memory_assumes() -> None:
    unified = [h for h in builtin_catalog().hardware.values() if h.memory_kind == "unified"]
    assert unified and all(h.memory_setting for h in unified)
    doc = invoke("capacity", "--hardware", "m4-max-128gb", "--model", "qwen3-8b", "--quant", "q4_k_m", "--engine", "llama.cpp", "--json")
    assert "iogpu.wired_limit_mb=112640" in doc.json()["memory_setting"]
    assert builtin_catalog().hardware["m4-max-128gb"].usable_bytes == 110 * 2**30  # vendors' GB of memory are GiB


def test_the_fast_parser_reads_every_shipped_file_as_the_plain_one_does() -> None:
    """libyaml (`BUILTIN_LOADER`) and PyYAML's own parser give the same data for every built-in catalog file."""
    import yaml

    from tokenlane.catalog.load import BUILTIN_LOADER
    from tokenlane.yaml_input import load_yaml

    shipped = sorted(p for p in (files("tokenlane.catalog") / "data").iterdir() if p.name.endswith(".yaml"))
    assert len(shipped) >= 8
    for path in shipped:
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text, path.name, loader=BUILTIN_LOADER)[0] == load_yaml(text, path.name, loader=yaml.SafeLoader)[0], path.name
