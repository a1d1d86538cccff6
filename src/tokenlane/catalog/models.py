"""Pydantic models of catalog entries: hardware, models, quantization formats, KV dtypes, engines.

Every entry carries a stable lowercase-hyphen `id`, a `source` and an `as_of` date. Units are in
field names and docstrings (GB = 1e9 bytes, TFLOP/s = 1e12 FLOP/s, GB/s = 1e9 bytes/s).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from tokenlane.units import GIB

EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
PositiveInt = Annotated[int, Field(gt=0)]
Percent = Annotated[float, Field(ge=0, le=100)]

Vendor = Literal["nvidia", "amd", "apple"]
Arch = Literal["ampere", "ada", "hopper", "blackwell", "cdna3", "cdna4", "rdna3.5", "apple-m1", "apple-m2", "apple-m3", "apple-m4"]
"""A device generation: what decides which kernels and number formats run on it (NVIDIA Ampere sm_80/86, Ada sm_89,
Hopper sm_90, Blackwell sm_100/120/121; AMD CDNA 3 (MI300), CDNA 4 (MI355), RDNA 3.5 (Strix Halo's gfx1151); Apple
M-series)."""
ARCH_VENDOR: dict[str, str] = {
    "ampere": "nvidia",
    "ada": "nvidia",
    "hopper": "nvidia",
    "blackwell": "nvidia",
    "cdna3": "amd",
    "cdna4": "amd",
    "rdna3.5": "amd",
    "apple-m1": "apple",
    "apple-m2": "apple",
    "apple-m3": "apple",
    "apple-m4": "apple",
}
"""Whose each generation is."""
QuantFormat = Literal["native", "fp8", "int8", "gguf", "awq", "gptq", "mx", "nv", "mlx"]
"""A weight format family: native (bf16/fp16 checkpoints), fp8 and int8 (W8A8 checkpoints), gguf (llama.cpp files),
awq and gptq (4-bit weight-only), mx (OCP MXFP4 checkpoints), nv (NVFP4), mlx (MLX's own quantized arrays)."""


class Entry(BaseModel):
    """Fields every catalog entry has."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    id: EntryId
    """Stable lowercase id, used on the command line and in scenarios."""
    name: str
    """Human-readable name."""
    source: str = Field(min_length=3)
    """Where the numbers come from (URL or document)."""
    as_of: dt.date
    """When the source was read."""
    notes: str = ""
    """Caveats, in words."""

    def __hash__(self) -> int:
        """By value, mappings included (scores by benchmark, recovery by size class), so deployments of equal entries
        hash alike in every process."""
        return hash(_frozen(self.__dict__))


def _frozen(value: object) -> object:
    """A hashable copy: mappings as sorted item tuples, lists as tuples."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


class CloudPrice(BaseModel):
    """One provider's posted price for renting one device for an hour."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    provider: str = Field(min_length=1)
    """Who rents it (Lambda, RunPod, Azure, ...)."""
    usd_per_gpu_hour: Positive
    """Posted price per device-hour, USD."""
    term: Literal["on_demand", "reserved"] = "on_demand"
    """on_demand: no commitment; reserved: a term commitment (its length in `source`)."""
    source: str = Field(min_length=3)
    """Where the price was read."""
    as_of: dt.date
    """When it was read."""


PriceBasis = Literal["typical", "low", "reserved"]
"""Which quote a cloud_gpu option pays: typical = median on-demand quote, low = lowest on-demand quote, reserved =
median reserved quote."""


class EmbodiedCarbon(BaseModel):
    """A device's manufacturing footprint (cradle to gate), from a published product carbon footprint."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kgco2e_per_device: NonNegative
    source: str = Field(min_length=3)
    as_of: dt.date


class Hardware(Entry):
    """One accelerator (or unified-memory machine), or a server of several identical ones.

    Per-device figures are for ONE device; `num_devices` says how many the unit holds.
    """

    num_devices: PositiveInt = 1
    """Accelerators in one purchasable unit (8 for an HGX server)."""
    max_devices: PositiveInt = 1
    """Most devices of this kind one server can hold for tensor parallelism (`--gpus`)."""
    memory_gib: Positive
    """Memory per device, GiB (2^30 bytes): what vendors sell as "80 GB" of HBM or "128 GB" of unified memory
    (JEDEC units; nvidia-smi shows an H100's 81,559 MiB)."""
    usable_memory_gib: Positive
    """Memory per device the model and KV cache may use, GiB (after OS/driver reservations)."""
    memory_setting: str = ""
    """On unified memory, the OS or driver setting `usable_memory_gib` assumes and where it comes from (printed
    beside every fit on this hardware)."""
    memory_bandwidth_gbps: Positive
    """Spec memory bandwidth per device, GB/s."""
    memory_efficiency: Fraction
    """Fraction of spec bandwidth a streaming kernel reaches (measured copy/triad bandwidth / spec)."""
    bf16_tflops: Positive
    """Dense bf16/fp16 matrix throughput per device, TFLOP/s (no sparsity)."""
    fp8_tflops: Positive | None = None
    """Dense fp8 matrix throughput per device, TFLOP/s; None where the device has no fp8 units."""
    int8_tops: Positive | None = None
    """Dense int8 matrix throughput per device, TOP/s."""
    interconnect_gbps: Positive
    """Device-to-device bandwidth per direction for all-reduce, GB/s (NVLink, PCIe, network)."""
    interconnect_latency_us: NonNegative = 5.0
    """Latency of one small collective, microseconds."""
    network_gbps: Positive | None = None
    """Per-device bandwidth to other servers (its InfiniBand/RoCE NIC), GB/s, for tensor parallelism across servers;
    None: a deployment stays within one server."""
    power_w: Positive
    """Power draw per device under load including its share of the host, W."""
    embodied: EmbodiedCarbon | None = None
    """Its published manufacturing footprint; None: the power profile of its class gives an assumed one."""
    purchase_usd: NonNegative | None = None
    """Purchase price of one device including its share of the host, USD; None if not sold."""
    cloud_prices: tuple[CloudPrice, ...] = ()
    """Posted rental prices per device-hour from named providers, each sourced and dated; empty where nobody rents
    it. `rental_usd_per_gpu_hour` turns them into the one rate cost uses."""
    memory_kind: Literal["hbm", "gddr", "unified"]
    """HBM data-centre GPU, GDDR discrete card, or unified CPU/GPU memory."""
    vendor: Vendor
    """Who makes the accelerator."""
    arch: Arch
    """Its device generation: which engines and weight formats run on it (`catalog.support`)."""

    @model_validator(mode="after")
    def _check(self) -> Hardware:
        if ARCH_VENDOR[self.arch] != self.vendor:
            raise ValueError(f"arch {self.arch} is not a {self.vendor} generation")
        if self.usable_memory_gib > self.memory_gib:
            raise ValueError("usable_memory_gib must not exceed memory_gib")
        if self.num_devices > self.max_devices:
            raise ValueError("num_devices must not exceed max_devices")
        return self

    def rental_usd_per_gpu_hour(self, basis: PriceBasis = "typical") -> float | None:
        """The rate a cloud_gpu option pays per device-hour on `basis` (see PriceBasis); None when the catalog has no
        quote of that term. The median, not the mean: one hyperscaler list price at 2-3x the neoclouds' would drag a
        mean far from what most quotes say."""
        term = "reserved" if basis == "reserved" else "on_demand"
        quotes = sorted(q.usd_per_gpu_hour for q in self.cloud_prices if q.term == term)
        if not quotes:
            return None
        if basis == "low":
            return quotes[0]
        mid = len(quotes) // 2
        return quotes[mid] if len(quotes) % 2 else (quotes[mid - 1] + quotes[mid]) / 2.0

    @property
    def usable_bytes(self) -> float:
        """Bytes per device the model and KV cache may use."""
        return self.usable_memory_gib * GIB

    def tflops_for(self, compute_dtype: str) -> float:
        """Dense TFLOP/s for a compute dtype, falling back to bf16 where the unit lacks fp8/int8."""
        if compute_dtype == "fp8" and self.fp8_tflops:
            return self.fp8_tflops
        if compute_dtype == "int8" and self.int8_tops:
            return self.int8_tops
        return self.bf16_tflops


class Score(BaseModel):
    """One published result of a model on a benchmark, or the record that none is published."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    score: Percent | None
    """The score, percent (0-100); None: no published score (`source` says where one was looked for)."""
    harness: Literal["independent", "self_reported"] | None = None
    """independent: a third party ran every model it lists with one harness; self_reported: the model's maker."""
    setting: str = ""
    """How it was run, where the source says (thinking or not, tools, the agent scaffold, attempts)."""
    source: str = Field(min_length=3)
    """Where the figure is published (URL, or repository, path and commit)."""
    as_of: dt.date
    """When it was published (or, for no score, when the source was read)."""

    @model_validator(mode="after")
    def _check(self) -> Score:
        if self.score is not None and self.harness is None:
            raise ValueError("a score needs its harness: independent or self_reported")
        return self


Quality = dict[EntryId, tuple[Score, ...]]
"""Scores by benchmark id (catalog `benchmarks`); a benchmark may list an independent and a self-reported figure."""


def _as_tuple(value: object) -> object:
    """A single score given without a list."""
    if isinstance(value, dict):
        return {k: (v,) if isinstance(v, dict) else v for k, v in value.items()}
    return value


class Rated(BaseModel):
    """An entry with published quality scores."""

    quality: Annotated[Quality, BeforeValidator(_as_tuple)] = {}
    """Published scores by benchmark; an entry with none published lists where it was looked for (score null)."""

    def score_on(self, benchmark: str) -> Score | None:
        """The figure a verdict uses on `benchmark`: an independent one before a self-reported one (the same harness
        for every model makes models comparable), the latest first within each, then the best setting (the model as
        it can be run); None when none is published."""
        found = [s for s in self.quality.get(benchmark, ()) if s.score is not None]
        found.sort(key=lambda s: (s.harness != "independent", -s.as_of.toordinal(), -(s.score or 0.0)))
        return found[0] if found else None


SizeClass = Literal["small", "medium", "large"]
"""Model size classes quantization loss is measured by: small <= 10B parameters, medium 10-70B, large >= 70B or any
mixture-of-experts model."""


class Recovery(BaseModel):
    """The share of the bf16 model's benchmark score a quantized model keeps, for one size class, with its source."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    fraction: Annotated[float, Field(gt=0, le=1.0)]
    """Score kept, 0-1 (mean over the source's benchmarks; 1.0 within the source's noise)."""
    basis: Literal["benchmark", "kld", "proxy"]
    """benchmark: scores measured at bf16 and at this quant; kld: llama.cpp's KL divergence against fp16, mapped to a
    score share (benchmarks/quant_recovery_fit.py); proxy: another format's figure, for a format that keeps at least
    as much (its source says which and why)."""
    source: str = Field(min_length=3)
    as_of: dt.date
    notes: str = ""


class Benchmark(Entry):
    """A benchmark the catalog's quality scores are on."""

    measures: str
    """What a good score says, in words."""
    scale_max: Percent = 100.0
    """Best possible score, percent."""


ErrorMetric = Literal["decode", "prefill"]
ErrorRegime = Literal["single", "batched"]
ModelShape = Literal["dense", "moe", "hybrid"]


class HeldOutError(BaseModel):
    """One public measurement against the capacity model's prediction for it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    log_ratio: float
    """ln(measured speed / predicted speed): above 0 the model was too slow, below 0 too fast (for TTFT, the inverse
    of the times)."""
    source: str = Field(min_length=1)
    """Who published the measurement (a repository or site): rows of one source share a build, flags and a bench."""
    shape: ModelShape
    """dense, mixture-of-experts, or hybrid (linear-attention layers beside full attention)."""
    batch: PositiveInt
    """Sequences running together (1 for a prefill)."""
    context: Annotated[int, Field(ge=0)]
    """Tokens in context (decode) or the prompt and its depth (prefill)."""
    params_b: Positive
    """The model's total parameters, billions."""


class ErrorFamily(Entry):
    """How far the capacity model's predictions fell from public measurements in one family of deployments: an
    engine's kernels on one class of hardware, one metric, one batch regime. `prediction_interval` turns the rows
    into an interval for any deployment of the family; `tokenlane calibrate` adds a family for one box (`hardware`)."""

    engine: str = Field(min_length=1)
    """Engine id whose kernels ran (Ollama's are llama.cpp's: `kernel_family`)."""
    hardware_class: str = Field(min_length=1)
    """vendor-memory kind, e.g. nvidia-hbm, nvidia-gddr, amd-unified, apple-unified."""
    hardware: str | None = None
    """One hardware id where the rows are the user's own box (`tokenlane calibrate`); None: the whole class."""
    metric: ErrorMetric
    regime: ErrorRegime
    """single: one stream (or one prompt alone); batched: several sequences together."""
    rows: tuple[HeldOutError, ...] = Field(min_length=1)


class SlidingWindow(BaseModel):
    """Layers that attend to only the last `window_tokens` tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    window_tokens: PositiveInt
    """Window length, tokens."""
    num_layers: Annotated[int, Field(ge=0)]
    """How many of the model's layers use the window."""


class Mla(BaseModel):
    """Multi-head latent attention (DeepSeek-V2/V3): KV cached as one compressed latent."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    q_lora_rank: Annotated[int, Field(ge=0)]
    """Rank of the query down-projection; 0 means a full query projection."""
    kv_lora_rank: PositiveInt
    """Rank of the compressed KV latent, elements per token per layer."""
    qk_nope_head_dim: PositiveInt
    """Per-head query/key dims without rotary embedding."""
    qk_rope_head_dim: PositiveInt
    """Per-head dims with rotary embedding (cached once per token, shared by heads)."""
    v_head_dim: PositiveInt
    """Per-head value dims."""


class Moe(BaseModel):
    """Mixture-of-experts feed-forward layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    num_experts: PositiveInt
    """Routed experts per MoE layer."""
    experts_per_token: PositiveInt
    """Routed experts each token activates (top-k)."""
    expert_intermediate_size: PositiveInt
    """Hidden width of one expert's FFN."""
    num_shared_experts: Annotated[int, Field(ge=0)] = 0
    """Always-active shared experts per MoE layer."""
    shared_expert_intermediate_size: Annotated[int, Field(ge=0)] = 0
    """Hidden width of the shared expert(s) together; 0 means num_shared × expert width."""
    num_dense_layers: Annotated[int, Field(ge=0)] = 0
    """Leading layers that use a dense FFN instead (DeepSeek `first_k_dense_replace`)."""
    routing_skew: Annotated[float, Field(ge=0, lt=4)] = 0.0
    """Zipf exponent of the experts' popularity on real text, where a measurement of this model's expert load exists
    (the model's `source` names it); 0 = uniform routing. A deployment's default; a scenario option may set its own."""

    @model_validator(mode="after")
    def _check(self) -> Moe:
        if self.experts_per_token > self.num_experts:
            raise ValueError("experts_per_token must not exceed num_experts")
        return self


class LinearAttention(BaseModel):
    """Linear-attention (Gated DeltaNet) layers of a hybrid model: each keeps a fixed-size recurrent state per
    sequence instead of a KV cache that grows with the context.

    Per layer and sequence: a state of `num_value_heads` x `key_head_dim` x `value_head_dim` elements and a short
    convolution state of (`conv_kernel_dim` - 1) x (2 x key heads x key dim + value heads x value dim) elements.
    # Source: Yang et al., "Gated Delta Networks" (arXiv:2412.06464) section 2; layer layout after transformers'
    # Qwen3NextConfig (linear_num_key_heads, linear_num_value_heads, linear_key_head_dim, linear_value_head_dim,
    # linear_conv_kernel_dim).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_layers: Annotated[int, Field(ge=0)]
    """How many of the model's layers are linear attention (the rest are full or sliding-window attention)."""
    num_key_heads: PositiveInt
    num_value_heads: PositiveInt
    key_head_dim: PositiveInt
    value_head_dim: PositiveInt
    conv_kernel_dim: PositiveInt = 4


class SparseAttention(BaseModel):
    """DeepSeek Sparse Attention (DeepSeek-V3.2): a lightning indexer scores every cached token with a few small fp8
    heads, and each query attends to only the `index_topk` best. The cache still holds every token (plus the
    indexer's key); what a step reads and scores in the main attention is bounded by `index_topk`.
    # Source: DeepSeek-V3.2-Exp (github.com/deepseek-ai/DeepSeek-V3.2-Exp, inference/model.py Indexer; config
    # index_n_heads 64, index_head_dim 128, index_topk 2048, as in lmdeploy's DeepseekV32Config defaults).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    index_n_heads: PositiveInt
    index_head_dim: PositiveInt
    index_topk: PositiveInt


class MtpHead(BaseModel):
    """A model's own multi-token-prediction head as published: how many tokens it drafts and how often the next one
    is accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    draft_tokens: PositiveInt
    acceptance_rate: Annotated[float, Field(ge=0, lt=1)]
    source: str = Field(min_length=3)


class Model(Entry, Rated):
    """Architecture of an open-weight transformer, with every field the roofline needs, and its published scores."""

    num_layers: PositiveInt
    """Transformer blocks."""
    hidden_size: PositiveInt
    """Model width (d_model)."""
    num_attention_heads: PositiveInt
    """Query heads."""
    num_kv_heads: PositiveInt
    """Key/value heads (GQA); equal to query heads for MHA; ignored under MLA."""
    head_dim: PositiveInt
    """Per-head query/key/value width."""
    intermediate_size: PositiveInt
    """Dense FFN hidden width (used by dense models and MoE models' dense layers)."""
    vocab_size: PositiveInt
    """Vocabulary size (embedding and LM-head rows)."""
    tied_embeddings: bool = False
    """Whether the LM head reuses the embedding matrix."""
    gated_ffn: bool = True
    """SwiGLU-style FFN with three matrices (gate, up, down) rather than two."""
    moe: Moe | None = None
    """Mixture-of-experts layout; None for dense models."""
    mla: Mla | None = None
    """Multi-head latent attention; None for standard MHA/GQA."""
    sliding_window: SlidingWindow | None = None
    """Sliding-window layers, if any."""
    linear_attention: LinearAttention | None = None
    """Linear-attention layers of a hybrid model (Qwen3-Next, Qwen3.5), if any."""
    sparse_attention: SparseAttention | None = None
    """DeepSeek Sparse Attention over every layer's cache, if the model uses it."""
    attention_output_gate: bool = False
    """Softmax-attention layers gate their output with a second query-width projection (Qwen3-Next)."""
    mtp: MtpHead | None = None
    """Its multi-token-prediction head, where the makers publish an acceptance rate (speculative method mtp)."""
    max_context_tokens: PositiveInt = 131072
    """Longest context the model supports, tokens."""
    declared_total_params_b: Positive | None = None
    """Total parameters as the model card states, billions (checked against the architecture)."""
    declared_active_params_b: Positive | None = None
    """Active parameters per token as the model card states, billions."""
    reference_quants: tuple[EntryId, ...] = ("bf16", "fp16")
    """Quants the published scores hold for as they are: the released weights (bf16; FP8 for DeepSeek-V3; MXFP4
    experts for gpt-oss) and lossless repackings of them. Any other quant keeps its `recovery` share."""

    @model_validator(mode="after")
    def _check(self) -> Model:
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError("num_attention_heads must be a multiple of num_kv_heads")
        if self.sliding_window and self.sliding_window.num_layers > self.num_layers:
            raise ValueError("sliding_window.num_layers must not exceed num_layers")
        if self.moe and self.moe.num_dense_layers > self.num_layers:
            raise ValueError("moe.num_dense_layers must not exceed num_layers")
        if self.sparse_attention and (self.sliding_window or self.linear_attention):
            raise ValueError("sparse_attention does not combine with sliding_window or linear_attention here")
        window = self.sliding_window.num_layers if self.sliding_window else 0
        if self.linear_attention and window + self.linear_attention.num_layers >= self.num_layers:
            raise ValueError("linear_attention.num_layers (and sliding-window layers) must leave at least one full-attention layer")
        return self

    @property
    def attention_window(self) -> int:
        """Most keys one query attends to in the capped layers: the sliding window, or the sparse top-k (0: none)."""
        if self.sparse_attention:
            return self.sparse_attention.index_topk
        return self.sliding_window.window_tokens if self.sliding_window else 0

    @property
    def capped_layers(self) -> int:
        """Layers whose queries attend to at most `attention_window` keys (sliding-window or sparse)."""
        if self.sparse_attention:
            return self.attention_layers
        return self.sliding_window.num_layers if self.sliding_window else 0

    @property
    def attention_layers(self) -> int:
        """Layers with softmax attention (full or sliding-window): the ones that keep a KV cache."""
        return self.num_layers - (self.linear_attention.num_layers if self.linear_attention else 0)


class Quant(Entry):
    """A weight quantization format, with the real bits per weight of each tensor class."""

    bits_per_weight: Positive
    """Average stored bits per weight of the linear layers, scales and zero-points included."""
    expert_bits_per_weight: Positive | None = None
    """Bits per weight of MoE expert tensors where they differ (MXFP4 checkpoints)."""
    attention_bits_per_weight: Positive | None = None
    """Bits per weight of attention projections where kept at higher precision."""
    embedding_bits_per_weight: Positive = 16.0
    """Bits per weight of the token embedding table (and of the LM head unless `lm_head_bits_per_weight` says)."""
    lm_head_bits_per_weight: Positive | None = None
    """Bits per weight of the output projection where it differs from the embedding (llama.cpp k-quants: Q6_K)."""
    compute_dtype: Literal["bf16", "fp8", "int8", "fp4"] = "bf16"
    """Dtype the matmuls run in: weight-only formats dequantize to bf16."""
    dequant_rows: NonNegative = 0.0
    """Rows (tokens) of a matrix multiply whose multiply-adds cost as much as unpacking its weights once: a matmul of
    M rows runs at M / (M + dequant_rows) of the engine's large-matmul rate. It is why prefill slows on block
    formats and why an MoE's experts, a few dozen tokens each, run far below a dense layer's rate (0: no such
    cost)."""
    format: QuantFormat = "native"
    """Its format family: which engines load it (`Engine.formats`)."""
    runs_on: tuple[Arch, ...] | None = None
    """Device generations any engine has kernels for it on (natively or by unpacking the weights to bf16); None:
    every device an engine that loads the format runs on."""
    native_on: tuple[Arch, ...] | None = None
    """Device generations whose matrix units compute in its dtype; elsewhere in `runs_on` the weights are unpacked
    and the matmuls run in bf16. None: no hardware dtype of its own (weight-only formats)."""
    recovery: dict[SizeClass, Recovery] = {}
    """Share of the bf16 score kept, by model size class, each figure sourced; a class left out borrows the
    nearest smaller class's figure (smaller models lose more, so the borrowed figure is the cautious one)."""
    hardware_source: str = ""
    """Where `runs_on` and `native_on` come from."""


class ApiModel(Entry, Rated):
    """A model served by an API provider: its quality tier, published scores and typical serving speed.

    `id` is `provider/model` lower-cased with `/` replaced by `--` (e.g. `anthropic--claude-sonnet-4-5`); `provider`
    and `model` are spelled as genai-prices spells them. Resellers' ids of the same model (Bedrock, Vertex, Azure)
    resolve to it (`Catalog.api_model`).
    """

    provider: str
    """genai-prices provider id."""
    model: str
    """genai-prices model name."""
    quality_tier: Literal["frontier", "mid", "small"]
    """The provider's own positioning of the model: its flagship line (frontier), the cost-efficient line (mid), the
    smallest, fastest line (small)."""
    ttft_s: Positive | None = None
    """Typical time to first token, s (None: the serving default)."""
    tok_s: Positive | None = None
    """Typical stream speed, tok/s (None: the serving default)."""
    open_weights: str | None = None
    """Catalog model id of the same weights, when the maker publishes them (the model can also be self-hosted)."""


class ApiProvider(Entry):
    """Where an API provider processes and retains prompts, by default, and its terms on training."""

    provider: str
    """genai-prices provider id."""
    processes_in: str
    """Jurisdiction of processing for the provider's own API (see scenario.JURISDICTIONS)."""
    retains_in: str
    """Jurisdiction where prompts and outputs are retained (abuse monitoring, logs)."""
    trains_on_api_data: bool | None
    """Whether the provider may train on API inputs by default (None: its terms do not say clearly)."""
    zero_data_retention_offered: bool
    """Whether the provider offers zero-data-retention terms."""
    energy: ApiEnergy | None = None
    """Its published per-request energy or emissions; None: not published."""


class ApiEnergy(BaseModel):
    """What a provider has published of the energy or emissions of one of its requests."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    wh_per_request: NonNegative | None = None
    """Energy of one request as published, Wh (None: not published)."""
    gco2e_per_request: NonNegative | None = None
    """Emissions of one request as published, gCO2e (None: not published)."""
    output_tokens: PositiveInt | None = None
    """The published figure is for a response of this many output tokens (scaled by each request's); None: the
    provider gives no length, and the figure is applied per request."""
    covers: str = Field(min_length=3)
    """What the figure includes and leaves out, in the provider's words."""
    source: str = Field(min_length=3)
    as_of: dt.date


class GridIntensity(Entry):
    """The carbon intensity of one country's (or area's) electricity generation, annual average."""

    gco2_per_kwh: NonNegative
    year: PositiveInt
    aliases: tuple[str, ...] = ()
    """Other codes for the same grid (`uk` for `gb`; scenario jurisdictions)."""
    regions: tuple[str, ...] = ()
    """Cloud regions (`<jurisdiction>-<region>`, as `processes_in` writes them) that draw from this grid."""


class Link(Entry):
    """A link a disaggregated deployment moves KV caches over, from a prefill replica to a decode replica. Figures per
    GPU pair, one direction, as measured (not the line rate): each of a replica's GPUs sends its shard of the cache at
    once over its own link."""

    gb_per_s: Positive
    """Bandwidth one GPU's transfer reaches, GB/s."""
    latency_us: NonNegative
    """Fixed time of one transfer (registration, the first bytes' trip, the completion notice), microseconds."""


class PowerProfile(Entry):
    """How much of its rated power a class of device draws in each state, and its assumed manufacturing footprint
    where the hardware entry publishes none. `id` is the memory kind. `Hardware.power_w` is the accelerator's rating
    plus its share of the host: the accelerator draws `idle`/`decode`/`prefill` of its `device_share`, the host its
    share in full while the device steps and `host_idle` of it while it idles."""

    device_share: Fraction
    """The accelerator's part of `power_w` (the rest is its share of the host: CPUs, memory, NICs, fans)."""
    idle: Fraction
    """Held but not stepping, of the accelerator's rating."""
    decode: Fraction
    """Stepping decode only (memory-bound), of the accelerator's rating."""
    prefill: Fraction
    """Stepping with a prefill chunk (compute-bound), of the accelerator's rating."""
    host_idle: Fraction
    """The host share drawn while the device idles."""
    host_source: str = Field(min_length=3)

    def watts(self, power_w: float, state: str) -> float:
        """Power drawn in `state` (idle, decode or prefill) by a device rated `power_w` with its host share, W."""
        host = 1.0 if state != "idle" else self.host_idle
        return power_w * (self.device_share * getattr(self, state) + (1.0 - self.device_share) * host)

    embodied_kgco2e_per_device: NonNegative
    embodied_source: str = Field(min_length=3)


class KvDtype(Entry):
    """A KV-cache element type."""

    bytes_per_element: Positive
    """Stored bytes per cached element, block scales included."""


class EnginePlatform(BaseModel):
    """Hardware an engine runs on: a vendor's device generations, officially or through a maintained community
    build."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    vendor: Vendor
    archs: tuple[Arch, ...] | None = None
    """The vendor's generations it runs on; None: every one."""
    community: bool = False
    """Supported through a maintained community build rather than the project's own releases."""
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _check(self) -> EnginePlatform:
        stray = [a for a in self.archs or () if ARCH_VENDOR[a] != self.vendor]
        if stray:
            raise ValueError(f"{', '.join(stray)} are not {self.vendor} generations")
        return self

    def covers(self, hardware: Hardware) -> bool:
        """Whether this platform includes `hardware`."""
        return hardware.vendor == self.vendor and (self.archs is None or hardware.arch in self.archs)


class FormatLimit(BaseModel):
    """An engine that runs a format on fewer device generations than the format allows (no weight-only fallback
    kernels, for instance)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    format: QuantFormat
    archs: tuple[Arch, ...]
    """The only generations it runs the format on."""
    source: str = Field(min_length=3)


class EngineTuning(BaseModel):
    """An engine's efficiency on one vendor's hardware where it differs from its default (its kernels there are
    another code base: ROCm builds of vLLM, for instance). Fields left out keep the engine's value."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    vendor: Vendor
    """Whose hardware this tuning applies to."""
    memory_kind: Literal["hbm", "gddr", "unified"] | None = None
    """Only the vendor's devices of this class (hbm: datacenter GPUs; gddr: discrete consumer cards; unified:
    integrated GPUs such as the DGX Spark's); None: all of the vendor's. A class's entry wins over the vendor's."""
    bandwidth_utilization: Fraction | None = None
    compute_utilization: Fraction | None = None
    step_overhead_ms: NonNegative | None = None
    layer_overhead_us: NonNegative | None = None
    block_quant_dtype: Literal["bf16", "int8"] | None = None
    attention_utilization: Fraction | None = None
    graph_max_tokens: Annotated[int, Field(ge=0)] | None = None
    eager_layer_overhead_us: NonNegative | None = None
    source: str = Field(min_length=3)
    """The measurement the values come from."""
    as_of: dt.date


class EngineStartup(BaseModel):
    """How long the engine takes from launch to serving, the weights' read aside."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    seconds: NonNegative
    """Process start and imports, device set-up, kernel compilation and graph capture, s."""
    source: str = Field(min_length=3)
    as_of: dt.date


class Engine(Entry):
    """A serving engine: how it batches, its defaults and its efficiency."""

    batching: Literal["continuous", "slots", "serial"]
    """continuous batching (vLLM-style), fixed parallel slots (llama.cpp `-np`), or one at a time."""
    max_running_seqs: PositiveInt
    """Default cap on sequences decoding together (vLLM max_num_seqs; llama.cpp -np)."""
    max_batched_tokens: PositiveInt
    """Token budget per scheduler step (chunked prefill); prompts split into chunks of this size."""
    kv_block_tokens: PositiveInt = 16
    """KV-cache block (page) size, tokens."""
    supports_prefix_caching: bool
    """Whether a repeated prompt prefix skips prefill."""
    splits_context_across_slots: bool = False
    """llama.cpp: the -c context is divided evenly among the slots."""
    max_queued_requests: PositiveInt | None = None
    """Requests the server queues before refusing more (None: no limit)."""
    runs_on: tuple[EnginePlatform, ...] = Field(min_length=1)
    """The hardware it runs on, by vendor and device generation, each sourced."""
    formats: tuple[QuantFormat, ...] = Field(min_length=1)
    """Weight formats the engine loads."""
    format_limits: tuple[FormatLimit, ...] = ()
    """Formats it runs on fewer device generations than the format itself allows."""
    bandwidth_utilization: Fraction
    """Fraction of the device's streaming bandwidth its decode kernels reach on weights and KV."""
    compute_utilization: Fraction
    """Fraction of dense peak its large matmuls (prefill) reach."""
    attention_utilization: Fraction | None = None
    """Fraction of bf16 peak its attention kernels reach on query-key pairs (None: `compute_utilization`, which is the
    same share unless the matmuls run in another dtype than attention, as with `block_quant_dtype`)."""
    step_overhead_ms: NonNegative
    """Fixed CPU/scheduler/sampling time per step, ms."""
    layer_overhead_us: NonNegative
    """Per-layer launch/synchronisation time per step, microseconds."""
    moe_layer_overhead_us: NonNegative = 0.0
    """Extra time per MoE layer per step, microseconds: the router GEMM, top-k, token sort/align, grouped expert
    kernels and the weighted combine that a dense FFN does not run. It does not shrink with tensor parallelism or
    grow with the tokens, so it dominates big MoE models' small-batch steps on many GPUs."""
    graph_max_tokens: Annotated[int, Field(ge=0)] | None = None
    """Most tokens a step may carry and still replay a captured kernel graph (llama.cpp's CUDA backend captures only
    one-token steps); a step of more tokens launches every kernel itself and pays `eager_layer_overhead_us` per layer
    on top of `layer_overhead_us` (None: every step pays the same).
    # Source: ggml-org/llama.cpp ggml/src/ggml-cuda/ggml-cuda.cu, "disable CUDA graphs for batch size > 1"."""
    eager_layer_overhead_us: NonNegative = 0.0
    """Extra time per layer of a step beyond `graph_max_tokens`, microseconds: the kernel launches a graph replay
    saves."""
    gpu_memory_utilization: Fraction = 0.9
    """Fraction of usable memory the engine claims for weights + KV cache."""
    runtime_overhead_gb: NonNegative = 1.0
    """Activation and workspace memory per device, GB."""
    block_quant_dtype: Literal["bf16", "int8"] | None = None
    """The dtype its matmul kernels multiply block-quantized (GGUF) weights in, where it is not the quant's: llama.cpp's
    CUDA kernels (MMQ) quantize the activations to 8 bits and run int8 tensor cores (None: the quant's own).
    # Source: ggml-org/llama.cpp pulls 7676 ("CUDA: use tensor cores for MMQ") and 7860 (int8 tensor cores for
    # q4_K, q5_K, q6_K)."""
    matvec_max_rows: Annotated[int, Field(ge=0)] = 0
    """Most rows (tokens) a weight matrix is multiplied by with matrix-vector kernels, which unpack quantized weights
    as they stream them: up to this many rows a quant's `dequant_rows` costs nothing (decode), above it the engine
    switches to matrix-matrix kernels that pay it (prefill, large batches)."""
    on_vendor: tuple[EngineTuning, ...] = ()
    """Efficiency on one vendor's hardware (or one class of it) where it is measured to differ from the fields above."""
    startup: EngineStartup | None = None
    """Launch to serving, weights aside: part of an autoscaled replica's cold start (simulate/scaling)."""

    @model_validator(mode="after")
    def _one_tuning_per_vendor(self) -> Engine:
        classes = [(t.vendor, t.memory_kind) for t in self.on_vendor]
        if len(set(classes)) != len(classes):
            raise ValueError("on_vendor lists a vendor (and memory_kind) twice")
        return self

    def on(self, vendor: str, memory_kind: str | None = None) -> Engine:
        """This engine as it runs on `vendor`'s hardware of `memory_kind`: the tuning for that class of device, else
        the vendor's, applied; the rest unchanged."""
        for wanted in (memory_kind, None):
            for tuning in self.on_vendor:
                if tuning.vendor == vendor and tuning.memory_kind == wanted:
                    values = tuning.model_dump(exclude={"vendor", "memory_kind", "source", "as_of"}, exclude_none=True)
                    return self.model_copy(update=values)
        return self
