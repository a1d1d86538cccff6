"""A GGUF file read from its header, no weights loaded: the model's architecture and its real weight sizes.

GGUF files mix tensor types (llama.cpp's k-quant rules, Unsloth's dynamic quants, MXFP4 experts beside 8-bit
attention), so one bits-per-weight figure misstates them. `quant_from_gguf` reads the file's tensors, groups them by
the roofline's classes — token embedding, output head, attention (softmax and linear), routed experts (`*_exps`),
the rest of the FFN (dense, shared experts, routers) — and returns a `Quant` with each class's exact bits per weight.
`model_from_gguf` reads the architecture keys llama.cpp writes (`{arch}.block_count`, `.attention.head_count_kv`,
`.expert_count` ...) into a `Model`.
# Source: GGUF format, ggml-org/ggml docs/gguf.md (key-value metadata; tensor infos: name, dims, type); key names
# as llama.cpp writes them (the `gguf` package's gguf.constants.Keys); block sizes from its GGML_QUANT_SIZES;
# sliding-window layer patterns from llama.cpp src/llama-model.cpp (gemma2 every 2nd layer, gemma3 5 of 6,
# gpt-oss every 2nd).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from tokenlane.catalog.load import format_validation_error
from tokenlane.catalog.models import Model, Quant
from tokenlane.errors import CatalogError
from tokenlane.files import regular_file

MAX_PARAM_MISMATCH = 0.05
"""A file whose weights count differs from the model's by more than this share is another model."""
ATTENTION = ("attn_", "ssm_", "linear_attn", "time_mix")


SWA_PATTERN = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2}
"""Architectures whose GGUF gives a sliding window but not which layers use it: every n-th layer is global."""
UNSUPPORTED = ("deepseek2", "qwen3next", "qwen35", "qwen35moe", "mamba", "rwkv", "jamba", "falcon-h1", "lfm2")
"""Architectures (MLA, linear-attention hybrids) whose GGUF keys this reader does not map: use their config.json."""


FAMILY_FALLBACK = {"iq": "q4_k_m", "k": "q4_k_m", "legacy": "q4_0"}
"""Block types with no catalog quant of their own take the unpacking cost of their family's measured one: i-quants
and k-quants Q4_K_M's (256-weight super-blocks), the 32-weight legacy blocks Q4_0's - the assumption the catalog's
own quants state beside their `dequant_rows`."""


def format_quant(quants: Mapping[str, Quant], type_name: str) -> Quant | None:
    """The catalog GGUF quant whose kernels a ggml block type (`Q4_K`, `MXFP4`, `IQ3_XXS` ...) runs: its own entry
    (`q4_k` -> `q4_k_m`, `mxfp4` -> `mxfp4-gguf`) or its family's; None for float types, which unpack nothing."""
    key = type_name.lower()
    if key in ("f32", "f16", "bf16"):
        return None
    own = sorted(q.id for q in quants.values() if q.format == "gguf" and (q.id == key or q.id.startswith((f"{key}_", f"{key}-"))))
    if own:
        return quants[own[0]]
    family = "iq" if key.startswith("iq") else "k" if key.endswith("_k") else "legacy"
    return quants.get(FAMILY_FALLBACK[family])


def _open(path: str | Path) -> tuple[object, object]:
    from gguf import GGUFReader  # the header reader is only needed here

    name = str(path)
    info = regular_file(path, what="GGUF file", error=CatalogError)
    try:
        return GGUFReader(name), info
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise CatalogError(f"not a GGUF file this reader understands ({str(exc).splitlines()[0][:120]})", path=name) from exc


def _value(reader: object, key: str) -> object:
    """A metadata value: an int, float or str, a list for arrays; None when the key is absent."""
    from gguf import GGUFValueType

    field = reader.fields.get(key)  # type: ignore[attr-defined]
    if field is None:
        return None
    kind = field.types[0]
    if kind == GGUFValueType.ARRAY:
        if len(field.types) > 1 and field.types[1] == GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8", "replace") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    if kind == GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
    return field.parts[field.data[0]].tolist()[0]


def model_from_gguf(path: str | Path, *, model_id: str | None = None) -> Model:
    """The model a GGUF file holds, from its architecture keys; CatalogError (one line) naming the key that is missing
    or an architecture this reader does not map."""
    reader, info = _open(path)
    name = str(path)
    arch = _value(reader, "general.architecture")
    if not isinstance(arch, str):
        raise CatalogError("has no general.architecture", path=name)
    if arch in UNSUPPORTED:
        raise CatalogError(f"architecture {arch} (MLA or linear attention) is not read from GGUF keys; give its config.json", path=name)

    def number(key: str, default: int | None = None) -> int:
        value = _value(reader, key.format(arch=arch))
        if isinstance(value, list):  # per-layer values (hybrids write 0 on their non-attention layers)
            value = max((v for v in value if v), default=None)
        if value is None:
            if default is None:
                raise CatalogError("missing, needed for the capacity model", path=name, field=key.format(arch=arch))
            return default
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise CatalogError(f"must be a whole number, got {value!r}", path=name, field=key.format(arch=arch))
        return int(value)

    tensors = {t.name: t for t in reader.tensors}  # type: ignore[attr-defined]
    embedding = tensors.get("token_embd.weight")
    hidden = number("{arch}.embedding_length")
    heads = number("{arch}.attention.head_count")
    layers = number("{arch}.block_count")
    tokens = _value(reader, "tokenizer.ggml.tokens")
    vocab_default = len(tokens) if isinstance(tokens, list) else (int(max(embedding.shape)) if embedding is not None else None)
    fields: dict[str, object] = {
        "id": model_id or _slug(str(_value(reader, "general.name") or Path(name).stem)),
        "name": str(_value(reader, "general.name") or Path(name).name),
        "num_layers": layers,
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_kv_heads": number("{arch}.attention.head_count_kv", heads),
        "head_dim": number("{arch}.attention.key_length", max(1, hidden // heads)),
        "vocab_size": number("{arch}.vocab_size", vocab_default),
        "tied_embeddings": "output.weight" not in tensors,
        "max_context_tokens": number("{arch}.context_length", 131072),
        "source": f"file://{Path(name).resolve()}",
        "as_of": dt.date.fromtimestamp(info.st_mtime),  # type: ignore[attr-defined]
    }
    experts = number("{arch}.expert_count", 0)
    ffn = number("{arch}.feed_forward_length", 0)
    if experts:
        width = number("{arch}.expert_feed_forward_length", ffn)
        shared_width = number("{arch}.expert_shared_feed_forward_length", 0)
        shared = number("{arch}.expert_shared_count", 1 if shared_width or "blk.0.ffn_up_shexp.weight" in tensors else 0)
        step = number("{arch}.interleave_moe_layer_step", 1)
        fields["moe"] = {
            "num_experts": experts,
            "experts_per_token": number("{arch}.expert_used_count"),
            "expert_intermediate_size": width,
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": shared_width or (width if shared else 0),
            "num_dense_layers": layers - layers // step if step > 1 else number("{arch}.leading_dense_block_count", 0),
        }
        ffn = ffn or width
    if not ffn:
        raise CatalogError("missing, needed for the capacity model", path=name, field=f"{arch}.feed_forward_length")
    fields["intermediate_size"] = ffn
    window = number("{arch}.attention.sliding_window", 0)
    if window:
        pattern = _value(reader, f"{arch}.attention.sliding_window_pattern")
        if isinstance(pattern, list):
            count = sum(1 for flag in pattern if flag)
        elif isinstance(pattern, int) and pattern > 0:
            count = layers - layers // pattern
        elif arch in SWA_PATTERN:
            count = layers - layers // SWA_PATTERN[arch]
        else:
            raise CatalogError(f"gives a sliding window but not which layers use it ({arch})", path=name, field="sliding_window_pattern")
        fields["sliding_window"] = {"window_tokens": window, "num_layers": count}
    try:
        return Model.model_validate(fields)
    except ValidationError as exc:
        field, msg = format_validation_error(exc)
        raise CatalogError(msg, path=name, field=field) from exc


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-")[:80] or "gguf-model"


def _class(name: str) -> str:
    if name.startswith("token_embd"):
        return "embedding"
    if name.startswith("output.") or name == "output":
        return "lm_head"
    if "_exps" in name:
        return "experts"
    if any(part in name for part in ATTENTION):
        return "attention"
    return "ffn"


def quant_from_gguf(path: str | Path, model: Model, quants: Mapping[str, Quant]) -> Quant:
    """The file's per-class bits per weight as a `Quant` (id `gguf-<file stem>`), with the matmul kernels
    (`dequant_rows`) of the block type most of its FFN weights use - the routed experts' in an MoE - looked up in
    `quants` (`format_quant`); CatalogError (one line) for a file that is not GGUF or holds another model's weights."""
    name = str(path)
    reader, info = _open(path)
    elements: dict[str, int] = {}
    size: dict[str, int] = {}
    types: dict[str, dict[str, int]] = {}
    for tensor in reader.tensors:  # type: ignore[attr-defined]
        if len(tensor.shape) < 2:
            continue  # norms and biases: 1-D, negligible and not weights of a matmul
        key = _class(tensor.name)
        elements[key] = elements.get(key, 0) + int(tensor.n_elements)
        size[key] = size.get(key, 0) + int(tensor.n_bytes)
        by_type = types.setdefault(key, {})
        by_type[tensor.tensor_type.name] = by_type.get(tensor.tensor_type.name, 0) + int(tensor.n_elements)
    if not elements:
        raise CatalogError("holds no weight matrices", path=name)
    from tokenlane.capacity.memory import count_params  # the model's own count, to check the file is that model

    total = sum(elements.values())
    expected = count_params(model).total
    if abs(total / expected - 1.0) > MAX_PARAM_MISMATCH:
        raise CatalogError(f"holds {total:,} weights; {model.id} has {expected:,}: is it another model?", path=name)

    def bits(key: str, fallback: str | None = None) -> float | None:
        if key in elements:
            return size[key] * 8.0 / elements[key]
        return bits(fallback) if fallback else None

    ffn = bits("ffn", "experts") or bits("attention")
    assert ffn is not None
    embedding = bits("embedding") or ffn
    matmuls = types.get("experts") or types.get("ffn") or types["attention"]
    kernels = format_quant(quants, max(matmuls, key=matmuls.__getitem__))
    return Quant(
        id=("gguf-" + re.sub(r"[^a-z0-9._-]+", "-", Path(name).stem.lower()))[:60],
        name=f"{Path(name).name} (per-tensor types from the file)",
        bits_per_weight=ffn,
        expert_bits_per_weight=bits("experts"),
        attention_bits_per_weight=bits("attention"),
        embedding_bits_per_weight=embedding,
        lm_head_bits_per_weight=bits("lm_head"),
        format="gguf",
        dequant_rows=kernels.dequant_rows if kernels else 0.0,
        recovery=kernels.recovery if kernels else {},
        source=f"file://{Path(name).resolve()}",
        as_of=dt.date.fromtimestamp(info.st_mtime),  # type: ignore[attr-defined]
        notes=f"{total / 1e9:.2f}B weights in {sum(size.values()) / 1e9:.2f} GB"
        + (f"; matmul kernels and quality recovery as {kernels.id}" if kernels else ""),
    )
