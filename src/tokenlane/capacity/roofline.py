"""Per-operator roofline of one engine step (decode and/or prefill tokens together).

Each operator's time is max(bytes moved / effective bandwidth, FLOPs / effective compute): weights are
read once per step for the whole batch, the KV cache once per sequence, and the matmul FLOPs grow with
the number of tokens in the step. The operator times add up, then the all-reduce and fixed overheads.
# Source: Williams, Waterman, Patterson, "Roofline" (CACM 2009); applied per operator to LLM inference in
# Yuan et al., "LLM Inference Unveiled: Survey and Roofline Model Insights" (arXiv:2402.16363) section 3.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.memory import (
    STATE_BYTES_PER_ELEMENT,
    count_params,
    index_bytes_per_token,
    kv_elements_per_token_per_layer,
    state_bytes_per_sequence,
    weight_bytes,
)
from tokenlane.capacity.moe import expected_distinct_experts, expert_imbalance
from tokenlane.units import GB, TFLOPS, ms_to_s, us_to_s

ACTIVATION_BYTES = 2.0
"""bf16 activations exchanged by tensor-parallel all-reduce, bytes per element."""
LINEAR_FLOPS_PER_STATE_ELEMENT = 6.0
"""Gated DeltaNet recurrence per token and state element: decay, delta-rule rank-1 update (read and write) and the
output read-out, 2 FLOPs each.
# Source: Yang et al., "Gated Delta Networks" (arXiv:2412.06464), the gated delta rule:
# S_t = S_{t-1} a_t (I - b_t k_t k_t^T) + b_t v_t k_t^T and o_t = S_t q_t."""


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
    """(The window fields count capped layers: sliding-window, or sparse attention's top-k; the full fields are also
    what a sparse model's indexer reads and scores.)"""

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
    window = dep.model.attention_window
    seen = context_tokens + 1
    in_window = min(seen, window) if window else 0.0
    return StepLoad(num_seqs, num_seqs, num_seqs * seen, num_seqs * in_window, num_seqs * seen, num_seqs * in_window)


def prefill_load(dep: Deployment, chunk_tokens: float, prior_tokens: float, *, samples: bool) -> StepLoad:
    """A prefill chunk of `chunk_tokens` after `prior_tokens` already cached (causal attention).

    Pairs scored = chunk x prior + chunk x (chunk + 1) / 2 (the quadratic term); window layers see at
    most `window` keys per query. `samples` marks the last chunk, whose final token goes through the LM head.
    """
    window = dep.model.attention_window
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
    """Tensor-parallel all-reduces (two per layer; one per MoE layer under expert parallelism)."""
    all_to_all_s: float
    """Expert parallelism: each MoE layer's dispatch of tokens to their experts' devices and combine back."""
    overhead_s: float
    """Fixed per-step and per-layer engine overhead."""
    distinct_experts: float
    """Expected distinct routed experts per MoE layer this step."""

    @property
    def total_s(self) -> float:
        """Step time, seconds."""
        return (
            self.attention_proj_s
            + self.ffn_s
            + self.experts_s
            + self.lm_head_s
            + self.attention_s
            + self.allreduce_s
            + self.all_to_all_s
            + self.overhead_s
        )


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
    index_bytes_per_token: float
    """Sparse attention: indexer key bytes read per cached token, all layers (per device)."""
    index_flops_per_pair: float
    """Sparse attention: indexer FLOPs per query-key pair, all layers (per device)."""
    linear_state_bytes: float
    """Linear-attention state one sequence reads and writes back per step, all such layers (bytes per device)."""
    linear_flops_per_token: float
    """Linear-attention recurrence FLOPs per token, all such layers (per device)."""
    allreduce_bytes_per_token: float
    allreduce_s_per_byte: float
    allreduce_latency_s: float
    expert_parallel: int
    """Devices the experts are spread over (1: split by tensor parallelism, perfectly balanced)."""
    expert_load_max: float
    """Expert parallelism: the busiest device's expected share of the routed tokens (1 / ep when balanced)."""
    all_to_all_s_per_token: float
    """Expert parallelism: dispatch and combine of one token's copies (`_copies_sent`), every MoE layer, at even load (s)."""
    all_to_all_latency_s: float
    overhead_s: float
    eager_overhead_s: float
    graph_max_tokens: float
    dequant_rows: float
    """Rows at which a matmul reaches half its large-matmul rate (the quant's unpacking cost; see `Quant`)."""
    matvec_max_rows: int
    """Rows up to which the engine's matrix-vector kernels hide that cost (see `Engine`)."""


NETWORK_LATENCY_US = 10.0
"""Latency of one small point-to-point send between servers (a pipeline hop), microseconds (assumption: InfiniBand NDR
port-to-port latency is about 1 us; the send's software path adds the rest)."""
CROSS_SERVER_ALLREDUCE_US = 54.0
"""Extra latency of one small all-reduce when the ring crosses servers, microseconds, above the in-server link's.
# Source: nccl-tests all_reduce_perf on 16 H100 in two servers over InfiniBand, 128 bytes: 61.6 us, where NCCL's own
# cost model printed 25.2 us (github.com/NVIDIA/nccl issue 1453, 2024); 61.6 less the in-server 8 us."""


DISPATCH_BYTES_PER_ELEMENT = 1.0
"""Expert-parallel dispatch sends each token's hidden state to its experts in FP8, combine returns it in BF16.
# Source: DeepEP README (github.com/deepseek-ai/DeepEP): "FP8 dispatching and BF16 combining"."""
ALL_TO_ALL_EFFICIENCY_NVLINK = 0.77
"""Share of the in-server link's one-way bandwidth an expert-parallel all-to-all reaches.
# Source: DeepEP README, normal kernels on H800 (NVLink 400 GB/s both ways, 200 one way): intranode EP8 dispatch
# 153 GB/s and combine 158 GB/s; 155 / 200."""
ALL_TO_ALL_EFFICIENCY_NETWORK = 0.9
"""Share of each device's network bandwidth an all-to-all across servers reaches.
# Source: DeepEP README, normal kernels over CX7 InfiniBand 400 Gb/s (50 GB/s): internode EP16 to EP64 dispatch and
# combine 43 to 58 GB/s of RDMA bandwidth; ~45 / 50."""


def _tensor_group_spans_servers(dep: Deployment) -> bool:
    return dep.servers > 1 and dep.pipeline_stages == 1


def _link_gbps(dep: Deployment) -> float:
    """The ring all-reduce's slowest link: the in-server interconnect, or each device's network share when the
    tensor-parallel group spans servers."""
    hw = dep.hardware
    if _tensor_group_spans_servers(dep) and hw.network_gbps is not None:
        return min(hw.interconnect_gbps, hw.network_gbps)
    return hw.interconnect_gbps


def _expert_servers(dep: Deployment) -> int:
    """Servers the experts are spread over."""
    return max(1, -(-dep.expert_parallel // dep.hardware.max_devices))


def _copies_sent(dep: Deployment) -> float:
    """Copies of a token's hidden state a device sends per MoE layer: one per routed expert on another device within
    a server; across servers one per server holding any of its experts (at most top-k of them, those not its own), the
    receiving server forwarding over its NVLink.
    # Source: DeepEP README (normal kernels: "forwarding data from NVLink domain to RDMA domain"; each token sent once
    # per node) and DeepSeek-V3 technical report (arXiv:2412.19437) section 3.2.2 (node-limited routing)."""
    ep, k = dep.expert_parallel, dep.model.moe.experts_per_token if dep.model.moe else 0
    servers = _expert_servers(dep)
    if servers > 1:
        return min(k, servers) * (servers - 1) / servers
    return k * (ep - 1) / ep


def _all_to_all_latency_us(dep: Deployment) -> float:
    """Fixed time of one dispatch or combine: the in-server link's latency, plus a network hop across servers."""
    return dep.hardware.interconnect_latency_us + (NETWORK_LATENCY_US if _expert_servers(dep) > 1 else 0.0)


def _all_to_all_gbps(dep: Deployment) -> float:
    """One-way bandwidth per device an expert-parallel all-to-all reaches: the in-server link's, or the network's when
    the experts span servers (its slowest hop), GB/s."""
    hw = dep.hardware
    if _expert_servers(dep) > 1 and hw.network_gbps is not None:
        return min(hw.interconnect_gbps * ALL_TO_ALL_EFFICIENCY_NVLINK, hw.network_gbps * ALL_TO_ALL_EFFICIENCY_NETWORK)
    return hw.interconnect_gbps * ALL_TO_ALL_EFFICIENCY_NVLINK


@functools.lru_cache(maxsize=256)
def _coefficients(dep: Deployment) -> _Coefficients:
    hw, model, engine, n = dep.hardware, dep.model, dep.engine, dep.tensor_parallel
    params = count_params(model)
    wbytes = weight_bytes(model, dep.quant)
    layers = model.num_layers
    lin = model.linear_attention
    linear_layers = lin.num_layers if lin else 0
    softmax_layers = layers - linear_layers
    window_layers = model.capped_layers
    sparse = model.sparse_attention
    if model.mla:
        m = model.mla
        latent = m.kv_lora_rank + m.qk_rope_head_dim
        # Absorbed MLA decode: scores over (latent + rope) dims, values over the latent, per head.
        attn_flops_pair = model.num_attention_heads * 2.0 * (latent + m.kv_lora_rank)
    else:
        attn_flops_pair = 2.0 * 2.0 * model.num_attention_heads * model.head_dim
    ep, groups = dep.expert_parallel, dep.dp_attention
    attn_n = n // groups  # devices sharing one attention group's weights (all of them without attention data parallelism)
    moe_layers = count_params(model).num_moe_layers
    # two all-reduces a layer; a MoE layer's second is the all-to-all's combine under expert parallelism
    allreduce_layers = 2.0 * layers - (moe_layers if ep > 1 else 0)
    attn_ring = 2.0 * (attn_n - 1) / attn_n if attn_n > 1 else 0.0
    bandwidth = hw.memory_bandwidth_gbps * GB * hw.memory_efficiency * engine.bandwidth_utilization
    compute = hw.tflops_for(dep.compute_dtype) * TFLOPS * engine.compute_utilization
    return _scaled(
        _Coefficients(
            bytes_per_s=bandwidth,
            flops_per_s=compute,
            attn_flops_per_s=hw.bf16_tflops * TFLOPS * (engine.attention_utilization or engine.compute_utilization),
            num_layers=layers,
            full_layers=softmax_layers - window_layers,
            window_layers=window_layers,
            attn_proj_bytes=(wbytes.attention_per_layer * softmax_layers + wbytes.linear_attention_per_layer * linear_layers) / attn_n,
            attn_proj_flops_per_token=2.0 * params.mixing / n,
            ffn_bytes=(params.num_dense_layers * wbytes.dense_ffn_per_layer + params.num_moe_layers * wbytes.shared_per_layer) / n,
            ffn_flops_per_token=2.0
            * (params.num_dense_layers * params.dense_ffn_per_layer + params.num_moe_layers * params.shared_per_layer)
            / n,
            expert_bytes=wbytes.expert_per_layer * params.num_moe_layers / (ep if ep > 1 else n),
            expert_flops_per_token=2.0 * params.expert_per_layer * params.experts_per_token * params.num_moe_layers / (ep if ep > 1 else n),
            num_moe_layers=params.num_moe_layers,
            num_experts=params.num_experts,
            experts_per_token=params.experts_per_token,
            routing_skew=dep.routing_skew,
            lm_head_bytes=wbytes.lm_head / n,
            lm_head_flops_per_logit=2.0 * (params.lm_head or params.embedding) / n,
            kv_bytes_per_token_layer=kv_elements_per_token_per_layer(model) * dep.kv_dtype.bytes_per_element / n,
            attn_flops_per_pair_layer=attn_flops_pair / n,
            index_bytes_per_token=index_bytes_per_token(model) / n,
            index_flops_per_pair=2.0 * sparse.index_n_heads * sparse.index_head_dim * layers / n if sparse else 0.0,
            linear_state_bytes=2.0 * state_bytes_per_sequence(model, STATE_BYTES_PER_ELEMENT) / n,
            linear_flops_per_token=LINEAR_FLOPS_PER_STATE_ELEMENT
            * linear_layers
            * (lin.num_value_heads * lin.key_head_dim * lin.value_head_dim)
            / n
            if lin
            else 0.0,
            allreduce_bytes_per_token=allreduce_layers * model.hidden_size * ACTIVATION_BYTES / groups,
            allreduce_s_per_byte=attn_ring / (_link_gbps(dep) * GB) if attn_n > 1 else 0.0,
            allreduce_latency_s=allreduce_layers
            * us_to_s(hw.interconnect_latency_us + (CROSS_SERVER_ALLREDUCE_US if _tensor_group_spans_servers(dep) else 0.0))
            if attn_n > 1
            else 0.0,
            expert_parallel=ep,
            expert_load_max=expert_imbalance(params.num_experts, ep, dep.routing_skew) / ep if ep > 1 else 0.0,
            all_to_all_s_per_token=moe_layers
            * model.hidden_size
            * (DISPATCH_BYTES_PER_ELEMENT + ACTIVATION_BYTES)
            * _copies_sent(dep)
            / (_all_to_all_gbps(dep) * GB)
            if ep > 1
            else 0.0,
            all_to_all_latency_s=2.0 * moe_layers * us_to_s(_all_to_all_latency_us(dep)) if ep > 1 else 0.0,
            overhead_s=ms_to_s(engine.step_overhead_ms)
            + layers * us_to_s(engine.layer_overhead_us)
            + params.num_moe_layers * us_to_s(engine.moe_layer_overhead_us),
            eager_overhead_s=layers * us_to_s(engine.eager_layer_overhead_us),
            graph_max_tokens=float("inf") if engine.graph_max_tokens is None else float(engine.graph_max_tokens),
            dequant_rows=dep.quant.dequant_rows,
            matvec_max_rows=engine.matvec_max_rows,
        ),
        dep.speed_scale,
    )


def _scaled(c: _Coefficients, speed: float) -> _Coefficients:
    """`c` for a box that runs every step `speed` times as fast as modelled: rates times it, fixed times over it
    (the one place `Deployment.speed_scale` acts)."""
    if speed == 1.0:
        return c
    return dataclasses.replace(
        c,
        bytes_per_s=c.bytes_per_s * speed,
        flops_per_s=c.flops_per_s * speed,
        attn_flops_per_s=c.attn_flops_per_s * speed,
        allreduce_s_per_byte=c.allreduce_s_per_byte / speed,
        allreduce_latency_s=c.allreduce_latency_s / speed,
        all_to_all_s_per_token=c.all_to_all_s_per_token / speed,
        all_to_all_latency_s=c.all_to_all_latency_s / speed,
        overhead_s=c.overhead_s / speed,
        eager_overhead_s=c.eager_overhead_s / speed,
    )


Scalar = float | np.ndarray
"""A step's token count and what follows from it: one number, or an array of them (a whole `StepTable` at once)."""


def _larger(a: Scalar, b: Scalar) -> Scalar:
    """max(a, b), element by element for arrays (plain `max` for numbers: the simulator's hot loop)."""
    return np.maximum(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else max(a, b)


def _rate_share(c: _Coefficients, rows: Scalar) -> Scalar:
    """Share of the large-matmul rate a matmul of `rows` rows reaches: rows / (rows + dequant_rows), or 1 for formats
    with no unpacking cost and for the few rows the engine multiplies with matrix-vector kernels."""
    if not c.dequant_rows:
        return 1.0
    if isinstance(rows, np.ndarray):
        return np.where(rows <= c.matvec_max_rows, 1.0, rows / (rows + c.dequant_rows))
    return 1.0 if rows <= c.matvec_max_rows else rows / (rows + c.dequant_rows)


def _token_terms(c: _Coefficients, t: Scalar) -> tuple[Scalar, Scalar, Scalar, Scalar, Scalar, Scalar]:
    """(attention projections, FFN, routed experts, all-reduce, all-to-all, distinct experts) of a step with `t` query
    tokens (t >= 1; an array gives an array of each)."""
    bw, fl = c.bytes_per_s, c.flops_per_s
    dense_fl = fl * _rate_share(c, t)
    attn_proj = _larger(c.attn_proj_bytes / bw, c.attn_proj_flops_per_token * t / dense_fl)
    ffn = _larger(c.ffn_bytes / bw, c.ffn_flops_per_token * t / dense_fl) if c.ffn_bytes else 0.0 * t
    distinct = expected_distinct_experts(c.num_experts, c.experts_per_token, t, routing_skew=c.routing_skew) if c.num_experts else 0.0 * t
    experts = all_to_all = 0.0 * t
    if c.num_experts:
        rows_per_expert = t * c.experts_per_token / distinct  # the tokens each touched expert multiplies
        expert_fl = fl * _rate_share(c, rows_per_expert)
        experts = _larger(distinct * c.expert_bytes / bw, c.expert_flops_per_token * t / expert_fl)
        if c.expert_parallel > 1:  # the busiest device's experts and tokens set the pace
            busiest = busiest_device_load(t * c.experts_per_token, c.expert_load_max, c.expert_parallel)
            experts = experts * busiest
            all_to_all = c.all_to_all_s_per_token * t / c.expert_parallel * busiest + c.all_to_all_latency_s
    allreduce = (c.allreduce_bytes_per_token * t * c.allreduce_s_per_byte + c.allreduce_latency_s) if c.allreduce_latency_s else 0.0 * t
    return attn_proj, ffn, experts, allreduce, all_to_all, distinct


def busiest_device_load(routed: Scalar, load_max: float, devices: int) -> Scalar:
    """The busiest of `devices` expert-parallel devices' routed tokens over the mean, for `routed` (> 0) token-expert
    pairs a step: its expected share `load_max` of the pairs plus the binomial spread of a finite batch (the expected
    maximum of `devices` counts, about sqrt(2 ln devices) standard deviations above the mean), at most every pair.
    # Source: the maximum of n Gaussians, E[max] ~ sigma sqrt(2 ln n) (e.g. Kamath, "Bounds on the expectation of the
    # maximum of samples from a Gaussian", 2015); binomial counts with p = load_max."""
    mean = routed / devices
    busiest = routed * load_max + np.sqrt(2.0 * math.log(devices) * routed * load_max * (1.0 - load_max))
    return np.minimum(np.maximum(busiest, mean), routed) / mean


def _overhead_s(c: _Coefficients, num_tokens: Scalar) -> Scalar:
    """Fixed costs of a step of `num_tokens` tokens: per step, per layer and per MoE layer, plus the launches a captured
    graph would have saved when the step carries more tokens than the engine captures."""
    if isinstance(num_tokens, np.ndarray):
        return c.overhead_s + np.where(num_tokens > c.graph_max_tokens, c.eager_overhead_s, 0.0)
    return c.overhead_s + (c.eager_overhead_s if num_tokens > c.graph_max_tokens else 0.0)


def _lm_head_s(c: _Coefficients, num_logits: Scalar) -> Scalar:
    """The output projection for `num_logits` (>= 1 in an array) sampled rows."""
    if not isinstance(num_logits, np.ndarray) and not num_logits:
        return 0.0
    return _larger(c.lm_head_bytes / c.bytes_per_s, c.lm_head_flops_per_logit * num_logits / c.flops_per_s)


def _linear_s(c: _Coefficients, num_tokens: Scalar, num_logits: Scalar) -> Scalar:
    """Linear-attention layers: max(state read and written back by each sampling sequence / B_eff, recurrence FLOPs
    of every token / F_eff). Sampling sequences stand for the sequences in the step (a mid-prompt chunk's one state
    read is left out: its tokens' FLOPs dominate)."""
    if not c.linear_flops_per_token:
        return 0.0
    return _larger(num_logits * c.linear_state_bytes / c.bytes_per_s, num_tokens * c.linear_flops_per_token / c.attn_flops_per_s)


def _attention_s(c: _Coefficients, kv_full: float, kv_window: float, pairs_full: float, pairs_window: float) -> float:
    """Softmax attention: max(KV bytes read / B_eff, pair FLOPs / F_eff), capped layers at their window or top-k; a
    sparse model's indexer reads every cached token's index key and scores every pair (fp8, at the bf16 rate)."""
    kv_tokens = c.full_layers * kv_full + c.window_layers * kv_window
    pairs = c.full_layers * pairs_full + c.window_layers * pairs_window
    main = max(kv_tokens * c.kv_bytes_per_token_layer / c.bytes_per_s, pairs * c.attn_flops_per_pair_layer / c.attn_flops_per_s)
    if not c.index_bytes_per_token:
        return main
    return main + max(kv_full * c.index_bytes_per_token / c.bytes_per_s, pairs_full * c.index_flops_per_pair / c.attn_flops_per_s)


def compute_step_time(dep: Deployment, load: StepLoad) -> StepTime:
    """Time of one engine step processing `load`, by operator (seconds).

    Weights: max(bytes / B_eff, 2 x params x tokens / F_eff) per operator class, bytes split over N devices.
    Routed experts: distinct experts touched (see `expected_distinct_experts`) x expert bytes.
    Attention: max(KV bytes read / B_eff, pair FLOPs / F_eff) with window layers capped at the window.
    All-reduce: two per layer of tokens x hidden x 2 bytes, ring cost 2(N-1)/N x bytes / link bandwidth + latency.
    # Source: ring all-reduce cost, Patarasuk & Yuan, J. Parallel Distrib. Comput. 69(2), 2009.
    """
    c = _coefficients(dep)
    if load.num_tokens <= 0:
        return StepTime(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    attn_proj, ffn, experts, allreduce, all_to_all, distinct = _token_terms(c, load.num_tokens)
    lm_head = _lm_head_s(c, load.num_logits)
    attention = _attention_s(c, load.kv_tokens_full, load.kv_tokens_window, load.pairs_full, load.pairs_window) + _linear_s(
        c, load.num_tokens, load.num_logits
    )
    return StepTime(attn_proj, ffn, experts, lm_head, attention, allreduce, all_to_all, _overhead_s(c, load.num_tokens), distinct)


def step_seconds(dep: Deployment, load: StepLoad) -> float:
    """Shortcut for `compute_step_time(dep, load).total_s`."""
    return compute_step_time(dep, load).total_s


class StepTable:
    """`step_seconds` for a simulator's hot loop: the terms that depend only on the step's token count are tabulated
    once per deployment (0 .. `max_tokens` tokens); the LM head and attention terms are evaluated directly.

    `seconds(...)` equals `step_seconds(dep, StepLoad(...))` (checked by a test); loads beyond the table fall back
    to the formula.
    """

    def __init__(self, dep: Deployment, max_tokens: int) -> None:
        self._c = c = _coefficients(dep)
        self.max_tokens = max_tokens
        t = np.arange(1, max_tokens + 1, dtype=float)  # every token count at once
        per_tokens = sum(_token_terms(c, t)[:5]) + _overhead_s(c, t)
        self._per_tokens: list[float] = [0.0, *np.broadcast_to(per_tokens, t.shape).tolist()]
        self._decode: list[float] = [0.0, *np.broadcast_to(per_tokens + _lm_head_s(c, t) + _linear_s(c, t, t), t.shape).tolist()]
        # A decode step reads and scores the same keys (kv == pairs), so its attention term is linear in them.
        self._s_per_kv_token = max(c.kv_bytes_per_token_layer / c.bytes_per_s, c.attn_flops_per_pair_layer / c.attn_flops_per_s)
        self._s_per_index_token = max(c.index_bytes_per_token / c.bytes_per_s, c.index_flops_per_pair / c.attn_flops_per_s)
        self._full_layers, self._window_layers = c.full_layers, c.window_layers

    def seconds(
        self, num_tokens: float, num_logits: float, kv_full: float, kv_window: float, pairs_full: float, pairs_window: float
    ) -> float:
        """Step time, seconds, of a step with these load terms (see `StepLoad`)."""
        if num_tokens <= 0:
            return 0.0
        c = self._c
        t = int(num_tokens)
        base = (
            self._per_tokens[t]
            if t == num_tokens and t <= self.max_tokens
            else float(sum(_token_terms(c, num_tokens)[:5]) + _overhead_s(c, num_tokens))
        )
        return (
            base
            + _lm_head_s(c, num_logits)
            + _linear_s(c, num_tokens, num_logits)
            + _attention_s(c, kv_full, kv_window, pairs_full, pairs_window)
        )

    def decode_seconds(self, num_seqs: int, kv_full: float, kv_window: float) -> float:
        """Time of a pure decode step of `num_seqs` sequences reading `kv_full` / `kv_window` keys per full / window
        layer: equals `seconds(n, n, kv_full, kv_window, kv_full, kv_window)`."""
        if num_seqs > self.max_tokens:
            return self.seconds(num_seqs, num_seqs, kv_full, kv_window, kv_full, kv_window)
        attention = self._s_per_kv_token * (self._full_layers * kv_full + self._window_layers * kv_window)
        return self._decode[num_seqs] + attention + self._s_per_index_token * kv_full

    def step_seconds(self, num_seqs: int, kv_full: float, kv_window: float, chunk_load: tuple[float, ...]) -> float:
        """Time of a step of `num_seqs` decoders (their keys `kv_full` / `kv_window`) plus prefill chunks whose load
        terms are `chunk_load` = (tokens, logits, kv full, kv window, pairs full, pairs window)."""
        t, logits, kf, kw, pf, pw = chunk_load
        return self.seconds(num_seqs + t, num_seqs + logits, kv_full + kf, kv_window + kw, kv_full + pf, kv_window + pw)

    def load_seconds(self, load: StepLoad) -> float:
        """Step time, seconds, of a `StepLoad`."""
        return self.seconds(
            load.num_tokens, load.num_logits, load.kv_tokens_full, load.kv_tokens_window, load.pairs_full, load.pairs_window
        )


class PipelineStepTable:
    """Step times of a replica split into P pipeline stages, one per server (tensor parallel inside each).

    The running batch is split into P microbatches, one per stage at a time (vLLM's virtual engines), so each
    sequence gains one token per pass of its microbatch through every stage: the whole model's time on one
    stage's devices for ceil(n / P) sequences, plus P hops of the microbatch's activations over the network. A
    prefill chunk travels the pipeline as part of one microbatch. At one stream the stages take turns (no gain);
    at a large batch P servers decode P microbatches at once.
    # Source: vLLM distributed serving docs (tensor parallel inside a node, pipeline parallel across nodes);
    # GPipe, Huang et al., NeurIPS 2019, for microbatch pipelining.
    """

    def __init__(self, inner: StepTable, dep: Deployment) -> None:
        self._inner = inner
        self._stages = dep.pipeline_stages
        network = dep.hardware.network_gbps or dep.hardware.interconnect_gbps
        self._hop_s_per_token = dep.model.hidden_size * ACTIVATION_BYTES / (network * GB)
        self._hop_latency_s = us_to_s(NETWORK_LATENCY_US)

    def _hops(self, tokens: float) -> float:
        return self._stages * (tokens * self._hop_s_per_token + self._hop_latency_s)

    def decode_seconds(self, num_seqs: int, kv_full: float, kv_window: float) -> float:
        if num_seqs <= 0:
            return 0.0
        micro = -(-num_seqs // self._stages)
        share = micro / num_seqs
        return self._inner.decode_seconds(micro, kv_full * share, kv_window * share) + self._hops(micro)

    def step_seconds(self, num_seqs: int, kv_full: float, kv_window: float, chunk_load: tuple[float, ...]) -> float:
        micro = -(-num_seqs // self._stages) if num_seqs > 0 else 0
        share = micro / num_seqs if num_seqs > 0 else 0.0
        inner = self._inner.step_seconds(micro, kv_full * share, kv_window * share, chunk_load)
        return inner + self._hops(micro + chunk_load[0])
