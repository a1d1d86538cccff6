"""A bench run: levels of fixed concurrency, an open-loop rate, or a sweep that stops when the SLO breaks or the
server saturates; every finished request goes to requests.jsonl at once, the summary at the end of each level."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from tokenlane.bench.client import BenchConfig, LoopMonitor, Probe, probe, run_closed_loop, run_open_loop
from tokenlane.bench.prompts import EVEN_WORDS, prompt_source
from tokenlane.bench.replay import TRACE_LEVEL, replay_requests, run_replay
from tokenlane.bench.results import ResultsFile, done_indices, load_records
from tokenlane.bench.server_metrics import ServerMetrics
from tokenlane.bench.timing import DEFINITIONS, RequestRecord, pct, summarise_level
from tokenlane.traces import CsvColumns

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
    ramp_up_s: float = 0.0,
    jitter_s: float = 0.0,
    server_metrics: bool = False,
) -> dict[str, Any]:
    """Run the levels and return the summary document (also written to summary.json after every level, and for the
    levels done so far when the run is interrupted or fails). `server_metrics`: scrape the server's `/metrics` while
    each level runs (`bench.server_metrics`) into the level's `server` section."""
    found = await probe(cfg, prompt_tokens)
    prompt_of = prompt_source(words=found.words, seed=seed, dataset=dataset)
    previous_records = load_records(results.folder) if resume else []
    done = done_indices(previous_records)
    monitor = LoopMonitor()
    monitor.start()
    levels: list[dict[str, Any]] = []
    stopped: str | None = None
    plan = [rate_per_s] if rate_per_s else (list(concurrencies) if not sweep else [])
    c = concurrencies[0] if sweep else 0
    warnings = _probe_warnings(found)

    def record(r: RequestRecord) -> None:
        results.append(r)
        on_record(r)

    def document(cpu: float) -> dict[str, Any]:
        return _document(cfg, levels, prompt_tokens, found, monitor, cpu, warnings, stopped, min_tok_s, max_ttft_s)

    try:
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
            key = int(level_key) if not rate_per_s else rate_level_key(level_key)
            missing = [i for i in range(requests_per_level) if i not in done.get(key, set())]
            scraper = ServerMetrics(cfg.base_url, cfg.headers()) if server_metrics and missing else None
            if scraper is not None:
                scraper.start()
            if missing:
                if rate_per_s:
                    await run_open_loop(
                        cfg,
                        rate_per_s=level_key,
                        indices=missing,
                        prompt_of=prompt_of,
                        on_done=record,
                        seed=seed,
                        level=key,
                        jitter_s=jitter_s,
                    )
                else:
                    await run_closed_loop(
                        cfg,
                        concurrency=key,
                        indices=missing,
                        prompt_of=prompt_of,
                        on_done=record,
                        seed=seed,
                        ramp_up_s=ramp_up_s,
                        jitter_s=jitter_s,
                    )
            if scraper is not None and not await _stop_scraping(scraper, warnings):
                server_metrics = False
            level_records = [r for r in [*previous_records, *load_records(results.folder)] if r.level == key]
            unique = {r.index: r for r in level_records}
            summary = summarise_level(
                list(unique.values()), concurrency=None if rate_per_s else key, min_tok_s=min_tok_s, max_ttft_s=max_ttft_s
            )
            if rate_per_s:
                summary["rate_per_s"] = level_key
            _add_server_section(summary, scraper)
            if summary["error_rate"] > ERROR_WARN_RATE:
                warnings.append(f"{summary['error_rate']:.0%} of requests failed at level {key}: {summary['errors_by_class']}")
            if summary["short_outputs"]:
                warnings.append(
                    f"{summary['short_outputs']} streams at level {key} ended far shorter than the {cfg.output_tokens} tokens asked"
                )
            levels.append(summary)
            previous_records = []
            if sweep:
                stopped = _stop_reason(summary, levels[-2] if len(levels) > 1 else None, min_tok_s=min_tok_s, max_ttft_s=max_ttft_s)
                if stopped:
                    break
                c *= 2
            results.write_summary(document(0.0))
    except BaseException as exc:
        stopped = f"interrupted ({type(exc).__name__}) after {len(levels)} completed level(s)"
        results.write_summary(document(0.0))
        raise
    cpu = await monitor.stop()
    lag = pct(monitor.lags_ms)
    if (lag["p99"] or 0) > LAG_WARN_MS:
        warnings.append(f"client event-loop lag p99 {lag['p99']:.1f} ms: timings may be distorted by the client")
    if cpu > CPU_WARN_FRACTION:
        warnings.append(f"client CPU at {cpu:.0%} of one core: timings may be distorted by the client")
    doc = document(cpu)
    results.write_summary(doc)
    return doc


@dataclass(frozen=True)
class TraceReplay:
    """What `bench --trace` replays."""

    path: str
    format: str
    columns: CsvColumns | None = None
    speedup: float = 1.0
    """Arrival gaps are divided by this."""
    block_tokens: int = 512
    max_requests: int = 100_000


async def run_trace_bench(
    cfg: BenchConfig,
    results: ResultsFile,
    replay: TraceReplay,
    *,
    min_tok_s: float = 10.0,
    max_ttft_s: float = 3.0,
    on_record: Callable[[RequestRecord], None] = lambda r: None,
    resume: bool = False,
    server_metrics: bool = False,
) -> dict[str, Any]:
    """Replay a log against the endpoint (bench/replay.py) and return the summary document: one level of the log's
    requests (concurrency null), with the trace it came from. A resumed run sends only the requests not yet done.
    `server_metrics`: scrape the server's `/metrics` during the replay (as `run_bench` does for each level)."""
    requests = list(
        replay_requests(
            replay.path,
            replay.format,
            columns=replay.columns,
            block_tokens=replay.block_tokens,
            speedup=replay.speedup,
            limit=replay.max_requests,
        )
    )
    mean_prompt = round(sum(r.prompt_tokens for r in requests) / len(requests)) if requests else 1
    found = await probe(cfg, mean_prompt, EVEN_WORDS)
    previous = load_records(results.folder) if resume else []
    done = done_indices(previous).get(TRACE_LEVEL, set())
    monitor = LoopMonitor()
    monitor.start()
    warnings = _probe_warnings(found)

    def record(r: RequestRecord) -> None:
        results.append(r)
        on_record(r)

    scraper = ServerMetrics(cfg.base_url, cfg.headers()) if server_metrics else None
    if scraper is not None:
        scraper.start()
    await run_replay(
        cfg,
        [r for r in requests if r.index not in done],
        tokens_per_word=found.tokens_per_word,
        block_tokens=replay.block_tokens,
        on_done=record,
    )
    if scraper is not None:
        await _stop_scraping(scraper, warnings)
    cpu = await monitor.stop()
    unique = {r.index: r for r in [*previous, *load_records(results.folder)] if r.level == TRACE_LEVEL}
    level = summarise_level(list(unique.values()), concurrency=None, min_tok_s=min_tok_s, max_ttft_s=max_ttft_s)
    _add_server_section(level, scraper)
    if level["error_rate"] > ERROR_WARN_RATE:
        warnings.append(f"{level['error_rate']:.0%} of requests failed: {level['errors_by_class']}")
    doc = _document(cfg, [level], mean_prompt, found, monitor, cpu, warnings, None, min_tok_s, max_ttft_s)
    doc["output_tokens"] = "per request, from the trace"
    doc["trace"] = {
        "file": replay.path,
        "format": replay.format,
        "requests": len(requests),
        "speedup": replay.speedup,
        "block_tokens": replay.block_tokens,
    }
    results.write_summary(doc)
    return doc


async def _stop_scraping(scraper: ServerMetrics, warnings: list[str]) -> bool:
    """Stop a level's scraping; False (with one warning) when the server gave nothing to read."""
    await scraper.stop()
    if scraper.problem and not scraper.samples:
        warnings.append(f"--server-metrics: {scraper.problem}; the summary has no server-side section")
        return False
    return True


def _add_server_section(level: dict[str, Any], scraper: ServerMetrics | None) -> None:
    """Put what the server said during the level in its summary, when it said anything."""
    if scraper is not None and (server := scraper.summary()) is not None:
        level["server"] = server


def rate_level_key(rate_per_s: float) -> int:
    """The level id an open-loop rate's records carry (milli-requests per second)."""
    return round(rate_per_s * 1000)


PACKED_CHUNKS = 1.1
"""Tokens a chunk above which a server is taken to stream several tokens a chunk (tokenizers can count the same text
a token apart)."""


def _probe_warnings(found: Probe) -> list[str]:
    warnings: list[str] = []
    if found.sized_by == "tokenizer":
        warnings.append("the server reports no prompt usage: prompts were sized with its /tokenize endpoint")
    elif found.sized_by == "default":
        warnings.append(
            f"the server reports no prompt usage and has no /tokenize endpoint: prompts were sized at "
            f"{found.tokens_per_word:g} tokens per word (English rule of thumb), so their real length may differ"
        )
    if not found.reports_usage:
        if found.tokens_per_chunk is not None and found.tokens_per_chunk > PACKED_CHUNKS:
            how = (
                f"its tokenizer counts {found.tokens_per_chunk:.2g} tokens a chunk in the probe's output, so streams that stop "
                "on their own are undercounted by about that factor"
            )
        elif found.tokens_per_chunk is not None:
            how = "its tokenizer agrees with one token a chunk (probe), so that count is exact"
        else:
            how = "it has no /tokenize endpoint to check one token a chunk against"
        warnings.append(
            "the server reports no completion usage: output tokens are the chunks that carried a token (empty ones too) or "
            f"max_tokens where it stopped at the limit (each request's token_method says which); {how}"
        )
    return warnings


def _document(
    cfg: BenchConfig,
    levels: list[dict[str, Any]],
    prompt_tokens: int,
    found: Probe,
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
        "prompt_tokens_per_word": found.tokens_per_word,
        "prompt_sized_by": found.sized_by,
        "server_reports_usage": found.reports_usage,
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


def run_sync(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a bench coroutine on a fresh event loop (uvloop where installed)."""
    if event_loop_name() == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def run_bench_sync(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """`run_bench` on a fresh event loop (uvloop where installed)."""
    return run_sync(run_bench(*args, **kwargs))
