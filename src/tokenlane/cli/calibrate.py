"""`tokenlane calibrate`: fit one box's engine parameters to its benchmark files and write a catalog overlay."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tokenlane import InputError, build_deployment, load_catalog
from tokenlane.calibrate import FORMATS, calibrate, overlay_yaml, read_measurements, write_overlay
from tokenlane.capacity.memory import file_sized_quant
from tokenlane.catalog.models import Model, Quant
from tokenlane.cli._options import fitted_table

SAME_FILE_BITS = 0.01
"""Measurements whose weights files differ in bits per weight by more than this share are from different files."""


def command(
    files: Annotated[list[Path], typer.Argument(help=f"Benchmark results: {', '.join(FORMATS)} (recognised by their content).")],
    hardware: Annotated[str, typer.Option(help="Catalog hardware the measurements ran on.")],
    engine: Annotated[str, typer.Option(help="Catalog engine that served them.")],
    model: Annotated[str, typer.Option(help="Catalog model measured.")],
    quant: Annotated[str, typer.Option(help="Catalog quant (llama-bench files give the real bits per weight).")] = "bf16",
    gpus: Annotated[int | None, typer.Option(min=1, help="Devices (tensor parallel).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the catalog overlay here (use it with --catalog).")] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Fit decode bandwidth, step overhead and prefill efficiency of one (hardware, engine) to your benchmark files."""
    points = [m for f in files for m in read_measurements(f)]
    if not points:
        raise InputError("holds no test tokenlane can fit (llama-bench pp/tg tests, serving TPOT/TTFT)", path=str(files[0]))
    catalog = load_catalog(catalog_file or [])
    file_quant = _file_quant(points, catalog.model_by_id(model, field="model"), catalog.quants.get(quant), files)
    if file_quant is not None:
        catalog = catalog.with_entries("quants", [file_quant])
    dep = build_deployment(catalog, hardware=hardware, model=model, quant=file_quant.id if file_quant else quant, engine=engine, gpus=gpus)
    result = calibrate(dep, points)
    console = Console()
    rows = [
        [
            m.file,
            m.label,
            m.kind,
            f"{m.seconds * 1000:.2f}",
            f"{(before / m.seconds - 1) * 100:+.1f}%",
            f"{(after / m.seconds - 1) * 100:+.1f}%",
        ]
        for m, before, after in result.points
    ]
    columns = [
        ("file", 3, True),
        ("test", 0, True),
        ("kind", 2, False),
        ("measured ms", 1, False),
        ("before", 0, False),
        ("after", 0, False),
    ]
    console.print(fitted_table(console.width, columns, rows, title=f"{model} on {hardware} x {engine}: model error per point"))
    before = statistics.median(abs(b / m.seconds - 1) for m, b, _ in result.points) * 100
    after = statistics.median(abs(a / m.seconds - 1) for m, _, a in result.points) * 100
    console.print(f"median absolute error: {before:.1f}% with the catalog, {after:.1f}% calibrated")
    for f in result.fitted:
        spread = f" ± {f.std_error:.2g}" if f.std_error is not None else " (as many points as parameters: no error estimate)"
        console.print(f"fitted {f.name}: {f.catalog:.4g} -> {f.value:.4g}{spread}")
    for name, why in result.kept.items():
        console.print(f"kept {name} at the catalog value: {why}")
    if out is not None:
        engine_id = f"{engine}-on-{hardware}"
        write_overlay(out, overlay_yaml(result, engine_id=engine_id, dep=dep, files=[f.name for f in files], quant=file_quant))
        console.print(
            f"overlay: {out} (use `--catalog {out}` and engine `{engine_id}`" + (f", quant `{file_quant.id}`" if file_quant else "") + ")"
        )


def _file_quant(points: list, model: Model, base: Quant | None, files: list[Path]) -> Quant | None:
    """The weights file's own quant, from llama-bench's file size and parameter count (one file per calibration): the
    quant it is named as, its mix of bits scaled to the file's size (`file_sized_quant`)."""
    bits = [m.bits_per_weight for m in points if m.bits_per_weight]
    if not bits:
        return None
    if max(bits) > min(bits) * (1 + SAME_FILE_BITS):
        raise InputError(
            f"the files measure different weights files ({min(bits):.2f} to {max(bits):.2f} bits/weight): calibrate one at a time"
        )
    b = statistics.median(bits)
    return file_sized_quant(
        model,
        base,
        b,
        id=f"file-{b:.2f}bpw",
        name=f"weights file at {b:.2f} bits/weight",
        source=f"llama-bench model_size x 8 / model_n_params in {', '.join(f.name for f in files)}",
        as_of=max((m.as_of for m in points if m.as_of), default="2026-11-28"),
    )
