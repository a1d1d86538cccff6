"""Build a catalog `Model` from a Hugging Face `config.json`.

Covers Llama, Mistral, Qwen2/Qwen3, Qwen3-MoE, Mixtral, DeepSeek-V2/V3 (MLA), gpt-oss and Gemma 3 layouts.
Field names follow the `transformers` configuration classes of each architecture.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenlane.catalog.load import format_validation_error
from tokenlane.catalog.models import Model
from tokenlane.errors import CatalogError


def _need(cfg: dict[str, Any], path: str, *names: str) -> Any:
    for name in names:
        if cfg.get(name) is not None:
            return cfg[name]
    raise CatalogError(f"missing field needed for the capacity model (also looked for: {', '.join(names)})", path=path, field=names[0])


def model_from_hf_config(path: str | Path, *, model_id: str | None = None) -> Model:
    """Parse a config.json into a `Model`; a missing needed field raises CatalogError naming it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read ({exc.strerror})", path=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(f"line {exc.lineno}: not valid JSON ({exc.msg})", path=str(path)) from exc
    if not isinstance(raw, dict):
        raise CatalogError("expected a JSON object", path=str(path))
    cfg: dict[str, Any] = raw.get("text_config") or raw  # multimodal configs (Gemma 3, Mistral 3.1) nest it
    where = str(path)
    hidden = int(_need(cfg, where, "hidden_size", "n_embd", "d_model"))
    heads = int(_need(cfg, where, "num_attention_heads", "n_head"))
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or hidden // heads)
    layers = int(_need(cfg, where, "num_hidden_layers", "n_layer"))
    vocab = int(_need(cfg, where, "vocab_size"))
    intermediate = cfg.get("intermediate_size")
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
        "max_context_tokens": int(cfg.get("max_position_embeddings") or 131072),
        "source": f"file://{path.resolve()}",
        "as_of": dt.date.fromtimestamp(path.stat().st_mtime),
    }
    num_experts = cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts")
    if num_experts:
        top_k = int(_need(cfg, where, "num_experts_per_tok", "num_experts_per_token", "experts_per_token"))
        expert_width = int(cfg.get("moe_intermediate_size") or _need(cfg, where, "intermediate_size"))
        shared = int(cfg.get("n_shared_experts") or 0)
        shared_width = int(cfg.get("shared_expert_intermediate_size") or 0)
        if shared_width and not shared:
            shared = 1
        fields["moe"] = {
            "num_experts": int(num_experts),
            "experts_per_token": top_k,
            "expert_intermediate_size": expert_width,
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": shared_width,
            "num_dense_layers": int(cfg.get("first_k_dense_replace") or 0),
        }
        intermediate = intermediate or expert_width
    fields["intermediate_size"] = int(intermediate if intermediate else _need(cfg, where, "intermediate_size"))
    if cfg.get("kv_lora_rank"):
        fields["mla"] = {
            "q_lora_rank": int(cfg.get("q_lora_rank") or 0),
            "kv_lora_rank": int(cfg["kv_lora_rank"]),
            "qk_nope_head_dim": int(_need(cfg, where, "qk_nope_head_dim")),
            "qk_rope_head_dim": int(_need(cfg, where, "qk_rope_head_dim")),
            "v_head_dim": int(_need(cfg, where, "v_head_dim")),
        }
        fields["head_dim"] = int(cfg["v_head_dim"])
    fields["sliding_window"] = _sliding_window(cfg, layers)
    try:
        return Model.model_validate(fields)
    except ValidationError as exc:
        field, msg = format_validation_error(exc)
        raise CatalogError(msg, path=where, field=field) from exc


def _sliding_window(cfg: dict[str, Any], num_layers: int) -> dict[str, int] | None:
    """Sliding-window layers from `layer_types` (gpt-oss, Gemma 3, Qwen2) or Gemma's pattern field."""
    window = cfg.get("sliding_window")
    if not window:
        return None
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list):
        count = sum(1 for t in layer_types if "sliding" in str(t))
    elif cfg.get("sliding_window_pattern"):
        pattern = int(cfg["sliding_window_pattern"])
        count = num_layers - num_layers // pattern
    elif cfg.get("use_sliding_window"):
        count = num_layers - int(cfg.get("max_window_layers") or 0)
    else:
        return None
    return {"window_tokens": int(window), "num_layers": count} if count else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", str(text).lower().split("/")[-1]).strip("-") or "custom-model"
