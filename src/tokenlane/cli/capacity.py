"""`tokenlane capacity`: the concurrency curve of one deployment."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from tokenlane import InputError, build_deployment, concurrency_curve, load_catalog, model_from_hf_config
from tokenlane.capacity import Deployment, Disaggregation
from tokenlane.capacity.speculative import Speculation
from tokenlane.catalog import Catalog
from tokenlane.cli._options import folding_table, parse_int_list
from tokenlane.simulate.modes import AtSlo, at_slo, steady_workload

DEFAULT_BATCHES = "1,2,4,8,16,32,64,128,256"


def _short(value: float) -> str:
    """Two significant figures: 5.8, 21, 3.1k."""
    if value >= 1000:
        return f"{value / 1000:.2g}k"
    return f"{value:.2g}" if value < 100 else f"{value:.0f}"


def _range(bounds: list[float] | None) -> str:
    """A second line 'lo–hi' for a table cell, '' without an interval."""
    return f"\n{_short(bounds[0])}–{_short(bounds[1])}" if bounds else ""


def command(
    model: Annotated[str, typer.Option(help="Model id from the catalog.")] = "qwen3-235b-a22b",
    model_config: Annotated[Path | None, typer.Option(help="Hugging Face config.json to use instead of --model.")] = None,
    hardware: Annotated[str, typer.Option(help="Hardware id.")] = "ryzen-ai-max-395-128gb",
    gpus: Annotated[
        int | None, typer.Option(min=1, help="Devices per replica; more than a server holds spans whole servers (default: the unit's).")
    ] = None,
    cross_server: Annotated[
        str, typer.Option(help="Across servers: pipeline (a stage per server, tensor parallel inside) or tensor (one group).")
    ] = "pipeline",
    quant: Annotated[str, typer.Option(help="Quantization id.")] = "ud-q3_k_xl",
    gguf: Annotated[Path | None, typer.Option(help="A GGUF file: its tensors' real types replace --quant.")] = None,
    model_gguf: Annotated[
        Path | None, typer.Option("--model-gguf", help="A GGUF file: the model from its header and the quant from its tensors.")
    ] = None,
    kv_dtype: Annotated[str, typer.Option(help="KV-cache dtype id.")] = "bf16",
    engine: Annotated[str, typer.Option(help="Serving engine id.")] = "llama.cpp",
    batch: Annotated[str, typer.Option(help="Concurrent sequences, comma-separated.")] = DEFAULT_BATCHES,
    context: Annotated[int, typer.Option(min=1, help="Tokens in each sequence's context while decoding.")] = 4096,
    prompt_tokens: Annotated[int, typer.Option(min=1, help="Prompt length for TTFT.")] = 1024,
    max_running: Annotated[int | None, typer.Option(min=1, help="Override the engine's running-sequence cap (-np, max_num_seqs).")] = None,
    routing_skew: Annotated[
        float | None, typer.Option(min=0.0, help="MoE routing skew (Zipf exponent; 0 = uniform; default: the model's measured one).")
    ] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
    measured: Annotated[Path | None, typer.Option(help="A `tokenlane bench` summary.json to compare with the model.")] = None,
    speculate: Annotated[int | None, typer.Option(min=1, max=16, help="Speculative decoding: tokens drafted per cycle.")] = None,
    acceptance: Annotated[float, typer.Option(min=0.0, max=0.99, help="Speculative decoding: per-token acceptance rate.")] = 0.7,
    draft_model: Annotated[str | None, typer.Option(help="Draft model id (default: the target's own MTP/EAGLE head).")] = None,
    draft_quant: Annotated[str | None, typer.Option(help="Draft model quant (default: the target's).")] = None,
    ep: Annotated[int, typer.Option(min=1, max=64, help="Expert parallelism: devices the routed experts are spread over.")] = 1,
    dp_attention: Annotated[int, typer.Option(min=1, max=64, help="Attention groups the tensor-parallel devices form.")] = 1,
    disaggregated: Annotated[
        str | None,
        typer.Option(
            help="A prefill/decode layout of this replica, xPyD (3P1D): its per-GPU throughput at the targets beside the aggregated one."
        ),
    ] = None,
    kv_link: Annotated[str, typer.Option(help="Disaggregated: the link KV caches move over (catalog links).")] = "infiniband",
    output_tokens: Annotated[int, typer.Option(min=1, help="Disaggregated: answer length of the requests compared.")] = 256,
    ttft_target: Annotated[float, typer.Option(min=0.001, help="Disaggregated: TTFT target, s (95% of requests).")] = 2.0,
    tpot_target: Annotated[float, typer.Option(min=0.1, help="Disaggregated: time per output token target, ms (95% of requests).")] = 25.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Per-user and aggregate decode tok/s, step time and TTFT vs concurrent users on one deployment."""
    catalog = load_catalog(catalog_file or [])
    if model_config is not None:
        custom = model_from_hf_config(model_config)
        catalog = catalog.with_entries("models", [custom])
        model = custom.id
    if model_gguf is not None:
        if model_config is not None or gguf is not None:
            raise InputError("reads both the model and the quant: leave out --model-config and --gguf", field="--model-gguf")
        from tokenlane.catalog.gguf_file import model_from_gguf

        from_file = model_from_gguf(model_gguf)
        catalog = catalog.with_entries("models", [from_file])
        model, gguf = from_file.id, model_gguf
    if gguf is not None:
        from tokenlane.catalog.gguf_file import quant_from_gguf

        file_quant = quant_from_gguf(gguf, catalog.model_by_id(model), catalog.quants)
        catalog = catalog.with_entries("quants", [file_quant])
        quant = file_quant.id
    dep = build_deployment(
        catalog,
        hardware=hardware,
        model=model,
        quant=quant,
        engine=engine,
        kv_dtype=kv_dtype,
        gpus=gpus,
        cross_server=cross_server,
        routing_skew=routing_skew,
        max_running_seqs=max_running,
        expert_parallel=ep,
        dp_attention=dp_attention,
    )
    modes = _serving_modes(dep, disaggregated, kv_link, catalog, prompt_tokens, output_tokens, ttft_target, tpot_target)
    points = []
    if measured is not None:
        from tokenlane.bench import load_measured_curve  # aiohttp is heavy: only when asked

        points = load_measured_curve(measured)
    users = [p.concurrency for p in points] if points else parse_int_list(batch, option="--batch")
    errors = list(catalog.prediction_errors.values())
    report = concurrency_curve(dep, users, context_tokens=context, prompt_tokens=prompt_tokens, errors=errors)
    spec = None
    if speculate is not None:
        draft = None
        if draft_model is not None:
            draft_quant = draft_quant or quant
            draft = build_deployment(
                catalog, hardware=hardware, model=draft_model, quant=draft_quant, engine=engine, gpus=gpus, cross_server=cross_server
            )
        spec = Speculation(speculate, acceptance, draft)
    elif draft_model is not None:
        raise InputError("only applies with --speculate", field="--draft-model")
    fast: list[float | None] = []
    spec_cap = 0
    if spec is not None:
        sped = concurrency_curve(dataclasses.replace(dep, speculation=spec), users, context_tokens=context, prompt_tokens=prompt_tokens)
        fast = [p.per_user_tok_s if p.running else None for p in sped.points]  # a draft model's memory can queue users
        spec_cap = sped.max_concurrent_sequences
    if json_out:
        doc = report.model_dump(mode="json")
        doc["routing_skew"] = dep.routing_skew
        if spec is not None:
            doc["speculative"] = {
                "draft_tokens": spec.draft_tokens,
                "acceptance": spec.acceptance,
                "draft_model": draft_model,
                "expected_tokens_per_cycle": spec.expected_tokens,
                "per_user_tok_s": fast,
                "max_concurrent_sequences": spec_cap,
            }
        if points:
            doc["measured"] = [p.model_dump(mode="json") for p in points]
        if modes:
            doc["serving_modes"] = [dataclasses.asdict(m) for m in modes]
        typer.echo(json.dumps(doc, indent=2))
        return
    console = Console()
    layout = f" ({report.pipeline_stages} pipeline stages)" if report.pipeline_stages > 1 else ""
    title = f"{report.model} · {report.quant} on {report.gpus}x {report.hardware}{layout} · {report.engine}"
    setting = f"[dim]usable memory assumes: {escape(report.memory_setting)}[/]" if report.memory_setting else ""
    if not report.fits:
        console.print(f"[bold red]Does not fit[/]: {title} — weights {report.weights_gb:.1f} GB, short by {report.shortfall_gb:.1f} GB")
        if setting:
            console.print(setting)
        return
    console.print(
        f"[bold]{title}[/]\nweights {report.weights_gb:.1f} GB · KV {report.kv_bytes_per_token / 1024:.0f} KiB/token · "
        f"KV budget {report.kv_budget_gb:.1f} GB ({report.kv_capacity_tokens:,} tokens of context for all users) · "
        f"max {report.max_concurrent_sequences} sequences at {report.context_tokens:,} context"
    )
    if setting:
        console.print(setting)
    if dep.model.moe and dep.routing_skew:
        whence = "as given" if routing_skew is not None else "the model's measured expert load, see its source in `catalog show`"
        console.print(f"[dim]MoE routing skew {dep.routing_skew:g} (Zipf exponent of expert popularity; {whence})[/]")
    columns = ["users", "running", "step ms", "stream tok/s", "per-user tok/s (80%)", "aggregate tok/s", "TTFT ms (80%)"]
    extra = (["speculative per-user tok/s", "speed-up"] if spec else []) + (["measured tok/s p50", "model error"] if points else [])
    table = folding_table(*columns, *extra)
    for i, p in enumerate(report.points):
        row = [
            str(p.batch),
            str(p.running),
            f"{p.decode_step_ms:.1f}",
            f"{p.stream_tok_s:.1f}",
            f"{p.per_user_tok_s:.1f}" + _range(p.per_user_tok_s_range),
            f"{p.aggregate_tok_s:.0f}",
            f"{p.ttft_ms:.0f}" + _range(p.ttft_ms_range),
        ]
        if spec is not None:
            tok = fast[i]
            row += [f"{tok:.1f}", f"{tok / p.per_user_tok_s:.2f}x"] if tok else ["—", "—"]
        if points:
            seen = points[i].per_user_tok_s_p50
            row += [f"{seen:.1f}", f"{p.stream_tok_s / seen - 1:+.1%}"] if seen else ["—", "—"]
        table.add_row(*row)
    console.print(table)
    basis = next((p.range_basis for p in report.points if p.range_basis), "")
    if basis:
        console.print(f"[dim]80% intervals from the catalog's public rows against the model (docs/capacity.md); {escape(basis)}[/]")
    if spec is not None:
        how = f"draft model {draft_model}" if draft_model else "the target's own head (MTP/EAGLE)"
        console.print(
            f"speculative: {spec.draft_tokens} drafted by {how}, acceptance {spec.acceptance:g}: "
            f"{spec.expected_tokens:.2f} tokens per cycle (docs/capacity.md)"
        )
        if spec_cap != report.max_concurrent_sequences:
            console.print(
                f"the draft model's weights and KV leave room for {spec_cap} sequences at {report.context_tokens:,} context "
                f"(without it {report.max_concurrent_sequences}); users beyond that queue"
            )
    if modes:
        _print_modes(console, modes, prompt_tokens, output_tokens, ttft_target, tpot_target)


def _serving_modes(
    dep: Deployment,
    layout: str | None,
    link: str,
    catalog: Catalog,
    prompt_tokens: int,
    output_tokens: int,
    ttft_s: float,
    tpot_ms: float,
) -> list[AtSlo]:
    """The replica aggregated and in the `layout` (xPyD) at the targets (`simulate.modes`); [] without a layout."""
    if layout is None:
        return []
    found = re.fullmatch(r"\s*(\d+)\s*[Pp]\s*(\d+)\s*[Dd]\s*", layout)
    if not found or not int(found[1]) or not int(found[2]):
        raise InputError(
            f"'{layout}' is not xPyD with x and y at least 1 (3P1D: three prefill replicas, one decode)", field="--disaggregated"
        )
    pools = Disaggregation(dep, int(found[1]), int(found[2]), catalog.link_by_id(link, field="--kv-link"))
    try:
        layout_dep = dataclasses.replace(dep, disaggregation=pools)
    except InputError as exc:
        raise InputError(exc.message, field="--kv-link" if (exc.field or "").endswith("kv_link") else "--disaggregated") from None
    workload = steady_workload(prompt_tokens, output_tokens, ttft_s=ttft_s, tpot_ms=tpot_ms)
    return [at_slo(dep, workload), at_slo(layout_dep, workload)]


def _print_modes(console: Console, modes: list[AtSlo], prompt_tokens: int, output_tokens: int, ttft_s: float, tpot_ms: float) -> None:
    table = folding_table(
        "layout",
        "GPUs",
        "req/s",
        "out tok/s /GPU",
        "in tok/s /GPU",
        "TTFT p95 s",
        "TPOT p95 ms",
        "vs agg.",
        title=f"At the targets ({prompt_tokens:,} + {output_tokens:,} tokens, TTFT {ttft_s:g} s, TPOT {tpot_ms:g} ms for 95%)",
    )
    base = modes[0].output_tok_s_per_gpu
    for m in modes:
        table.add_row(
            m.layout,
            str(m.devices),
            f"{m.rate_rps:.2f}",
            f"{m.output_tok_s_per_gpu:,.0f}",
            f"{m.input_tok_s_per_gpu:,.0f}",
            f"{m.ttft_p95_s:.2f}" if m.ttft_p95_s is not None else "—",
            f"{m.tpot_p95_ms:.1f}" if m.tpot_p95_ms is not None else "—",
            f"{m.output_tok_s_per_gpu / base:.2f}x" if base else "—",
        )
    console.print(table)
    console.print("[dim]by simulated steady days (docs/disaggregated.md); requests per second within 3% of the most the unit carries[/]")
