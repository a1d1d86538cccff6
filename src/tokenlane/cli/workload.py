"""`tokenlane workload fit`: turn a request log into the scenario `workload` section it stands for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenlane.cli._options import parse_trace_columns
from tokenlane.trace_fit import fit_workload
from tokenlane.traces import TRACE_FORMATS, read_trace

app = typer.Typer(help="Work with request logs: fit a workload section from your own traffic.", no_args_is_help=True)
MAX_REQUESTS = 10_000_000
"""Largest log `fit` reads (it keeps token counts only: about 60 bytes a request)."""


@app.command("fit")
def fit(
    trace: Annotated[Path, typer.Argument(help="The request log.")],
    format: Annotated[str, typer.Option("--format", help=f"Log format: {', '.join(TRACE_FORMATS)}.")],
    columns: Annotated[
        str | None, typer.Option(help="csv: timestamp=COL,input=COL,output=COL[,user=COL][,session=COL][,cached=COL].")
    ] = None,
    timestamp_unit: Annotated[str, typer.Option(help="csv: unit of numeric timestamps, s or ms.")] = "s",
    users: Annotated[int | None, typer.Option(min=1, help="People whose requests the log holds (default: the users it names).")] = None,
    block_tokens: Annotated[int, typer.Option(min=1, help="Prompt tokens per hash_ids block (Mooncake: 512).")] = 512,
) -> None:
    """Print the workload section a request log stands for: rate, hourly curve, token quantiles, sessions, cache hits."""
    read = read_trace(trace, format, max_requests=MAX_REQUESTS, columns=parse_trace_columns(columns, timestamp_unit))
    typer.echo(fit_workload(read, users=users, block_tokens=block_tokens).yaml(trace.name), nl=False)
