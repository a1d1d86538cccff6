"""Measure real OpenAI-compatible endpoints: streaming client, timing definitions, crash-safe JSONL results."""

from tokenlane.bench.client import BenchConfig, normalise_base_url, stream_one
from tokenlane.bench.prompts import load_prompts, synthetic_prompt
from tokenlane.bench.results import ResultsFile, load_measured_curve, load_records
from tokenlane.bench.run import TraceReplay, run_bench, run_bench_sync, run_sync, run_trace_bench
from tokenlane.bench.timing import DEFINITIONS, RequestRecord, summarise_level

__all__ = [
    "DEFINITIONS",
    "BenchConfig",
    "RequestRecord",
    "ResultsFile",
    "TraceReplay",
    "load_measured_curve",
    "load_prompts",
    "load_records",
    "normalise_base_url",
    "run_bench",
    "run_bench_sync",
    "run_sync",
    "run_trace_bench",
    "stream_one",
    "summarise_level",
    "synthetic_prompt",
]
