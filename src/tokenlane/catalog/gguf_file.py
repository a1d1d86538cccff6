"""A GGUF file's real weight sizes, read from its header: every tensor's type and shape, no weights loaded.

GGUF files mix tensor types (llama.cpp's k-quant rules, Unsloth's dynamic quants, MXFP4 experts beside 8-bit
attention), so one bits-per-weight figure misstates them. This reads the file's tensors, groups them by the
roofline's classes — token embedding, output head, attention (softmax and linear), routed experts (`*_exps`), the
rest of the FFN (dense, shared experts, routers) — and returns a `Quant` with each class's exact bits per weight.
# Source: GGUF format, ggml-org/ggml docs/gguf.md (tensor infos: name, dims, type); block sizes from the `gguf`
# package (GGML_QUANT_SIZES).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from tokenlane.catalog.models import Model, Quant
from tokenlane.errors import CatalogError
from tokenlane.files import regular_file

MAX_PARAM_MISMATCH = 0.05
"""A file whose weights count differs from the model's by more than this share is another model."""
ATTENTION = ("attn_", "ssm_", "linear_attn", "time_mix")


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


def quant_from_gguf(path: str | Path, model: Model) -> Quant:
    """The file's per-class bits per weight as a `Quant` (id `gguf-<file stem>`); CatalogError (one line) for a file
    that is not GGUF or holds another model's weights."""
    from gguf import GGUFReader  # the header reader is only needed here

    name = str(path)
    info = regular_file(path, what="GGUF file", error=CatalogError)
    try:
        reader = GGUFReader(name)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise CatalogError(f"not a GGUF file this reader understands ({str(exc).splitlines()[0][:120]})", path=name) from exc
    elements: dict[str, int] = {}
    size: dict[str, int] = {}
    for tensor in reader.tensors:
        if len(tensor.shape) < 2:
            continue  # norms and biases: 1-D, negligible and not weights of a matmul
        key = _class(tensor.name)
        elements[key] = elements.get(key, 0) + int(tensor.n_elements)
        size[key] = size.get(key, 0) + int(tensor.n_bytes)
    if not elements:
        raise CatalogError("holds no weight matrices", path=name)
    from tokenlane.capacity.memory import count_params  # the model's own count, to check the file is that model

    total = sum(elements.values())
    expected = count_params(model).total
    if abs(total / expected - 1.0) > MAX_PARAM_MISMATCH:
        raise CatalogError(f"holds {total / 1e9:.2f}B weights; {model.id} has {expected / 1e9:.2f}B: is it another model?", path=name)

    def bits(key: str, fallback: str | None = None) -> float | None:
        if key in elements:
            return size[key] * 8.0 / elements[key]
        return bits(fallback) if fallback else None

    ffn = bits("ffn", "experts") or bits("attention")
    assert ffn is not None
    embedding = bits("embedding") or ffn
    return Quant(
        id=("gguf-" + re.sub(r"[^a-z0-9._-]+", "-", Path(name).stem.lower()))[:60],
        name=f"{Path(name).name} (per-tensor types from the file)",
        bits_per_weight=ffn,
        expert_bits_per_weight=bits("experts"),
        attention_bits_per_weight=bits("attention"),
        embedding_bits_per_weight=embedding,
        lm_head_bits_per_weight=bits("lm_head"),
        format="gguf",
        source=f"file://{Path(name).resolve()}",
        as_of=dt.date.fromtimestamp(info.st_mtime),
        notes=f"{total / 1e9:.2f}B weights in {sum(size.values()) / 1e9:.2f} GB",
    )
