"""A deployment: one model in one quantization on N devices of one hardware kind under one engine."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field, fields
from typing import Literal

from tokenlane.catalog.load import Catalog
from tokenlane.catalog.models import Engine, Hardware, KvDtype, Link, Model, Quant
from tokenlane.catalog.support import choice_words, unsupported
from tokenlane.errors import InputError
from tokenlane.scenario import Option, Parallel

MAX_SERVERS = 18
"""Most servers one replica may span (DeepSeek's decode unit: 18 servers of 8, EP144).
# Source: DeepSeek-V3/R1 Inference System Overview (github.com/deepseek-ai/open-infra-index, 2025-03-01)."""


@dataclass(frozen=True)
class Speculation:
    """Speculative decoding: a drafter proposes `draft_tokens` (k) per sequence each cycle, the target verifies them
    in one step and accepts each with probability `acceptance` (a). `draft`: a separate draft model's deployment on
    the same devices; None: the target's own prediction head (MTP, EAGLE). The arithmetic is in `speculative`."""

    draft_tokens: int
    acceptance: float
    draft: Deployment | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.draft_tokens <= 16:
            raise InputError("must be 1 to 16 drafted tokens", field="speculative.draft_tokens")
        if not 0.0 <= self.acceptance < 1.0:
            raise InputError("must be at least 0 and below 1", field="speculative.acceptance_rate")

    @property
    def expected_tokens(self) -> float:
        """Tokens a sequence gains per cycle: (1 - a^(k+1)) / (1 - a).
        # Source: Leviathan, Kalman & Matias, "Fast Inference from Transformers via Speculative Decoding" (ICML
        # 2023), equation (1)."""
        a = self.acceptance
        return (1.0 - a ** (self.draft_tokens + 1)) / (1.0 - a)


@dataclass(frozen=True)
class Disaggregation:
    """Prefill and decode on separate pools ("xPyD"): each prompt is prefilled on one of `prefill_count` replicas of
    `prefill`, its KV cache moves over `link`, and one of `decode_count` replicas of the deployment this is attached
    to generates the answer. The simulator runs both pools (`simulate.run`); the transfer time is `kv_transfer_s`.
    # Source: Zhong et al., "DistServe" (OSDI 2024); Patel et al., "Splitwise" (ISCA 2024); NVIDIA Dynamo and
    # llm-d disaggregated serving (prefill workers hand the KV cache to decode workers over NIXL)."""

    prefill: Deployment
    prefill_count: int
    decode_count: int
    link: Link


@dataclass(frozen=True)
class Deployment:
    """Everything the capacity model needs about one replica.

    `num_devices` devices serve the model with tensor parallelism; `routing_skew` is the Zipf exponent of
    MoE expert popularity (0 = uniform routing); `max_running_seqs` and `context_tokens` override engine
    defaults (llama.cpp `-np`, `-c`; vLLM `max_num_seqs`); `speculation` turns speculative decoding on.
    """

    hardware: Hardware
    model: Model
    quant: Quant
    kv_dtype: KvDtype
    engine: Engine
    num_devices: int = 1
    routing_skew: float = 0.0
    max_running_seqs: int | None = None
    context_tokens: int | None = None
    speculation: Speculation | None = None
    cross_server: Literal["pipeline", "tensor"] = "pipeline"
    """How a replica spanning servers splits the model between them: pipeline stages (each server holds a share of
    the layers, tensor parallel inside it; vLLM's and SGLang's multi-node layout) or one tensor-parallel group over
    the network."""
    expert_parallel: int = 1
    """Devices the routed experts are spread over, whole experts each (1: every expert split by tensor parallelism);
    the tokens go to their experts' devices and back by all-to-all (`capacity.roofline`)."""
    dp_attention: int = 1
    """Attention data parallelism: the devices form this many attention groups of `tensor_parallel / dp_attention`,
    each serving its own sequences (SGLang `--enable-dp-attention`, vLLM data parallel with expert parallelism)."""
    disaggregation: Disaggregation | None = None
    """Prefill on a separate pool (this deployment is then the decode replica); None: prefill and decode together."""
    speed_scale: float = 1.0
    """Every step runs this many times as fast as modelled: 1 as modelled; an end of the prediction interval when a
    plan checks whether its verdict survives it (`capacity.uncertainty`)."""
    label: str = field(default="", compare=False)

    @property
    def servers(self) -> int:
        """Servers the replica spans (1 within one server)."""
        return max(1, -(-self.num_devices // self.hardware.max_devices))

    @property
    def pipeline_stages(self) -> int:
        """Pipeline stages: one per server when the replica spans servers as a pipeline, else 1."""
        return self.servers if self.cross_server == "pipeline" else 1

    @property
    def tensor_parallel(self) -> int:
        """Devices that split every layer between them (the tensor-parallel group)."""
        return self.num_devices // self.pipeline_stages

    def __post_init__(self) -> None:
        if self.num_devices < 1:
            raise InputError("must be >= 1", field="gpus")
        if self.cross_server not in ("pipeline", "tensor"):
            raise InputError(f"must be pipeline or tensor, not {self.cross_server!r}", field="cross_server")
        per_server = self.hardware.max_devices
        if self.num_devices > per_server:
            if self.hardware.network_gbps is None:
                raise InputError(
                    f"{self.hardware.id} takes at most {per_server} devices in one server, not {self.num_devices}, and the "
                    "catalog lists no server-to-server network for it (network_gbps) to span several",
                    field="gpus",
                )
            if self.num_devices % per_server or self.num_devices > per_server * MAX_SERVERS:
                raise InputError(
                    f"across servers, {self.hardware.id} takes whole servers of {per_server} devices, up to {MAX_SERVERS} "
                    f"({per_server * MAX_SERVERS} devices), not {self.num_devices}",
                    field="gpus",
                )
        if self.dp_attention == 1 and self.tensor_parallel > 1 and self.model.num_attention_heads % self.tensor_parallel:
            raise InputError(
                f"tensor parallelism needs attention heads ({self.model.num_attention_heads}) divisible by {self.tensor_parallel}",
                field="gpus",
            )
        if self.pipeline_stages > self.model.num_layers:
            raise InputError(f"{self.pipeline_stages} pipeline stages need at least as many layers", field="gpus")
        if problem := unsupported(self.hardware, self.engine, self.quant):
            raise InputError(problem.reason, field=problem.field)
        if not 0.0 <= self.routing_skew < 4.0:
            raise InputError("must be in [0, 4)", field="routing_skew")
        self._check_parallel()
        if self.max_running_seqs is not None and self.max_running_seqs < 1:
            raise InputError("must be >= 1", field="max_running_seqs")
        if self.context_tokens is not None and self.context_tokens < 1:
            raise InputError("must be >= 1", field="context_tokens")
        key = (
            self.hardware,
            self.model,
            self.quant,
            self.kv_dtype,
            self.engine,
            self.num_devices,
            self.routing_skew,
            self.max_running_seqs,
            self.context_tokens,
            self.speculation,
            self.cross_server,
            self.expert_parallel,
            self.dp_attention,
            self.disaggregation,
        )
        object.__setattr__(self, "_hash", hash(key))

    def _check_parallel(self) -> None:
        """Expert parallelism needs a MoE model and divides the replica's devices (experts that do not split evenly leave
        room for redundant copies of hot ones, as DeepSeek's EPLB places them); attention
        groups split the tensor-parallel devices evenly; a prefill pool serves the same model and KV layout."""
        ep, dp = self.expert_parallel, self.dp_attention
        moe = self.model.moe
        if ep > 1 and moe is None:
            raise InputError(f"expert parallelism needs a mixture-of-experts model; {self.model.id} is dense", field="parallel.ep")
        if ep < 1 or ep > self.num_devices or self.num_devices % ep:
            raise InputError(f"must divide the replica's {self.num_devices} devices, not {ep}", field="parallel.ep")
        if dp < 1 or self.tensor_parallel % dp:
            raise InputError(f"must divide the {self.tensor_parallel} tensor-parallel devices, not {dp}", field="parallel.dp_attention")
        if dp > 1 and self.model.num_attention_heads % (self.tensor_parallel // dp):
            raise InputError(
                f"attention groups of {self.tensor_parallel // dp} devices need attention heads ({self.model.num_attention_heads}) "
                "divisible by that",
                field="parallel.dp_attention",
            )
        pools = self.disaggregation
        if pools is not None:
            if pools.prefill.model != self.model or pools.prefill.kv_dtype != self.kv_dtype:
                raise InputError("the prefill pool must serve the decode pool's model with its KV dtype", field="disaggregated.prefill")
            if pools.prefill_count < 1 or pools.decode_count < 1:
                raise InputError("each pool needs at least one replica", field="disaggregated")
            span = pools.prefill.num_devices * pools.prefill_count + self.num_devices * pools.decode_count
            if pools.link.id == "nvlink" and (pools.prefill.hardware != self.hardware or span > self.hardware.max_devices):
                raise InputError(
                    f"NVLink joins the devices of one {self.hardware.id} server ({self.hardware.max_devices}); this layout spans "
                    f"{span} devices{'' if pools.prefill.hardware == self.hardware else ' of two kinds'}: use infiniband or ethernet",
                    field="disaggregated.kv_link",
                )

    @functools.cached_property
    def pools(self) -> tuple[tuple[Deployment, int], ...]:
        """(replica deployment, replicas) of each pool in one unit: prefill then decode when disaggregated, else this
        deployment once."""
        pools = self.disaggregation
        if pools is None:
            return ((self, 1),)
        return ((pools.prefill, pools.prefill_count), (dataclasses.replace(self, disaggregation=None), pools.decode_count))

    def devices_by_hardware(self) -> dict[Hardware, int]:
        """Devices of one unit by hardware (both pools' when disaggregated)."""
        out: dict[Hardware, int] = {}
        for dep, n in self.pools:
            out[dep.hardware] = out.get(dep.hardware, 0) + dep.num_devices * n
        return out

    @property
    def unit_devices(self) -> int:
        """Devices of one unit: the replica's, or both pools' when disaggregated."""
        return sum(self.devices_by_hardware().values())

    @property
    def unit_power_w(self) -> float:
        """Rated power of one unit's devices, each with its host share (`Hardware.power_w`), W."""
        return sum(hw.power_w * devices for hw, devices in self.devices_by_hardware().items())

    def __hash__(self) -> int:
        """Hash computed once: the step-time cache looks deployments up on every simulated step."""
        return self._hash

    def __reduce__(self) -> tuple[type[Deployment], tuple[object, ...]]:
        """Pickle by the constructor's arguments, so another process recomputes the hash (string hashes differ
        between processes, and a hash carried over would miss every cache there)."""
        return (Deployment, tuple(getattr(self, f.name) for f in fields(self)))

    @property
    def running_seq_cap(self) -> int:
        """Most sequences the engine runs together before queueing (memory aside)."""
        if self.engine.batching == "serial":
            return 1
        return self.max_running_seqs or self.engine.max_running_seqs

    @property
    def compute_dtype(self) -> str:
        """Matmul dtype: the engine's for block-quantized GGUF weights where it has one (llama.cpp's CUDA kernels run
        them on int8 tensor cores); bf16 where the quant has a hardware dtype the device lacks (`Quant.native_on`:
        FP8 on an A100 runs as weight-only, unpacked to bf16); else the quant's. fp4 runs at the fp8 rate (the
        catalog lists no fp4 column)."""
        if self.engine.block_quant_dtype and self.quant.format == "gguf" and self.quant.dequant_rows:
            return self.engine.block_quant_dtype
        if self.quant.native_on is not None and self.hardware.arch not in self.quant.native_on:
            return "bf16"
        return "fp8" if self.quant.compute_dtype == "fp4" else self.quant.compute_dtype


def layout_words(dep: Deployment, *, short: bool = False) -> str:
    """How a replica is laid out, in words, when it is more than devices with tensor parallelism ('' otherwise):
    '5 prefill replicas of 2x h200 + 3 decode replicas of 2x h200, KV cache over nvlink', '16x h200, experts over 16';
    `short`: '5P3D of 2x h200, nvlink' (the decode replica's shape)."""

    def parts(d: Deployment) -> str:
        extra = [f"experts over {d.expert_parallel}"] if d.expert_parallel > 1 else []
        extra += [f"{d.dp_attention} attention groups"] if d.dp_attention > 1 else []
        return ", ".join([f"{d.num_devices}x {d.hardware.id}", *extra])

    pools = dep.disaggregation
    if pools is not None and short:
        return f"{pools.prefill_count}P{pools.decode_count}D of {parts(dep.pools[1][0])}, {pools.link.id}"
    if pools is not None:
        return (
            f"{pools.prefill_count} prefill replica{'s' if pools.prefill_count != 1 else ''} of {parts(pools.prefill)} + "
            f"{pools.decode_count} decode replica{'s' if pools.decode_count != 1 else ''} of {parts(dep.pools[1][0])}, "
            f"KV cache over {pools.link.id}"
        )
    return parts(dep) if dep.expert_parallel > 1 or dep.dp_attention > 1 else ""


def build_deployment(
    catalog: Catalog,
    *,
    hardware: str,
    model: str,
    quant: str = "bf16",
    engine: str = "vllm",
    kv_dtype: str = "bf16",
    gpus: int | None = None,
    routing_skew: float | None = None,
    max_running_seqs: int | None = None,
    context_tokens: int | None = None,
    speculation: Speculation | None = None,
    cross_server: Literal["pipeline", "tensor"] = "pipeline",
    expert_parallel: int = 1,
    dp_attention: int = 1,
    label: str = "",
) -> Deployment:
    """Look the ids up in `catalog` and build a Deployment; `gpus` defaults to the unit's device count and
    `routing_skew` to the model's measured one (uniform where none is measured)."""
    hw = catalog.hardware_by_id(hardware, field="hardware")
    entry = catalog.model_by_id(model, field="model")
    if routing_skew is None:
        routing_skew = entry.moe.routing_skew if entry.moe else 0.0
    weights = catalog.quant_by_id(quant, field="quant")
    runtime = catalog.engine_by_id(engine, field="engine")
    if problem := unsupported(hw, runtime, weights):
        raise InputError(choice_words(catalog, hw, runtime, weights, problem), field=problem.field)
    return Deployment(
        hardware=hw,
        model=entry,
        quant=weights,
        kv_dtype=catalog.kv_dtype_by_id(kv_dtype, field="kv_dtype"),
        engine=runtime.on(hw.vendor, hw.memory_kind),
        num_devices=gpus if gpus is not None else hw.num_devices,
        routing_skew=routing_skew,
        max_running_seqs=max_running_seqs,
        context_tokens=context_tokens,
        speculation=speculation,
        cross_server=cross_server,
        expert_parallel=expert_parallel,
        dp_attention=dp_attention,
        label=label,
    )


def option_deployment(catalog: Catalog, option: Option) -> Deployment:
    """The Deployment of a self_host / cloud_gpu scenario option (one replica; disaggregated: a decode replica carrying
    the layout, `Disaggregation`)."""
    assert option.hardware and option.model, "api options have no deployment"
    layout = option.disaggregated
    if layout is None:
        return _replica(
            catalog, option, option.hardware, option.gpus, option.parallel, option.max_running_seqs, field=f"options[{option.name}]"
        )
    field = f"options[{option.name}].disaggregated"
    pools = [
        _replica(
            catalog, option, pool.hardware or option.hardware, pool.gpus, pool.parallel, pool.max_running_seqs, field=f"{field}.{name}"
        )
        for name, pool in (("prefill", layout.prefill), ("decode", layout.decode))
    ]
    link = catalog.link_by_id(layout.kv_link, field=f"{field}.kv_link")
    try:
        return dataclasses.replace(pools[1], disaggregation=Disaggregation(pools[0], layout.prefill.count, layout.decode.count, link))
    except InputError as err:
        raise InputError(err.message, field=f"options[{option.name}].{err.field}") from None


def _replica(
    catalog: Catalog,
    option: Option,
    hardware: str,
    gpus: int | None,
    parallel: Parallel | None,
    max_running_seqs: int | None,
    *,
    field: str,
) -> Deployment:
    """One replica of `option` on `gpus` devices of `hardware` split as `parallel` says; InputError naming `field`."""
    if option.nodes is not None:
        per_server = catalog.hardware_by_id(hardware, field=f"options[{option.name}].hardware").max_devices
        if gpus is not None and gpus != option.nodes * per_server:
            raise InputError(
                f"{option.nodes} nodes of {hardware} hold {option.nodes * per_server} devices, not gpus: {gpus}",
                field=f"options[{option.name}].nodes",
            )
        gpus = option.nodes * per_server
    cross_server = option.cross_server
    ep = dp = 1
    if parallel is not None:
        gpus, cross_server = _parallel_devices(catalog, hardware, gpus, parallel, field=f"{field}.parallel")
        ep, dp = parallel.ep, parallel.dp_attention
    spec = option.speculative
    speculation = None
    if spec is not None:
        draft = None
        if spec.method == "draft":
            assert spec.draft_model, "the scenario requires draft_model with method draft"
            catalog.model_by_id(spec.draft_model, field=f"options[{option.name}].speculative.draft_model")
            draft = build_deployment(
                catalog,
                hardware=hardware,
                model=spec.draft_model,
                quant=spec.draft_quant or option.quant,
                engine=option.engine,
                kv_dtype=option.kv_dtype,
                gpus=gpus,
                cross_server=cross_server,
            )
        draft_tokens, acceptance = spec.draft_tokens, spec.acceptance_rate
        if draft_tokens is None or acceptance is None:  # method mtp: the catalog's published head fills the gaps
            head = catalog.model_by_id(option.model, field="model").mtp
            if head is None:
                raise InputError(
                    f"{option.model} has no published MTP head in the catalog; give draft_tokens and acceptance_rate",
                    field=f"options[{option.name}].speculative",
                )
            draft_tokens = head.draft_tokens if draft_tokens is None else draft_tokens
            acceptance = head.acceptance_rate if acceptance is None else acceptance
        speculation = Speculation(draft_tokens, acceptance, draft)
    assert option.model
    try:
        dep = build_deployment(
            catalog,
            hardware=hardware,
            model=option.model,
            quant=option.quant,
            engine=option.engine,
            kv_dtype=option.kv_dtype,
            gpus=gpus,
            routing_skew=option.routing_skew,
            max_running_seqs=max_running_seqs,
            context_tokens=option.context_tokens,
            speculation=speculation,
            cross_server=cross_server,
            expert_parallel=ep,
            dp_attention=dp,
            label=option.name,
        )
    except InputError as err:
        if err.field is None or not err.field.startswith("parallel."):
            raise
        raise InputError(err.message, field=f"{field}.{err.field}") from None
    return dataclasses.replace(dep, speed_scale=option.speed_scale) if option.speed_scale != 1.0 else dep


def _parallel_devices(
    catalog: Catalog, hardware: str, gpus: int | None, parallel: Parallel, *, field: str
) -> tuple[int, Literal["pipeline", "tensor"]]:
    """(devices, how a replica spanning servers splits) that `parallel` gives: tp x pp devices, pipeline stages one per
    server (pp > 1) or one tensor-parallel group over them (pp 1); InputError naming `field` when `gpus` disagrees or the
    stages do not match the servers."""
    pp = parallel.pp
    tp = parallel.tp or (gpus // pp if gpus is not None else None)
    if tp is None:
        tp = catalog.hardware_by_id(hardware, field="hardware").num_devices // pp or 1
    devices = tp * pp
    if gpus is not None and gpus != devices:
        raise InputError(f"tp {tp} x pp {pp} is {devices} devices, not gpus: {gpus}", field=field)
    per_server = catalog.hardware_by_id(hardware, field="hardware").max_devices
    servers = max(1, -(-devices // per_server))
    if pp > 1 and pp != servers:
        raise InputError(f"pipeline stages run one per server: {devices} devices of {hardware} span {servers}, not pp {pp}", field=field)
    return devices, "pipeline" if pp > 1 else "tensor"
