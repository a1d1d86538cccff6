"""`tokenlane catalog list|show`: browse the catalog with sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from tokenlane import Catalog, InputError, load_catalog
from tokenlane.catalog.models import Rated

app = typer.Typer(help="Browse the hardware, models, quants and engines tokenlane knows, with sources.", no_args_is_help=True)
Section = Literal["hardware", "models", "quants", "kv_dtypes", "engines", "api_models", "api_providers", "benchmarks"]
_KINDS = {
    "hardware": "hardware",
    "model": "models",
    "models": "models",
    "quant": "quants",
    "quants": "quants",
    "kv_dtype": "kv_dtypes",
    "kv_dtypes": "kv_dtypes",
    "engine": "engines",
    "engines": "engines",
    "api_model": "api_models",
    "api_models": "api_models",
    "api_provider": "api_providers",
    "api_providers": "api_providers",
    "benchmark": "benchmarks",
    "benchmarks": "benchmarks",
}
"""`catalog show KIND ID`: the section each kind word names."""
_SUMMARY = {
    "hardware": lambda e: f"{e.num_devices}x {e.memory_gib:g} GiB, {e.memory_bandwidth_gbps:g} GB/s, {e.bf16_tflops:g} bf16 TFLOP/s",
    "models": lambda e: (
        f"{e.num_layers} layers, d={e.hidden_size}" + (f", MoE {e.moe.experts_per_token}/{e.moe.num_experts}" if e.moe else "")
    ),
    "quants": lambda e: (
        f"{e.bits_per_weight:g} bits/weight" + (f" (experts {e.expert_bits_per_weight:g})" if e.expert_bits_per_weight else "")
    ),
    "kv_dtypes": lambda e: f"{e.bytes_per_element:g} bytes/element",
    "engines": lambda e: f"{e.batching}, up to {e.max_running_seqs} running, on " + ", ".join(sorted({p.vendor for p in e.runs_on})),
    "api_models": lambda e: f"{e.provider}/{e.model}, {e.quality_tier} tier",
    "benchmarks": lambda e: e.name,
    "api_providers": lambda e: f"{e.provider}: processes in {e.processes_in}, retains in {e.retains_in}",
}


@app.command("list")
def list_entries(
    section: Annotated[
        Section | None,
        typer.Argument(help="hardware, models, quants, kv_dtypes, engines, api_models, api_providers or benchmarks (default: all)."),
    ] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List catalog entries with their source and date."""
    catalog = load_catalog(catalog_file or [])
    sections = [section] if section else list(_SUMMARY)
    if json_out:
        import json

        doc = {s: [e.model_dump(mode="json") for e in catalog.section(s).values()] for s in sections}
        typer.echo(json.dumps(doc, indent=2))
        return
    console = Console()
    for s in sections:
        table = Table("id", "summary", "as of", "source", title=s, show_lines=False)
        for entry in catalog.section(s).values():
            table.add_row(entry.id, _SUMMARY[s](entry), str(entry.as_of), entry.source)
        console.print(table)


@app.command("show")
def show_entry(
    first: Annotated[str, typer.Argument(metavar="[KIND] ID", help="Any catalog id, optionally after its kind (model, quant, ...).")],
    second: Annotated[str | None, typer.Argument(metavar="", help="The id, when KIND comes first.", show_default=False)] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Show every field of one entry; a model's published scores with source, harness and date."""
    catalog = load_catalog(catalog_file or [])
    if second is None:
        kind, entry = catalog.find(first)
    elif first not in _KINDS:
        raise InputError(f"unknown kind '{first}'; use one of {', '.join(sorted(set(_KINDS)))}", field="KIND")
    else:
        kind, entry = _KINDS[first], catalog.get(_KINDS[first], second)  # type: ignore[arg-type]
    table = Table("field", "value", title=f"{kind}: {entry.id}")
    for key, value in entry.model_dump(mode="json", exclude={"quality"}).items():
        table.add_row(key, "—" if value is None else str(value))  # an optional field left out
    console = Console()
    console.print(table)
    if isinstance(entry, Rated):
        console.print(_scores_table(entry, catalog))


def _scores_table(entry: Rated, catalog: Catalog) -> Table:
    """One row per published figure (or per benchmark where none is published): the score, harness, setting, date
    and source; the figure a verdict uses is marked."""
    table = Table("benchmark", "score", "harness", "setting", "as of", "source", title="quality (* the figure a verdict uses)")
    for benchmark in catalog.benchmarks.values():
        figures = entry.quality.get(benchmark.id, ())
        used = entry.score_on(benchmark.id)
        if not figures:
            table.add_row(benchmark.name, "not in the catalog", "", "", "", "")
        for figure in figures:
            score = "no published score" if figure.score is None else f"{figure.score:g}" + (" *" if figure is used else "")
            table.add_row(benchmark.name, score, figure.harness or "", figure.setting, str(figure.as_of), figure.source)
    return table
