"""`tokenlane catalog list|show`: browse the catalog with sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from tokenlane import load_catalog

app = typer.Typer(help="Browse the hardware, models, quants and engines tokenlane knows, with sources.", no_args_is_help=True)
Section = Literal["hardware", "models", "quants", "kv_dtypes", "engines", "api_models", "api_providers"]
_SUMMARY = {
    "hardware": lambda e: f"{e.num_devices}x {e.memory_gib:g} GiB, {e.memory_bandwidth_gbps:g} GB/s, {e.bf16_tflops:g} bf16 TFLOP/s",
    "models": lambda e: (
        f"{e.num_layers} layers, d={e.hidden_size}" + (f", MoE {e.moe.experts_per_token}/{e.moe.num_experts}" if e.moe else "")
    ),
    "quants": lambda e: (
        f"{e.bits_per_weight:g} bits/weight" + (f" (experts {e.expert_bits_per_weight:g})" if e.expert_bits_per_weight else "")
    ),
    "kv_dtypes": lambda e: f"{e.bytes_per_element:g} bytes/element",
    "engines": lambda e: f"{e.batching}, up to {e.max_running_seqs} running",
    "api_models": lambda e: f"{e.provider}/{e.model}, {e.quality_tier} tier",
    "api_providers": lambda e: f"{e.provider}: processes in {e.processes_in}, retains in {e.retains_in}",
}


@app.command("list")
def list_entries(
    section: Annotated[
        Section | None, typer.Argument(help="hardware, models, quants, kv_dtypes, engines, api_models or api_providers (default: all).")
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
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="Any catalog id.")],
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Show every field of one entry."""
    kind, entry = load_catalog(catalog_file or []).find(entry_id)
    table = Table("field", "value", title=f"{kind}: {entry.id}")
    for key, value in entry.model_dump(mode="json").items():
        table.add_row(key, "—" if value is None else str(value))  # an optional field left out
    Console().print(table)
