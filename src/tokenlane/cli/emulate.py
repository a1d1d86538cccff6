"""`tokenlane emulate`: serve a box as a live OpenAI-compatible endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenlane import build_deployment, load_catalog, plan_memory

GRACEFUL_SHUTDOWN_S = 2
"""On SIGTERM or Ctrl-C open streams get this long to finish before they are closed and the server exits."""


def command(
    hardware: Annotated[str, typer.Option(help="Hardware id.")] = "ryzen-ai-max-395-128gb",
    model: Annotated[str, typer.Option(help="Model id.")] = "qwen3-235b-a22b",
    quant: Annotated[str, typer.Option(help="Quantization id.")] = "ud-q3_k_xl",
    engine: Annotated[str, typer.Option(help="Engine id (its batching decides how streams share the box).")] = "llama.cpp",
    gpus: Annotated[int | None, typer.Option(min=1, help="Devices, tensor parallel.")] = None,
    kv_dtype: Annotated[str, typer.Option(help="KV-cache dtype id.")] = "bf16",
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    max_streams: Annotated[int, typer.Option(min=1, help="Concurrent requests before answering 429.")] = 512,
    served_model_name: Annotated[str | None, typer.Option(help="Model name clients must send (default: the model id).")] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Serve an OpenAI-compatible endpoint whose streams are paced like the given box under its engine."""
    import uvicorn

    from tokenlane.emulate import create_app

    dep = build_deployment(
        load_catalog(catalog_file or []), hardware=hardware, model=model, quant=quant, engine=engine, gpus=gpus, kv_dtype=kv_dtype
    )
    plan = plan_memory(dep)
    if not plan.fits:
        from tokenlane import InputError

        raise InputError(
            f"{model} in {quant} does not fit on {dep.num_devices}x {hardware}: short by {plan.shortfall_gb:.1f} GB", field="--model"
        )
    typer.echo(f"tokenlane emulate: {model} ({quant}) on {dep.num_devices}x {hardware} with {engine} at http://{host}:{port}/v1", err=True)
    uvicorn.run(
        create_app(dep, model_name=served_model_name, max_streams=max_streams),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
