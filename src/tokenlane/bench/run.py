"""A bench run: levels of fixed concurrency, an open-loop rate, or a sweep that stops when the SLO breaks or the
server saturates; every finished request goes to requests.jsonl at once, the summary at the end of each level."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
from collections.abc import Callable
from typing import Any

from tokenlane.bench.client import BenchConfig, LoopMonitor, probe, run_closed_loop, run_open_loop
from tokenlane.bench.prompts import prompt_source
from tokenlane.bench.results import ResultsFile, done_per_level, load_records
from tokenlane.bench.timing import DEFINITIONS, RequestRecord, pct, summarise_level

SATURATION_GAIN = 1.05
"""A sweep stops when doubling concurrency raises aggregate tok/s by less than 5%."""
LAG_WARN_MS = 5.0
CPU_WARN_FRACTION = 0.9
ERROR_WARN_RATE = 0.05


def _stop_reason(level: dict[str, Any], previous: dict[str, Any] | None, *, min_tok_s: float, max_ttft_s: float) -> str | None:
    tok = level["per_user_tok_s"]["p95"]
    ttft = level["ttft_s"]["p95"]
    if level["error_rate"] > 0.5:
        return f"more than half the requests failed at concurrency {level['concurrency']}"
    if tok is not None and tok < min_tok_s:
        return f"SLO broken: p95 decode {tok:.1f} tok/s < {min_tok_s:g} at concurrency {level['concurrency']}"
    if ttft is not None and ttft > max_ttft_s:
        return f"SLO broken: p95 TTFT {ttft:.2f} s > {max_ttft_s:g} s at concurrency {level['concurrency']}"
    if previous and level["aggregate_tok_s"] < previous["aggregate_tok_s"] * SATURATION_GAIN:
        return f"saturated: aggregate {level['aggregate_tok_s']:.0f} tok/s vs {previous['aggregate_tok_s']:.0f} at half the concurrency"
    return None


async def run_bench(
    cfg: BenchConfig,
    results: ResultsFile,
    *,
    concurrencies: list[int],
    requests_per_level: int,
    prompt_tokens: int,
    rate_per_s: float | None = None,
    sweep: bool = False,
    max_concurrency: int = 1024,
    min_tok_s: float = 10.0,
    max_ttft_s: float = 3.0,
    seed: int = 0,
    dataset: list[str] | None = None,
    on_record: Callable[[RequestRecord], None] = lambda r: None,
    resume: bool = False,
) -> dict[str, Any]:
    """Run the levels and return the summary document (also written to summary.json)."""
    words, tokens_per_word = await probe(cfg, prompt_tokens)
    prompt_of = prompt_source(words=words, seed=seed, dataset=dataset)
    previous_records = load_records(results.folder) if resume else []
    done = done_per_level(previous_records)
    monitor = LoopMonitor()
    monitor.start()
    levels: list[dict[str, Any]] = []
    stopped: str | None = None
    plan = [rate_per_s] if rate_per_s else (list(concurrencies) if not sweep else [])
    c = concurrencies[0] if sweep else 0
    warnings: list[str] = []

    def record(r: RequestRecord) -> None:
        results.append(r)
        on_record(r)

    while True:
        if sweep:
            if c > max_concurrency:
                stopped = f"reached --max-concurrency {max_concurrency}"
                break
            level_key: float = c
        elif plan:
            level_key = plan.pop(0)
        else:
            break
        key = int(level_key) if not rate_per_s else round(level_key * 1000)
        already = done.get(key, 0)
        todo = max(0, requests_per_level - already)
        if todo:
            if rate_per_s:
                await run_open_loop(
                    cfg, rate_per_s=level_key, requests=todo, prompt_of=prompt_of, first_index=already, on_done=record, seed=seed, level=key
                )
            else:
                await run_closed_loop(
                    cfg, concurrency=key, requests=todo, prompt_of=prompt_of, first_index=already, on_done=record, seed=seed
                )
        level_records = [r for r in [*previous_records, *load_records(results.folder)] if r.level == key]
        unique = {r.index: r for r in level_records}
        summary = summarise_level(list(unique.values()), concurrency=key, min_tok_s=min_tok_s, max_ttft_s=max_ttft_s)
        if rate_per_s:
            summary["rate_per_s"] = level_key
        if summary["error_rate"] > ERROR_WARN_RATE:
            warnings.append(f"{summary['error_rate']:.0%} of requests failed at level {key}: {summary['errors_by_class']}")
        levels.append(summary)
        previous_records = []
        if sweep:
            stopped = _stop_reason(summary, levels[-2] if len(levels) > 1 else None, min_tok_s=min_tok_s, max_ttft_s=max_ttft_s)
            if stopped:
                break
            c *= 2
        results.write_summary(
            _document(cfg, levels, prompt_tokens, tokens_per_word, monitor, 0.0, warnings, stopped, min_tok_s, max_ttft_s)
        )
    cpu = await monitor.stop()
    lag = pct(monitor.lags_ms)
    if (lag["p99"] or 0) > LAG_WARN_MS:
        warnings.append(f"client event-loop lag p99 {lag['p99']:.1f} ms: timings may be distorted by the client")
    if cpu > CPU_WARN_FRACTION:
        warnings.append(f"client CPU at {cpu:.0%} of one core: timings may be distorted by the client")
    doc = _document(cfg, levels, prompt_tokens, tokens_per_word, monitor, cpu, warnings, stopped, min_tok_s, max_ttft_s)
    results.write_summary(doc)
    return doc


def _document(
    cfg: BenchConfig,
    levels: list[dict[str, Any]],
    prompt_tokens: int,
    tokens_per_word: float,
    monitor: LoopMonitor,
    cpu: float,
    warnings: list[str],
    stopped: str | None,
    min_tok_s: float,
    max_ttft_s: float,
) -> dict[str, Any]:
    return {
        "tool": f"tokenlane {importlib.metadata.version('tokenlane')} bench",
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "url": cfg.base_url,
        "endpoint": cfg.path,
        "model": cfg.model,
        "prompt_tokens": prompt_tokens,
        "prompt_tokens_per_word": tokens_per_word,
        "output_tokens": cfg.output_tokens,
        "ignore_eos": cfg.ignore_eos,
        "think_time_s": cfg.think_time_s,
        "slo": {"min_tok_s_per_user": min_tok_s, "max_ttft_s": max_ttft_s},
        "levels": levels,
        "stopped": stopped,
        "client": {"loop_lag_ms": pct(monitor.lags_ms), "cpu_fraction": cpu, "event_loop": event_loop_name()},
        "warnings": warnings,
        "definitions": DEFINITIONS,
    }


def event_loop_name() -> str:
    """uvloop where installed (lower per-chunk overhead), else asyncio's default loop."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run_bench_sync(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """`run_bench` on a fresh event loop (uvloop where installed)."""
    if event_loop_name() == "uvloop":
        import uvloop

        return uvloop.run(run_bench(*args, **kwargs))
    return asyncio.run(run_bench(*args, **kwargs))
