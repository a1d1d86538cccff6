"""The serving command for a configuration found, each setting traced to the number that chose it, and the
`tokenlane bench` command that checks the running deployment against the modelled curve.

Flags: vLLM `vllm serve` (docs.vllm.ai, engine arguments), SGLang `sglang.launch_server` (docs.sglang.ai, server
arguments), TensorRT-LLM `trtllm-serve`, llama.cpp `llama-server` (tools/server/README.md), Ollama server
environment variables (docs/faq.md), MLX `mlx_lm.server`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import Deployment, option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.plan import option_curve
from tokenlane.scenario import Option, Scenario
from tokenlane.search.space import Config
from tokenlane.simulate.routers import BALANCERS
from tokenlane.simulate.workload import sample_tokens
from tokenlane.units import GB

CONTEXT_QUANTILE = 0.99
"""Context per sequence is set so this share of the workload's requests fits (prompt and output at this quantile)."""
CONTEXT_ROUND = 1024


class Setting(BaseModel):
    """One setting of the command and the number behind it."""

    model_config = ConfigDict(frozen=True)

    flag: str
    value: str
    why: str


class Recipe(BaseModel):
    """How to run a configuration."""

    model_config = ConfigDict(frozen=True)

    engine: str
    command: str
    weights: str
    """What the server loads: a Hugging Face repository, or a placeholder naming the checkpoint or file to fetch."""
    settings: list[Setting]
    replicas: int
    bench: str
    note: str = ""


@dataclass(frozen=True)
class _Named:
    """The ids a recipe is written for."""

    engine: str
    model: str
    quant: str
    kv_dtype: str


def _repo(catalog: Catalog, model: str) -> str:
    """The model's Hugging Face repository, from the catalog entry's source."""
    found = re.search(r"huggingface\.co/([^/\s]+/[^/\s]+)", catalog.models[model].source)
    return found[1] if found else model


def _datacenter_settings(dep: Deployment) -> list[Setting]:
    """Expert parallelism, attention groups and the KV hand-off of a disaggregated layout, as vLLM and SGLang spell
    them (vLLM docs: expert parallel deployment, NixlConnector usage; SGLang docs: server arguments, PD
    disaggregation); other engines: none (the note says how the layout runs)."""
    engine, ep, groups = dep.engine.id, dep.expert_parallel, dep.dp_attention
    why_ep = f"the routed experts spread whole over {ep} devices (capacity.roofline: all-to-all dispatch and combine)"
    why_dp = f"{groups} attention groups of {dep.tensor_parallel // groups} devices, each with its own sequences"
    out: list[Setting] = []
    if engine == "vllm":
        out += [Setting(flag="--enable-expert-parallel", value="", why=why_ep)] if ep > 1 else []
        out += [Setting(flag="--data-parallel-size", value=str(groups), why=why_dp)] if groups > 1 else []
        if dep.disaggregation is not None:
            connector = '\'{"kv_connector":"NixlConnector","kv_role":"kv_both"}\''
            out.append(Setting(flag="--kv-transfer-config", value=connector, why="prefill and decode replicas hand KV caches over NIXL"))
    elif engine == "sglang":
        out += [Setting(flag="--ep-size", value=str(ep), why=why_ep)] if ep > 1 else []
        out += [Setting(flag="--enable-dp-attention --dp-size", value=str(groups), why=why_dp)] if groups > 1 else []
        if dep.disaggregation is not None:
            why = "prefill and decode replicas hand KV caches over NIXL"
            out.append(Setting(flag="--disaggregation-transfer-backend", value="nixl", why=why))
    return out


def _context(scenario: Scenario, dep: Deployment) -> tuple[int, int, int]:
    """(context tokens per sequence, p99 prompt, p99 output): enough for CONTEXT_QUANTILE of requests."""
    rng = np.random.default_rng(0)
    workload = scenario.workload
    prompt = int(np.quantile(sample_tokens(workload.prompt_tokens, 100_000, rng), CONTEXT_QUANTILE))
    output = int(np.quantile(sample_tokens(workload.output_tokens, 100_000, rng), CONTEXT_QUANTILE))
    need = math.ceil((prompt + output) / CONTEXT_ROUND) * CONTEXT_ROUND
    return min(need, dep.model.max_context_tokens), prompt, output


def recipe(config: Config, scenario: Scenario, catalog: Catalog, *, replicas: int, port: int = 8000) -> Recipe:
    """The command for `config` with `replicas` replicas (see the module docstring)."""
    return option_recipe(config.option(), scenario, catalog, replicas=replicas, port=port)


def option_recipe(option: Option, scenario: Scenario, catalog: Catalog, *, replicas: int, port: int = 8000) -> Recipe:
    """The command for a self-hosted or rented `option` with `replicas` replicas (see the module docstring)."""
    assert option.model is not None, "a recipe is for a catalog model"
    config = _Named(engine=option.engine, model=option.model, quant=option.quant, kv_dtype=option.kv_dtype)
    dep = option_deployment(catalog, option)
    memory = plan_memory(dep)
    curve = option_curve(catalog, option, scenario.workload, (1,))
    assert curve is not None, "a recipe is for a configuration that fits"
    seqs = max(1, curve.max_concurrent_sequences)
    context, p_prompt, p_output = _context(scenario, dep)
    mean_context = curve.points[0].context
    repo = _repo(catalog, config.model)
    quant = catalog.quants[config.quant]
    why_seqs = (
        f"the KV cache ({memory.kv_budget_bytes / GB:.1f} GB after {memory.weights_bytes / GB:.1f} GB of weights) holds {seqs} "
        f"sequences of {mean_context:,} tokens (mean prompt + half the output); engine cap {dep.engine.max_running_seqs}"
    )
    if option.max_running_seqs is not None:  # the option's own cap, as the plan simulated it
        seqs, why_seqs = option.max_running_seqs, f"the option's max_running_seqs ({option.max_running_seqs}), as planned"
    why_context = f"{CONTEXT_QUANTILE:.0%} of requests fit: p99 prompt {p_prompt:,} + p99 output {p_output:,} tokens, rounded up"
    why_tp = (
        f"{dep.num_devices} devices per replica: {memory.weights_bytes / GB:.1f} GB of weights over {dep.num_devices}x {dep.hardware.id}"
    )
    stages = dep.pipeline_stages
    why_pp = f"{dep.servers} servers of {dep.hardware.max_devices}: a pipeline stage per server, tensor parallel inside each"
    why_mem = f"the share of memory the capacity model gave the engine ({dep.engine.id} default {dep.engine.gpu_memory_utilization:g})"
    caching = dep.engine.supports_prefix_caching and (
        scenario.workload.shared_prefix_tokens > 0 or scenario.workload.turns_per_session > 1 or scenario.workload.trace is not None
    )
    why_cache = "the workload resends prefixes (shared system prompt, conversation turns or a trace's shared blocks)"
    on_the_fly = quant.format in ("native", "fp8")  # vLLM and SGLang quantize bf16 weights to FP8 on load (--quantization fp8)
    weights = repo if on_the_fly else f"<{config.quant} checkpoint of {repo}>"
    settings: list[Setting]
    env = ""
    if config.engine == "vllm":
        settings = [
            Setting(flag="--tensor-parallel-size", value=str(dep.tensor_parallel // dep.dp_attention), why=why_tp),
            *([Setting(flag="--pipeline-parallel-size", value=str(stages), why=why_pp)] if stages > 1 else []),
            Setting(flag="--max-num-seqs", value=str(seqs), why=why_seqs),
            Setting(flag="--max-model-len", value=str(context), why=why_context),
            Setting(flag="--gpu-memory-utilization", value=f"{dep.engine.gpu_memory_utilization:g}", why=why_mem),
            Setting(
                flag="--kv-cache-dtype",
                value="auto" if config.kv_dtype == "bf16" else config.kv_dtype,
                why=f"KV cache in {config.kv_dtype}",
            ),
        ]
        if config.quant == "fp8":
            settings.append(Setting(flag="--quantization", value="fp8", why="fp8 weights, quantized on load from the bf16 checkpoint"))
        if caching:
            settings.append(Setting(flag="--enable-prefix-caching", value="", why=why_cache))
        command = f"vllm serve {weights} --port {port}"
    elif config.engine == "sglang":
        settings = [
            Setting(flag="--tp", value=str(dep.tensor_parallel), why=why_tp),
            *([Setting(flag="--pp-size", value=str(stages), why=why_pp)] if stages > 1 else []),
            Setting(flag="--max-running-requests", value=str(seqs), why=why_seqs),
            Setting(flag="--context-length", value=str(context), why=why_context),
            Setting(flag="--mem-fraction-static", value=f"{dep.engine.gpu_memory_utilization:g}", why=why_mem),
            Setting(
                flag="--kv-cache-dtype", value="auto" if config.kv_dtype == "bf16" else "fp8_e5m2", why=f"KV cache in {config.kv_dtype}"
            ),
        ]
        if not caching:
            settings.append(
                Setting(flag="--disable-radix-cache", value="", why="no prefix is resent: the radix cache would only use memory")
            )
        command = f"python -m sglang.launch_server --model-path {weights} --port {port}"
    elif config.engine == "tensorrt-llm":
        settings = [
            Setting(flag="--tp_size", value=str(dep.tensor_parallel), why=why_tp),
            *([Setting(flag="--pp_size", value=str(stages), why=why_pp)] if stages > 1 else []),
            Setting(flag="--max_batch_size", value=str(seqs), why=why_seqs),
            Setting(flag="--max_seq_len", value=str(context), why=why_context),
            Setting(
                flag="--max_num_tokens",
                value=str(dep.engine.max_batched_tokens),
                why="the catalog's per-step token budget (chunked prefill)",
            ),
            Setting(flag="--kv_cache_free_gpu_memory_fraction", value=f"{dep.engine.gpu_memory_utilization:g}", why=why_mem),
        ]
        command = f"trtllm-serve {weights} --port {port}"
    elif config.engine == "llama.cpp":
        cache = "f16" if config.kv_dtype == "bf16" else config.kv_dtype
        settings = [
            Setting(flag="-np", value=str(seqs), why=why_seqs),
            Setting(
                flag="-c",
                value=str(option.context_tokens or seqs * context),
                why=f"the option's context_tokens, as planned ({option.context_tokens:,} over {seqs} slots)"
                if option.context_tokens
                else f"{seqs} slots x {context:,} tokens: llama-server divides -c among the slots; {why_context}",
            ),
            Setting(flag="-ngl", value="999", why="every layer on the accelerator (the capacity model assumes no CPU offload)"),
            Setting(flag="-fa", value="on", why="flash attention: the attention cost the capacity model assumes"),
            Setting(flag="--cache-type-k", value=cache, why=f"KV cache in {config.kv_dtype}"),
            Setting(flag="--cache-type-v", value=cache, why=f"KV cache in {config.kv_dtype}"),
        ]
        if dep.num_devices > 1:
            settings.append(Setting(flag="--split-mode", value="layer", why=why_tp))
        command = f"llama-server -m <{config.model} {config.quant.upper()} .gguf of {repo}> --port {port}"
    elif config.engine == "ollama":
        settings = [
            Setting(flag="OLLAMA_NUM_PARALLEL", value=str(seqs), why=why_seqs),
            Setting(flag="OLLAMA_CONTEXT_LENGTH", value=str(context), why=why_context),
            Setting(flag="OLLAMA_MAX_LOADED_MODELS", value="1", why="one model holds the memory the plan gives it"),
            Setting(flag="OLLAMA_FLASH_ATTENTION", value="1", why="flash attention: the attention cost the capacity model assumes"),
        ]
        if config.kv_dtype != "bf16":
            settings.append(Setting(flag="OLLAMA_KV_CACHE_TYPE", value=config.kv_dtype, why=f"KV cache in {config.kv_dtype}"))
        env = " ".join(f"{s.flag}={s.value}" for s in settings)
        command = f"{env} OLLAMA_HOST=127.0.0.1:{port} ollama serve  # then: ollama run <tag of {config.model} {config.quant}>"
    else:
        settings = [Setting(flag="--model", value=weights, why="MLX serves one request at a time: no batching settings")]
        command = f"mlx_lm.server --port {port}"
    settings += _datacenter_settings(dep)
    if not env:
        command += "".join(f" {s.flag}" + (f" {s.value}" if s.value else "") for s in settings)
    mean_prompt = round(scenario.workload.prompt_tokens.expected)
    mean_output = round(scenario.workload.output_tokens.expected)
    levels = sorted({1, max(1, seqs // 4), seqs})
    bench = (
        f"tokenlane bench http://127.0.0.1:{port}/v1 --model {repo if config.engine in ('vllm', 'sglang') else config.model} "
        f"--concurrency {','.join(map(str, levels))} --prompt-tokens {mean_prompt} --output-tokens {mean_output} --out bench-{config.model}"
    )
    note = (
        f"Run {replicas} replica(s) behind {BALANCERS[option.router]}. After the bench, add "
        f"`measured: bench-{config.model}/summary.json` to the option: `tokenlane plan` then checks the model against it."
    )
    if config.engine == "llama.cpp":
        weights = f"<{config.model} {config.quant.upper()} .gguf of {repo}>"
    if (pools := dep.disaggregation) is not None:
        role = "`--disaggregation-mode prefill` / `decode`" if config.engine == "sglang" else "the KV connector above"
        note = (
            f"Run {replicas} layout(s) of {pools.prefill_count} prefill and {pools.decode_count} decode replicas of this command "
            f"({role}), KV caches over {pools.link.id}, behind a prefill/decode router (NVIDIA Dynamo, llm-d, or "
            f"sglang-router --pd-disaggregation). " + note.split(". ", 1)[1]
        )
    return Recipe(engine=config.engine, command=command, weights=weights, settings=settings, replicas=replicas, bench=bench, note=note)
