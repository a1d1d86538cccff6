"""Build a catalog `Model` from a Hugging Face `config.json`.

Covers Llama, Llama 4, Mistral, Qwen2/Qwen3, Qwen3-MoE, Qwen3-Next/Qwen3.5 (hybrid linear attention), Mixtral,
DeepSeek-V2/V3/V3.2 (MLA, sparse attention), MiniMax-M2, gpt-oss and Gemma 3 layouts.
Field names follow the `transformers` configuration classes of each architecture.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenlane.catalog.load import format_validation_error
from tokenlane.catalog.models import Model
from tokenlane.errors import CatalogError
from tokenlane.scenario import read_text_file


def _count(cfg: dict[str, Any], path: str, *names: str, default: int | None = None, minimum: int = 1) -> int:
    """A whole-number architecture field (the first of `names` present): booleans, strings, NaN, fractions and values
    below `minimum` are refused, naming the field."""
    for name in names:
        value = cfg.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
            raise CatalogError(f"must be a whole number, got {value!r}", path=path, field=name)
        if value < minimum:
            raise CatalogError(f"must be >= {minimum}, got {value:g}", path=path, field=name)
        return int(value)
    if default is not None:
        return default
    raise CatalogError(f"missing field needed for the capacity model (also looked for: {', '.join(names)})", path=path, field=names[0])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def model_from_hf_config(path: str | Path, *, model_id: str | None = None) -> Model:
    """Parse a config.json into a `Model`; a missing or malformed field raises CatalogError naming it."""
    path = Path(path)
    text = read_text_file(path, what="model config", error=CatalogError)
    try:
        raw = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"line {exc.lineno}: not valid JSON ({exc.msg})", path=str(path)) from exc
    except (ValueError, RecursionError) as exc:
        raise CatalogError(f"not valid JSON ({exc})", path=str(path)) from exc
    if not isinstance(raw, dict):
        raise CatalogError("expected a JSON object", path=str(path))
    cfg: dict[str, Any] = raw.get("text_config") or raw  # multimodal configs (Gemma 3, Mistral 3.1) nest it
    where = str(path)
    hidden = _count(cfg, where, "hidden_size", "n_embd", "d_model")
    heads = _count(cfg, where, "num_attention_heads", "n_head")
    kv_heads = _count(cfg, where, "num_key_value_heads", default=heads)
    head_dim = _count(cfg, where, "head_dim", default=max(1, hidden // heads))
    layers = _count(cfg, where, "num_hidden_layers", "n_layer")
    vocab = _count(cfg, where, "vocab_size")
    fields: dict[str, Any] = {
        "id": model_id or _slug(raw.get("_name_or_path") or path.parent.name or "custom-model"),
        "name": raw.get("_name_or_path") or path.parent.name or "custom model",
        "num_layers": layers,
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "vocab_size": vocab,
        "tied_embeddings": bool(raw.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False))),
        "max_context_tokens": _count(cfg, where, "max_position_embeddings", default=131072),
        "source": f"file://{path.resolve()}",
        "as_of": dt.date.fromtimestamp(path.stat().st_mtime),
    }
    model_type = str(cfg.get("model_type", raw.get("model_type", "")))
    num_experts = _count(cfg, where, "num_local_experts", "num_experts", "n_routed_experts", default=0, minimum=0)
    if num_experts:
        top_k = _count(cfg, where, "num_experts_per_tok", "num_experts_per_token", "experts_per_token")
        expert_width = _count(cfg, where, "moe_intermediate_size", "intermediate_size")
        shared = _count(cfg, where, "n_shared_experts", default=0, minimum=0)
        shared_width = _count(cfg, where, "shared_expert_intermediate_size", default=0, minimum=0)
        if model_type in SHARED_EXPERT_TYPES:
            shared, shared_width = 1, shared_width or expert_width
        if shared_width and not shared:
            shared = 1
        fields["moe"] = {
            "num_experts": num_experts,
            "experts_per_token": top_k,
            "expert_intermediate_size": expert_width,
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": shared_width,
            "num_dense_layers": _dense_layers(cfg, layers, where),
        }
    # Llama 4 names the dense layers' width `intermediate_size_mlp` and the experts' `intermediate_size`.
    width_names = ("intermediate_size_mlp", "intermediate_size")
    fields["intermediate_size"] = _count(cfg, where, *width_names, default=expert_width if num_experts else None)
    if cfg.get("kv_lora_rank"):
        fields["mla"] = {
            "q_lora_rank": _count(cfg, where, "q_lora_rank", default=0, minimum=0),
            "kv_lora_rank": _count(cfg, where, "kv_lora_rank"),
            "qk_nope_head_dim": _count(cfg, where, "qk_nope_head_dim"),
            "qk_rope_head_dim": _count(cfg, where, "qk_rope_head_dim"),
            "v_head_dim": _count(cfg, where, "v_head_dim"),
        }
        fields["head_dim"] = _count(cfg, where, "v_head_dim")
    fields["sliding_window"] = _sliding_window(cfg, layers, where)
    fields["linear_attention"] = _linear_attention(cfg, layers, where)
    if cfg.get("index_topk"):
        fields["sparse_attention"] = {
            "index_n_heads": _count(cfg, where, "index_n_heads"),
            "index_head_dim": _count(cfg, where, "index_head_dim"),
            "index_topk": _count(cfg, where, "index_topk"),
        }
    if fields["linear_attention"] is not None and model_type in GATED_ATTENTION_TYPES:
        fields["attention_output_gate"] = True
    try:
        return Model.model_validate(fields)
    except ValidationError as exc:
        field, msg = format_validation_error(exc)
        raise CatalogError(msg, path=where, field=field) from exc


SHARED_EXPERT_TYPES = ("llama4", "llama4_text")
"""Model types whose MoE layers always add one shared expert as wide as a routed one, with no config field for it.
# Source: transformers Llama4TextMoe (`shared_expert = Llama4TextMLP(config)`, width `intermediate_size`)."""


def _dense_layers(cfg: dict[str, Any], num_layers: int, path: str) -> int:
    """Layers of an MoE model whose feed-forward is dense: DeepSeek's `first_k_dense_replace`, Qwen's
    `mlp_only_layers`, an explicit `moe_layers` list, or every layer but each `interleave_moe_layer_step`-th (Llama 4;
    Qwen2-MoE's `decoder_sparse_step`). Step time and memory depend on how many, not on which."""
    if isinstance(cfg.get("moe_layers"), list):
        return max(0, num_layers - len(cfg["moe_layers"]))
    if isinstance(cfg.get("mlp_only_layers"), list) and cfg["mlp_only_layers"]:
        return min(num_layers, len(cfg["mlp_only_layers"]))
    step = _count(cfg, path, "interleave_moe_layer_step", "decoder_sparse_step", default=1)
    if step > 1:
        return num_layers - num_layers // step
    return min(num_layers, _count(cfg, path, "first_k_dense_replace", default=0, minimum=0))


def _sliding_window(cfg: dict[str, Any], num_layers: int, path: str) -> dict[str, int] | None:
    """Sliding-window layers from `layer_types` (gpt-oss, Gemma 3, Qwen2) or Gemma's pattern field; Llama 4's chunked
    local attention (`attention_chunk_size` on every layer that uses RoPE) as a window of one chunk, since neither the
    KV a layer keeps nor the keys a query reads exceed a chunk."""
    chunk = _count(cfg, path, "attention_chunk_size", default=0, minimum=0)
    if chunk:
        flags = cfg.get("no_rope_layers")
        if isinstance(flags, list) and flags:
            count = sum(1 for flag in flags if flag)  # 1: the layer uses RoPE and chunked attention
        else:
            count = num_layers - num_layers // _count(cfg, path, "no_rope_layer_interval", default=4)
        return {"window_tokens": chunk, "num_layers": max(0, min(count, num_layers))} if count > 0 else None
    window = _count(cfg, path, "sliding_window", default=0, minimum=0)
    if not window:
        return None
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list):
        count = sum(1 for t in layer_types if "sliding" in str(t))
    elif cfg.get("sliding_window_pattern"):
        pattern = _count(cfg, path, "sliding_window_pattern")
        count = num_layers - num_layers // pattern
    elif cfg.get("use_sliding_window"):
        count = num_layers - _count(cfg, path, "max_window_layers", default=0, minimum=0)
    else:
        return None
    return {"window_tokens": window, "num_layers": max(0, min(count, num_layers))} if count > 0 else None


GATED_ATTENTION_TYPES = ("qwen3_next", "qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text")
"""Model types whose softmax-attention layers gate their output (q_proj twice as wide).
# Source: transformers Qwen3NextAttention (q_proj out_features = heads x head_dim x 2)."""


def _linear_attention(cfg: dict[str, Any], num_layers: int, path: str) -> dict[str, int] | None:
    """Linear-attention layers of a hybrid model from `layer_types` ("linear_attention") or
    `full_attention_interval` (every n-th layer full, the rest linear), with the `linear_*` head fields."""
    if not cfg.get("linear_num_value_heads"):
        return None
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list):
        count = sum(1 for t in layer_types if str(t) == "linear_attention")
    else:
        interval = _count(cfg, path, "full_attention_interval", default=4)
        count = num_layers - num_layers // interval
    return {
        "num_layers": count,
        "num_key_heads": _count(cfg, path, "linear_num_key_heads"),
        "num_value_heads": _count(cfg, path, "linear_num_value_heads"),
        "key_head_dim": _count(cfg, path, "linear_key_head_dim"),
        "value_head_dim": _count(cfg, path, "linear_value_head_dim"),
        "conv_kernel_dim": _count(cfg, path, "linear_conv_kernel_dim", default=4),
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", str(text).lower().split("/")[-1]).strip("-") or "custom-model"
