"""Catalog integrity: required ids, sources, schema freshness, Hugging Face config parsing."""

from __future__ import annotations

import json
import types
from importlib.resources import files
from pathlib import Path

import pytest

import tokenlane
from tokenlane import builtin_catalog, catalog_json_schema, count_params, model_from_hf_config

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
