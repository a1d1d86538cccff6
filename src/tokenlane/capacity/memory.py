"""Memory: parameter counts, weight bytes by quantization, KV bytes per token, what fits.

Parameter formulas follow the module layouts in Hugging Face `transformers` (LlamaAttention,
DeepseekV3Attention, Qwen3MoeSparseMoeBlock, GptOssExperts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenlane.capacity.deployment import Deployment
from tokenlane.catalog.models import Model, Quant
from tokenlane.units import BITS_PER_BYTE, GB, bytes_to_gb


@dataclass(frozen=True)
class ParamCounts:
    """Parameters by tensor class (counts, not bytes)."""

    embedding: int
    """Input embedding table (vocab x hidden)."""
    lm_head: int
    """Output projection (0 when tied to the embedding)."""
    attention_per_layer: int
    """Q, K, V, O projections (MLA: down/up projections) of one softmax-attention layer."""
    dense_ffn_per_layer: int
    """FFN of one dense layer."""
    expert_per_layer: int
    """One routed expert of one MoE layer."""
    shared_per_layer: int
    """Shared expert(s) plus router of one MoE layer."""
    num_dense_layers: int
    """Layers with a dense FFN."""
    num_moe_layers: int
    """Layers with routed experts."""
    num_experts: int
    """Routed experts per MoE layer."""
    experts_per_token: int
    """Routed experts per token."""
    linear_attention_per_layer: int = 0
    """Projections and convolution of one linear-attention layer."""
    num_linear_layers: int = 0
    """Linear-attention layers (the others use `attention_per_layer`)."""

    @property
    def mixing(self) -> int:
        """Token-mixing parameters of all layers: softmax attention and linear attention."""
        layers = self.num_dense_layers + self.num_moe_layers
        return (layers - self.num_linear_layers) * self.attention_per_layer + self.num_linear_layers * self.linear_attention_per_layer

    @property
    def total(self) -> int:
        """All parameters."""
        return (
            self.embedding
            + self.lm_head
            + self.mixing
            + self.num_dense_layers * self.dense_ffn_per_layer
            + self.num_moe_layers * (self.num_experts * self.expert_per_layer + self.shared_per_layer)
        )

    @property
    def active(self) -> int:
        """Parameters one token multiplies through (the embedding lookup excluded, the LM head included)."""
        head = self.lm_head or self.embedding
        return (
            head
            + self.mixing
            + self.num_dense_layers * self.dense_ffn_per_layer
            + self.num_moe_layers * (self.experts_per_token * self.expert_per_layer + self.shared_per_layer)
        )


def count_params(model: Model) -> ParamCounts:
    """Parameter counts of each tensor class from the architecture fields."""
    h = model.hidden_size
    if model.mla:
        m = model.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        q = (
            h * m.q_lora_rank + m.q_lora_rank * model.num_attention_heads * qk_head
            if m.q_lora_rank
            else h * model.num_attention_heads * qk_head
        )
        kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * model.num_attention_heads * (m.qk_nope_head_dim + m.v_head_dim)
        attention = q + kv + model.num_attention_heads * m.v_head_dim * h
    else:
        q_width = model.num_attention_heads * model.head_dim
        gate = h * q_width if model.attention_output_gate else 0
        attention = 2 * h * q_width + gate + 2 * h * model.num_kv_heads * model.head_dim
    ffn_mats = 3 if model.gated_ffn else 2
    dense_ffn = ffn_mats * h * model.intermediate_size
    moe = model.moe
    if moe:
        expert = ffn_mats * h * moe.expert_intermediate_size
        shared_width = moe.shared_expert_intermediate_size or moe.num_shared_experts * moe.expert_intermediate_size
        shared = ffn_mats * h * shared_width + h * moe.num_experts
        num_moe_layers = model.num_layers - moe.num_dense_layers
    else:
        expert = shared = num_moe_layers = 0
    embedding = model.vocab_size * h
    lin = model.linear_attention
    linear = 0
    if lin:
        qk, v = lin.num_key_heads * lin.key_head_dim, lin.num_value_heads * lin.value_head_dim
        # in_proj_qkvz, in_proj_ba (gates), the causal convolution over q, k, v, out_proj.
        linear = h * (2 * qk + 2 * v) + h * 2 * lin.num_value_heads + (2 * qk + v) * lin.conv_kernel_dim + v * h
    return ParamCounts(
        linear_attention_per_layer=linear,
        num_linear_layers=lin.num_layers if lin else 0,
        embedding=embedding,
        lm_head=0 if model.tied_embeddings else embedding,
        attention_per_layer=attention,
        dense_ffn_per_layer=dense_ffn,
        expert_per_layer=expert,
        shared_per_layer=shared,
        num_dense_layers=model.num_layers - num_moe_layers,
        num_moe_layers=num_moe_layers,
        num_experts=moe.num_experts if moe else 0,
        experts_per_token=moe.experts_per_token if moe else 0,
    )


@dataclass(frozen=True)
class WeightBytes:
    """Stored weight bytes by tensor class, whole model (before tensor-parallel sharding)."""

    embedding: float
    lm_head: float
    attention_per_layer: float
    dense_ffn_per_layer: float
    expert_per_layer: float
    shared_per_layer: float
    total: float
    linear_attention_per_layer: float = 0.0
    """Bytes resident in memory (a tied LM head counted once)."""


def weight_bytes(model: Model, quant: Quant) -> WeightBytes:
    """Bytes of each tensor class = parameters x bits per weight / 8, with the quant's per-class bits."""
    p = count_params(model)
    bpw = quant.bits_per_weight / BITS_PER_BYTE
    attn_bpw = (quant.attention_bits_per_weight or quant.bits_per_weight) / BITS_PER_BYTE
    expert_bpw = (quant.expert_bits_per_weight or quant.bits_per_weight) / BITS_PER_BYTE
    emb_bpw = min(quant.embedding_bits_per_weight, 16.0) / BITS_PER_BYTE
    head_bpw = min(quant.lm_head_bits_per_weight or quant.embedding_bits_per_weight, 16.0) / BITS_PER_BYTE
    head_params = p.lm_head or p.embedding
    wb = WeightBytes(
        embedding=p.embedding * emb_bpw,
        lm_head=head_params * (head_bpw if p.lm_head else emb_bpw),
        attention_per_layer=p.attention_per_layer * attn_bpw,
        dense_ffn_per_layer=p.dense_ffn_per_layer * bpw,
        expert_per_layer=p.expert_per_layer * expert_bpw,
        shared_per_layer=p.shared_per_layer * bpw,
        total=0.0,
        linear_attention_per_layer=p.linear_attention_per_layer * attn_bpw,
    )
    layers = p.num_dense_layers + p.num_moe_layers
    total = (
        wb.embedding
        + (wb.lm_head if p.lm_head else 0.0)
        + (layers - p.num_linear_layers) * wb.attention_per_layer
        + p.num_linear_layers * wb.linear_attention_per_layer
        + p.num_dense_layers * wb.dense_ffn_per_layer
        + p.num_moe_layers * (p.num_experts * wb.expert_per_layer + wb.shared_per_layer)
    )
    return WeightBytes(**{**wb.__dict__, "total": total})


QUANT_BITS_FIELDS = (
    "bits_per_weight",
    "expert_bits_per_weight",
    "attention_bits_per_weight",
    "embedding_bits_per_weight",
    "lm_head_bits_per_weight",
)


def file_sized_quant(model: Model, named: Quant | None, bits_per_weight: float, **entry: Any) -> Quant:
    """The quant of a weights file known only by its mean bits per weight (file bytes x 8 / parameters) and the format
    it is named as: the named quant's mix of bits by tensor class (experts, attention, embedding, output head) scaled
    by one factor so that `model`'s weights total the file's bytes, and its kernels (compute dtype, unpacking cost,
    format). A file named as no catalog quant is a GGUF at uniform bits with no unpacking cost known. `entry` gives the
    catalog fields (id, name, source, as_of).

    The mix matters for what one token reads: GGUF files keep attention, routers and output heads at more bits than
    the routed experts (gpt-oss GGUF: MXFP4 experts beside Q8_0; llama.cpp's k-quant rules), so uniform bits
    under-count a MoE model's active bytes (the experts are most of the file, a small share of each token's reads).
    """
    if named is None:
        return Quant(bits_per_weight=bits_per_weight, embedding_bits_per_weight=bits_per_weight, format="gguf", **entry)
    file_bytes = bits_per_weight * count_params(model).total / BITS_PER_BYTE
    scale = file_bytes / weight_bytes(model, named).total
    bits = {name: value * scale for name in QUANT_BITS_FIELDS if (value := getattr(named, name)) is not None}
    kept = named.model_dump(include={"compute_dtype", "dequant_rows", "format", "runs_on", "native_on", "recovery", "hardware_source"})
    return Quant(**bits, **kept, **entry)


def kv_elements_per_token_per_layer(model: Model) -> int:
    """Cached elements per token per layer: 2 x KV heads x head dim (MHA/GQA), or latent + rope dims (MLA).

    # Source: MLA caches c_KV and k_R only — DeepSeek-V2 paper (arXiv:2405.04434) section 2.1.3.
    """
    if model.mla:
        return model.mla.kv_lora_rank + model.mla.qk_rope_head_dim
    return 2 * model.num_kv_heads * model.head_dim


def kv_bytes_per_token(model: Model, kv_bytes_per_element: float) -> float:
    """KV bytes one token adds across the softmax-attention layers while inside every window (bytes/token); a
    hybrid model's linear-attention layers add none (`state_bytes_per_sequence`)."""
    return kv_elements_per_token_per_layer(model) * kv_bytes_per_element * model.attention_layers + index_bytes_per_token(model)


INDEX_KEY_BYTES_PER_ELEMENT = 1.0
INDEX_SCALE_BYTES = 4.0
"""A sparse-attention model caches each token's indexer key in fp8 with one fp32 scale per token and layer.
# Source: DeepSeek-V3.2-Exp inference/model.py (Indexer: k_cache float8_e4m3fn, k_scale_cache float32)."""


def index_bytes_per_token(model: Model) -> float:
    """Bytes one token adds to a sparse-attention model's indexer cache, all layers (0 for other models)."""
    sparse = model.sparse_attention
    if sparse is None:
        return 0.0
    return (sparse.index_head_dim * INDEX_KEY_BYTES_PER_ELEMENT + INDEX_SCALE_BYTES) * model.num_layers


STATE_BYTES_PER_ELEMENT = 2.0
"""Linear-attention state is kept in the model's dtype (bf16) whatever the KV-cache dtype.
# Source: vLLM engine arguments, `--mamba-ssm-cache-dtype` (default `auto`: the model's dtype)."""


def state_bytes_per_sequence(model: Model, bytes_per_element: float) -> float:
    """Fixed bytes one sequence holds in a hybrid model's linear-attention layers, whatever its length: the
    recurrent state (value heads x key dim x value dim) and the convolution state, per layer (see LinearAttention)."""
    lin = model.linear_attention
    if lin is None:
        return 0.0
    recurrent = lin.num_value_heads * lin.key_head_dim * lin.value_head_dim
    conv = (lin.conv_kernel_dim - 1) * (2 * lin.num_key_heads * lin.key_head_dim + lin.num_value_heads * lin.value_head_dim)
    return (recurrent + conv) * bytes_per_element * lin.num_layers


def kv_bytes_for_context(model: Model, kv_bytes_per_element: float, context_tokens: float) -> float:
    """KV bytes one sequence of `context_tokens` holds: full layers grow with context, window layers stop at the window."""
    per_layer = kv_elements_per_token_per_layer(model) * kv_bytes_per_element
    window_layers = model.sliding_window.num_layers if model.sliding_window else 0
    window = model.sliding_window.window_tokens if model.sliding_window else 0
    full_layers = model.attention_layers - window_layers
    return (
        per_layer * (full_layers * context_tokens + window_layers * min(context_tokens, window))
        + index_bytes_per_token(model) * context_tokens
    )


@dataclass(frozen=True)
class MemoryPlan:
    """How a deployment's memory divides into weights, runtime overhead and KV cache (bytes)."""

    usable_bytes: float
    """Memory the engine may claim on all devices together."""
    weights_bytes: float
    runtime_bytes: float
    kv_budget_bytes: float
    """What is left for the KV cache (negative when the weights do not fit)."""
    kv_bytes_per_token: float

    @property
    def fits(self) -> bool:
        """Weights and runtime fit with room for at least one token of KV cache."""
        return self.kv_budget_bytes > self.kv_bytes_per_token

    @property
    def shortfall_gb(self) -> float:
        """GB missing for the weights and runtime (0 when it fits)."""
        return max(0.0, bytes_to_gb(-self.kv_budget_bytes)) if not self.fits else 0.0

    @property
    def kv_capacity_tokens(self) -> int:
        """Tokens the KV cache holds at full-attention density."""
        return max(0, int(self.kv_budget_bytes // self.kv_bytes_per_token)) if self.kv_bytes_per_token else 0


def plan_memory(dep: Deployment) -> MemoryPlan:
    """Usable memory = devices x usable GB x engine memory fraction; KV budget = usable - weights - runtime.

    A separate draft model (speculative decoding) shares the devices: its weights join the target's and each token
    keeps its KV in both. An MTP/EAGLE head's one layer is not counted (about 1/num_layers of the weights)."""
    usable = dep.num_devices * dep.hardware.usable_bytes * dep.engine.gpu_memory_utilization
    weights = weight_bytes(dep.model, dep.quant).total
    per_token = kv_bytes_per_token(dep.model, dep.kv_dtype.bytes_per_element)
    draft = dep.speculation.draft if dep.speculation else None
    if draft is not None:
        weights += weight_bytes(draft.model, draft.quant).total
        per_token += kv_bytes_per_token(draft.model, draft.kv_dtype.bytes_per_element)
    runtime = dep.num_devices * dep.engine.runtime_overhead_gb * GB
    return MemoryPlan(
        usable_bytes=usable,
        weights_bytes=weights,
        runtime_bytes=runtime,
        kv_budget_bytes=usable - weights - runtime,
        kv_bytes_per_token=per_token,
    )


@dataclass(frozen=True)
class KvCache:
    """One replica's KV cache in full-attention token slots: the one home of "how many sequences fit".

    `capacity_tokens` = KV budget bytes / KV bytes per token (all layers at full attention). A sequence of
    `context` tokens holds `tokens_held(context)` of those slots: its context padded up to whole blocks of
    `block_tokens` (paged allocation), with sliding-window layers (`window_share` of the layers) holding at most
    `window_tokens`. Works on ints and on numpy arrays of contexts.
    # Source: block allocation, Kwon et al., "PagedAttention" (SOSP 2023) section 4.2; window layers after
    # `kv_bytes_for_context`.
    """

    capacity_tokens: int
    block_tokens: int
    window_tokens: int
    window_share: float
    running_cap: int
    """Most sequences the engine runs together, memory aside."""
    state_tokens: int = 0
    """Token slots each sequence's fixed linear-attention state takes (hybrid models; 0 otherwise)."""

    def tokens_held(self, context_tokens: Any) -> Any:
        """Full-attention token slots a sequence of `context_tokens` occupies (padded to blocks, windows capped),
        its fixed linear-attention state included."""
        padded = -(-context_tokens // self.block_tokens) * self.block_tokens
        if not self.window_tokens:
            return padded + self.state_tokens
        return (1.0 - self.window_share) * padded + self.window_share * np.minimum(padded, self.window_tokens) + self.state_tokens

    def max_sequences(self, context_tokens: int) -> int:
        """Most sequences of `context_tokens` each that the cache and the engine hold at once."""
        held = float(self.tokens_held(context_tokens))
        by_memory = int(self.capacity_tokens // held) if held > 0 else self.running_cap
        return max(0, min(by_memory, self.running_cap))


def kv_cache(dep: Deployment, plan: MemoryPlan | None = None) -> KvCache:
    """The KV cache of one replica of `dep` (empty when the model does not fit)."""
    plan = plan or plan_memory(dep)
    window = dep.model.sliding_window
    return KvCache(
        capacity_tokens=plan.kv_capacity_tokens if plan.fits else 0,
        block_tokens=dep.engine.kv_block_tokens,
        window_tokens=window.window_tokens if window else 0,
        window_share=window.num_layers / dep.model.attention_layers if window else 0.0,
        running_cap=dep.running_seq_cap,
        state_tokens=math.ceil(state_bytes_per_sequence(dep.model, STATE_BYTES_PER_ELEMENT) / plan.kv_bytes_per_token),
    )


def max_concurrent_sequences(dep: Deployment, context_tokens: int, plan: MemoryPlan | None = None) -> int:
    """Most sequences of `context_tokens` each that memory and the engine allow at once (see `KvCache`)."""
    return kv_cache(dep, plan).max_sequences(context_tokens)
