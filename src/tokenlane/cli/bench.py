"""`tokenlane bench`: measure what N concurrent users get from a real OpenAI-compatible endpoint."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tokenlane import InputError
from tokenlane.cli._options import parse_int_list, parse_trace_columns
from tokenlane.units import format_number


def command(
    url: Annotated[str, typer.Argument(help="Base URL of the endpoint, e.g. http://127.0.0.1:8000/v1")],
    model: Annotated[str, typer.Option(help="Model name to send.")],
    concurrency: Annotated[str, typer.Option(help="Concurrency levels, comma-separated (closed loop).")] = "1,4,16",
    requests_per_level: Annotated[int, typer.Option(min=1, help="Requests per level.")] = 32,
    prompt_tokens: Annotated[int, typer.Option(min=1, help="Prompt length, sized by the server's reported usage.")] = 256,
    output_tokens: Annotated[int, typer.Option(min=1, help="max_tokens (with ignore_eos/min_tokens where supported).")] = 128,
    rate: Annotated[float | None, typer.Option(min=0.001, help="Open-loop Poisson rate (requests/s) instead of levels.")] = None,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Double concurrency from the first level until the SLO breaks or it saturates.")
    ] = False,
    max_concurrency: Annotated[int, typer.Option(min=1)] = 1024,
    think_time: Annotated[float, typer.Option(min=0.0, help="Closed-loop think time between requests, s (exponential).")] = 0.0,
    endpoint: Annotated[str, typer.Option(help="chat or completions.")] = "chat",
    ignore_eos: Annotated[bool, typer.Option(help="Ask for exactly output_tokens (vLLM/SGLang ignore_eos, min_tokens).")] = True,
    min_tok_s: Annotated[float, typer.Option(help="SLO: per-user decode tok/s.")] = 10.0,
    max_ttft: Annotated[float, typer.Option(help="SLO: TTFT, s.")] = 3.0,
    stall_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds without data before a stream counts as stalled.")] = 30.0,
    request_timeout: Annotated[float, typer.Option(min=0.1, help="Deadline for a whole request, s.")] = 600.0,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key (never printed or saved).")] = "OPENAI_API_KEY",
    out: Annotated[Path | None, typer.Option(help="Results folder (default bench-results/<UTC time>).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this results folder.")] = None,
    dataset: Annotated[Path | None, typer.Option(help='Prompts file: JSONL with "prompt" per line, or plain text lines.')] = None,
    seed: Annotated[int, typer.Option()] = 0,
    ramp_up: Annotated[float, typer.Option(min=0.0, help="Closed loop: start the users evenly over this many seconds.")] = 0.0,
    jitter: Annotated[float, typer.Option(min=0.0, help="Delay every send by a uniform random [0, JITTER) seconds.")] = 0.0,
    follow_redirects: Annotated[
        bool, typer.Option("--follow-redirects", help="Follow 3xx redirects to the same host (others are errors).")
    ] = False,
    trace: Annotated[Path | None, typer.Option(help="Replay this request log: its arrivals, lengths and shared prefixes.")] = None,
    trace_format: Annotated[str | None, typer.Option(help="Format of --trace: mooncake, azure, openai-log, litellm, csv.")] = None,
    columns: Annotated[
        str | None, typer.Option(help="csv trace: timestamp=COL,input=COL,output=COL[,user=COL][,session=COL][,cached=COL].")
    ] = None,
    timestamp_unit: Annotated[str, typer.Option(help="csv trace: unit of numeric timestamps, s or ms.")] = "s",
    speedup: Annotated[float, typer.Option(min=0.001, max=1000.0, help="Replay the trace this many times faster.")] = 1.0,
    block_tokens: Annotated[int, typer.Option(min=1, help="Prompt tokens per hash_ids block (Mooncake: 512).")] = 512,
    max_requests: Annotated[int, typer.Option(min=1, help="Replay at most this many requests of the trace.")] = 100_000,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary JSON on stdout.")] = False,
    server_metrics: Annotated[
        bool, typer.Option("--server-metrics", help="Scrape the server's /metrics during each level (vLLM, SGLang, llama-server, TGI).")
    ] = False,
) -> None:
    """Stream requests at several concurrencies, or replay a request log: per-user tok/s, TTFT, throughput, errors, saved as they finish."""
    from tokenlane.bench import (
        BenchConfig,
        RequestRecord,
        ResultsFile,
        TraceReplay,
        load_prompts,
        normalise_base_url,
        run_bench_sync,
        run_sync,
        run_trace_bench,
    )

    if endpoint not in ("chat", "completions"):
        raise InputError("must be chat or completions", field="--endpoint")
    if not url.startswith(("http://", "https://")):
        raise InputError(f"'{url}' is not an http(s) URL", field="URL")
    levels = parse_int_list(concurrency, option="--concurrency")
    replay = None
    if trace is not None:
        clash = [
            name for name, given in (("--rate", rate), ("--sweep", sweep), ("--dataset", dataset), ("--think-time", think_time)) if given
        ]
        if clash:
            raise InputError(f"cannot be given with {', '.join(clash)} (the trace decides arrivals and prompts)", field="--trace")
        if trace_format is None:
            raise InputError("give the trace's format", field="--trace-format")
        replay = TraceReplay(str(trace), trace_format, parse_trace_columns(columns, timestamp_unit), speedup, block_tokens, max_requests)
    elif trace_format is not None or columns is not None:
        raise InputError("only applies with --trace", field="--trace-format" if trace_format is not None else "--columns")
    prompts = load_prompts(dataset) if dataset is not None else None
    cfg = BenchConfig(
        base_url=normalise_base_url(url),
        model=model,
        endpoint=endpoint,
        output_tokens=output_tokens,
        ignore_eos=ignore_eos,
        stall_timeout_s=stall_timeout,
        request_timeout_s=request_timeout,
        think_time_s=think_time,
        follow_redirects=follow_redirects,
        api_key=os.environ.get(api_key_env),
    )
    folder = resume or out or Path("bench-results") / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    console = Console(stderr=True)
    speeds: list[float] = []
    errors = 0
    total = None if replay else requests_per_level * (1 if rate or sweep else len(levels))
    with (
        ResultsFile(folder) as results,
        Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as progress,
    ):
        task = progress.add_task("starting", total=None if sweep else total)

        def on_record(r: RequestRecord) -> None:
            nonlocal errors
            errors += r.error is not None
            if (s := r.decode_tok_s) is not None and r.ok:
                speeds.append(s)
            p50 = sorted(speeds)[len(speeds) // 2] if speeds else 0.0
            progress.update(task, advance=1, description=f"level {r.level}: errors {errors}, p50 {p50:.1f} tok/s")

        try:
            if replay is not None:
                summary = run_sync(
                    run_trace_bench(
                        cfg,
                        results,
                        replay,
                        min_tok_s=min_tok_s,
                        max_ttft_s=max_ttft,
                        on_record=on_record,
                        resume=resume is not None,
                        server_metrics=server_metrics,
                    )
                )
            else:
                summary = run_bench_sync(
                    cfg,
                    results,
                    concurrencies=levels,
                    requests_per_level=requests_per_level,
                    prompt_tokens=prompt_tokens,
                    rate_per_s=rate,
                    sweep=sweep,
                    max_concurrency=max_concurrency,
                    min_tok_s=min_tok_s,
                    max_ttft_s=max_ttft,
                    seed=seed,
                    dataset=prompts,
                    on_record=on_record,
                    resume=resume is not None,
                    ramp_up_s=ramp_up,
                    jitter_s=jitter,
                    server_metrics=server_metrics,
                )
        except KeyboardInterrupt:
            console.print(f"interrupted: every finished request is in {folder / 'requests.jsonl'}; continue with --resume {folder}")
            raise typer.Exit(130) from None
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(
        "level",
        "requests",
        "errors",
        "tok/s p50 / p95",
        "TTFT s p50 / p95",
        "aggregate tok/s",
        "req/s",
        "goodput",
        title=f"{cfg.model} at {cfg.base_url}",
    )
    for lv in summary["levels"]:
        tok, ttft = lv["per_user_tok_s"], lv["ttft_s"]
        table.add_row(
            _level_name(lv, summary.get("trace")),
            str(lv["requests"]),
            str(lv["errors"]),
            f"{format_number(tok['p50'])} / {format_number(tok['p95'])}",
            f"{format_number(ttft['p50'], 2)} / {format_number(ttft['p95'], 2)}",
            f"{lv['aggregate_tok_s']:.0f}",
            f"{lv['requests_per_s']:.2f}",
            f"{lv['goodput']:.0%}",
        )
    out_console = Console()
    out_console.print(table)
    for lv in summary["levels"]:
        if (server := lv.get("server")) is not None:
            out_console.print(f"{_level_name(lv, summary.get('trace'))}: server {_server_words(server)}")
    for w in summary["warnings"]:
        out_console.print(f"[yellow]warning:[/] {w}")
    if summary["stopped"]:
        out_console.print(f"sweep stopped: {summary['stopped']}")
    out_console.print(f"results: {folder}/requests.jsonl, {folder}/summary.json")


def _server_words(server: dict[str, Any]) -> str:
    """'running 12.3 (max 16), waiting 0.4 (max 3), KV cache 41% (max 63%) over 28 scrapes'."""
    parts = []
    for key, label in (("running", "running"), ("waiting", "waiting"), ("kv_cache_use", "KV cache"), ("power_w", "power W")):
        seen = server.get(key)
        if seen is None:
            continue
        if key == "kv_cache_use":
            parts.append(f"{label} {seen['mean']:.1%} (max {seen['max']:.1%})")
        else:
            parts.append(f"{label} {seen['mean']:.1f} (max {seen['max']:g})")
    return ", ".join(parts) + f" over {server['samples']} scrapes"


def _level_name(level: dict[str, object], trace: dict[str, object] | None) -> str:
    if trace is not None:
        return f"trace x{trace['speedup']:g}"
    return f"{level['rate_per_s']:g} req/s" if level.get("concurrency") is None else f"{level['concurrency']} users"
