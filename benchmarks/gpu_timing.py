"""Shared by the GPU scripts: time a step replayed from a CUDA graph, write rows in reference-measurements columns."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence

import torch

COLUMNS = [
    "source",
    "hardware",
    "engine",
    "model",
    "quant",
    "model_file_gib",
    "test",
    "batch",
    "prompt_tokens",
    "context_depth",
    "output_tokens",
    "metric",
    "value",
    "unit",
    "notes",
]
"""The columns of ../shared/data/reference-measurements.csv."""


def time_graph(fn: Callable[[], None], iters: int = 50) -> float:
    """Mean seconds per call of `fn`, captured once in a CUDA graph (no launch overhead) and timed with CUDA events."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        graph.replay()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / iters


def write_rows(path: str, rows: Sequence[Sequence[object]]) -> None:
    """Write measurement rows under the reference CSV's header."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
