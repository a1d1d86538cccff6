"""Per-operator roofline of one engine step (decode and/or prefill tokens together).

Each operator's time is max(bytes moved / effective bandwidth, FLOPs / effective compute): weights are
read once per step for the whole batch, the KV cache once per sequence, and the matmul FLOPs grow with
the number of tokens in the step. The operator times add up, then the all-reduce and fixed overheads.
# Source: Williams, Waterman, Patterson, "Roofline" (CACM 2009); applied per operator to LLM inference in
# Yuan et al., "LLM Inference Unveiled: Survey and Roofline Model Insights" (arXiv:2402.16363) section 3.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.memory import count_params, kv_elements_per_token_per_layer, weight_bytes
from tokenlane.capacity.moe import expected_distinct_experts
from tokenlane.units import GB, TFLOPS, ms_to_s, us_to_s

ACTIVATION_BYTES = 2.0
"""bf16 activations exchanged by tensor-parallel all-reduce, bytes per element."""


@dataclass(frozen=True)
class StepLoad:
    """What one engine step processes.

    `num_tokens` query tokens in total (one per decoding sequence plus prefill-chunk tokens);
    `num_logits` rows through the LM head (one per sequence that samples this step);
    `kv_tokens_full` / `kv_tokens_window`: KV entries read per full-attention / sliding-window layer,
    summed over sequences; `pairs_full` / `pairs_window`: query-key pairs scored per such layer.
    """

    num_tokens: float
    num_logits: float
    kv_tokens_full: float
    kv_tokens_window: float
    pairs_full: float
    pairs_window: float

    def __add__(self, other: StepLoad) -> StepLoad:
        return StepLoad(
            self.num_tokens + other.num_tokens,
            self.num_logits + other.num_logits,
            self.kv_tokens_full + other.kv_tokens_full,
            self.kv_tokens_window + other.kv_tokens_window,
            self.pairs_full + other.pairs_full,
            self.pairs_window + other.pairs_window,
        )


EMPTY_LOAD = StepLoad(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def decode_load(dep: Deployment, num_seqs: float, context_tokens: float) -> StepLoad:
    """`num_seqs` sequences each decoding one token after `context_tokens` cached tokens."""
    window = dep.model.sliding_window.window_tokens if dep.model.sliding_window else 0
    seen = context_tokens + 1
    in_window = min(seen, window) if window else 0.0
    return StepLoad(num_seqs, num_seqs, num_seqs * seen, num_seqs * in_window, num_seqs * seen, num_seqs * in_window)


def prefill_load(dep: Deployment, chunk_tokens: float, prior_tokens: float, *, samples: bool) -> StepLoad:
    """A prefill chunk of `chunk_tokens` after `prior_tokens` already cached (causal attention).

    Pairs scored = chunk x prior + chunk x (chunk + 1) / 2 (the quadratic term); window layers see at
    most `window` keys per query. `samples` marks the last chunk, whose final token goes through the LM head.
    """
    window = dep.model.sliding_window.window_tokens if dep.model.sliding_window else 0
    seen = prior_tokens + chunk_tokens
    pairs = chunk_tokens * prior_tokens + chunk_tokens * (chunk_tokens + 1) / 2
    pairs_window = min(pairs, chunk_tokens * window) if window else 0.0
    kv_window = min(seen, window) if window else 0.0
    return StepLoad(chunk_tokens, 1.0 if samples else 0.0, seen, kv_window, pairs, pairs_window)


@dataclass(frozen=True)
class StepTime:
    """Time of one engine step by operator, seconds."""

    attention_proj_s: float
    """Q/K/V/O (or MLA) projection matmuls."""
    ffn_s: float
    """Dense FFN layers, shared experts and routers."""
    experts_s: float
    """Routed experts (distinct experts touched x expert bytes)."""
    lm_head_s: float
    """Output projection."""
    attention_s: float
    """Attention over the KV cache (reading K/V, scoring pairs)."""
    allreduce_s: float
    """Tensor-parallel all-reduces (two per layer)."""
    overhead_s: float
    """Fixed per-step and per-layer engine overhead."""
    distinct_experts: float
    """Expected distinct routed experts per MoE layer this step."""

    @property
    def total_s(self) -> float:
        """Step time, seconds."""
        return self.attention_proj_s + self.ffn_s + self.experts_s + self.lm_head_s + self.attention_s + self.allreduce_s + self.overhead_s


@dataclass(frozen=True)
class _Coefficients:
    """Per-deployment constants of the step-time formula, precomputed once (bytes and FLOPs per device)."""

    bytes_per_s: float
    flops_per_s: float
    attn_flops_per_s: float
    num_layers: int
    full_layers: int
    window_layers: int
    attn_proj_bytes: float
    attn_proj_flops_per_token: float
    ffn_bytes: float
    ffn_flops_per_token: float
    expert_bytes: float
    expert_flops_per_token: float
    num_moe_layers: int
    num_experts: int
    experts_per_token: int
    routing_skew: float
    lm_head_bytes: float
    lm_head_flops_per_logit: float
    kv_bytes_per_token_layer: float
    attn_flops_per_pair_layer: float
    allreduce_bytes_per_token: float
    allreduce_s_per_byte: float
    allreduce_latency_s: float
    overhead_s: float


@functools.lru_cache(maxsize=256)
def _coefficients(dep: Deployment) -> _Coefficients:
    hw, model, engine, n = dep.hardware, dep.model, dep.engine, dep.num_devices
    params = count_params(model)
    wbytes = weight_bytes(model, dep.quant)
    layers = model.num_layers
    window_layers = model.sliding_window.num_layers if model.sliding_window else 0
    if model.mla:
        m = model.mla
        latent = m.kv_lora_rank + m.qk_rope_head_dim
        # Absorbed MLA decode: scores over (latent + rope) dims, values over the latent, per head.
        attn_flops_pair = model.num_attention_heads * 2.0 * (latent + m.kv_lora_rank)
    else:
        attn_flops_pair = 2.0 * 2.0 * model.num_attention_heads * model.head_dim
    bandwidth = hw.memory_bandwidth_gbps * GB * hw.memory_efficiency * engine.bandwidth_utilization
    compute = hw.tflops_for(dep.compute_dtype) * TFLOPS * engine.compute_utilization
    ring = 2.0 * (n - 1) / n if n > 1 else 0.0
    return _Coefficients(
        bytes_per_s=bandwidth,
        flops_per_s=compute,
        attn_flops_per_s=hw.bf16_tflops * TFLOPS * engine.compute_utilization,
        num_layers=layers,
        full_layers=layers - window_layers,
        window_layers=window_layers,
        attn_proj_bytes=wbytes.attention_per_layer * layers / n,
        attn_proj_flops_per_token=2.0 * params.attention_per_layer * layers / n,
        ffn_bytes=(params.num_dense_layers * wbytes.dense_ffn_per_layer + params.num_moe_layers * wbytes.shared_per_layer) / n,
        ffn_flops_per_token=2.0
        * (params.num_dense_layers * params.dense_ffn_per_layer + params.num_moe_layers * params.shared_per_layer)
        / n,
        expert_bytes=wbytes.expert_per_layer * params.num_moe_layers / n,
        expert_flops_per_token=2.0 * params.expert_per_layer * params.experts_per_token * params.num_moe_layers / n,
        num_moe_layers=params.num_moe_layers,
        num_experts=params.num_experts,
        experts_per_token=params.experts_per_token,
        routing_skew=dep.routing_skew,
        lm_head_bytes=wbytes.lm_head / n,
        lm_head_flops_per_logit=2.0 * (params.lm_head or params.embedding) / n,
        kv_bytes_per_token_layer=kv_elements_per_token_per_layer(model) * dep.kv_dtype.bytes_per_element / n,
        attn_flops_per_pair_layer=attn_flops_pair / n,
        allreduce_bytes_per_token=2.0 * layers * model.hidden_size * ACTIVATION_BYTES,
        allreduce_s_per_byte=ring / (hw.interconnect_gbps * GB) if n > 1 else 0.0,
        allreduce_latency_s=2.0 * layers * us_to_s(hw.interconnect_latency_us) if n > 1 else 0.0,
        overhead_s=ms_to_s(engine.step_overhead_ms) + layers * us_to_s(engine.layer_overhead_us),
    )


def compute_step_time(dep: Deployment, load: StepLoad) -> StepTime:
    """Time of one engine step processing `load`, by operator (seconds).

    Weights: max(bytes / B_eff, 2 x params x tokens / F_eff) per operator class, bytes split over N devices.
    Routed experts: distinct experts touched (see `expected_distinct_experts`) x expert bytes.
    Attention: max(KV bytes read / B_eff, pair FLOPs / F_eff) with window layers capped at the window.
    All-reduce: two per layer of tokens x hidden x 2 bytes, ring cost 2(N-1)/N x bytes / link bandwidth + latency.
    # Source: ring all-reduce cost, Patarasuk & Yuan, J. Parallel Distrib. Comput. 69(2), 2009.
    """
    c = _coefficients(dep)
    t = load.num_tokens
    bw, fl = c.bytes_per_s, c.flops_per_s
    if t <= 0:
        return StepTime(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    attn_proj = max(c.attn_proj_bytes / bw, c.attn_proj_flops_per_token * t / fl)
    ffn = max(c.ffn_bytes / bw, c.ffn_flops_per_token * t / fl) if c.ffn_bytes else 0.0
    distinct = expected_distinct_experts(c.num_experts, c.experts_per_token, t, routing_skew=c.routing_skew) if c.num_experts else 0.0
    experts = max(distinct * c.expert_bytes / bw, c.expert_flops_per_token * t / fl) if c.num_experts else 0.0
    lm_head = max(c.lm_head_bytes / bw, c.lm_head_flops_per_logit * load.num_logits / fl) if load.num_logits else 0.0
    kv_tokens = c.full_layers * load.kv_tokens_full + c.window_layers * load.kv_tokens_window
    pairs = c.full_layers * load.pairs_full + c.window_layers * load.pairs_window
    attention = max(kv_tokens * c.kv_bytes_per_token_layer / bw, pairs * c.attn_flops_per_pair_layer / c.attn_flops_per_s)
    allreduce = (c.allreduce_bytes_per_token * t * c.allreduce_s_per_byte + c.allreduce_latency_s) if c.allreduce_latency_s else 0.0
    return StepTime(attn_proj, ffn, experts, lm_head, attention, allreduce, c.overhead_s, distinct)


def step_seconds(dep: Deployment, load: StepLoad) -> float:
    """Shortcut for `compute_step_time(dep, load).total_s`."""
    return compute_step_time(dep, load).total_s
