"""`tokenlane simulate`: a workday of arrivals on each self-hosted option."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tokenlane import check_scenario, load_scenario, simulate_scenario
from tokenlane.catalog.for_scenario import catalog_for_scenario
from tokenlane.cli._options import fitted_table
from tokenlane.cli._progress import progress_bar
from tokenlane.plan.days import days_at_ends
from tokenlane.ray_cluster import ray_map
from tokenlane.report import write_outcomes
from tokenlane.simulate import describe_rejections, workers_available
from tokenlane.traces import write_mooncake
from tokenlane.units import format_duration, format_number


def command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    option: Annotated[str | None, typer.Option(help="Simulate only this option.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).")] = 0,
    find_max_users: Annotated[bool, typer.Option("--find-max-users", help="Search the most users meeting the SLO.")] = False,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
    per_request: Annotated[Path | None, typer.Option(help="Write every request's outcome here (JSONL, one line each).")] = None,
    export_trace: Annotated[
        Path | None, typer.Option("--export-trace", help="Write the day's requests as Mooncake-style JSONL for other load testers.")
    ] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Step saturated batch work step by step (no replayed windows).")] = False,
    interval_ends: Annotated[
        bool, typer.Option("--interval-ends", help="Also simulate each box at the ends of its 80% speed interval (two more days each).")
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            help="Shard each day by replica as Ray tasks on this cluster (ray://host:10001, auto, or local): days past "
            "one process's 2,000,000 interactive requests, on options with `router: round_robin` or `session`."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Simulate a day of real arrivals on each self-hosted option: TTFT, tok/s percentiles, SLO attainment."""
    spec, catalog = catalog_for_scenario(load_scenario(scenario, sharded=ray is not None), catalog_file or [], scenario.parent)
    check_scenario(spec, catalog, base_dir=scenario.parent)
    chosen = [option] if option else [o.name for o in spec.options]
    with (
        ray_map(ray, workers=workers_available()) if ray is not None else contextlib.nullcontext(None) as shards,
        progress_bar(quiet=json_out, description="simulating each option's day", total=len(chosen)) as update,
    ):

        def hear(name: str, share: float) -> None:
            update(chosen.index(name) + share, len(chosen), f"{name}: {share:.0%} of its day simulated")

        sim = simulate_scenario(spec, catalog, option=option, seed=seed, find_max=find_max_users, exact=exact, progress=hear, shards=shards)
    if per_request is not None:
        write_outcomes(per_request, sim)
    if export_trace is not None and sim.results and (log := sim.results[0].log) is not None:
        written = write_mooncake(export_trace, log.arrival_s, log.prompt_tokens, log.cached_tokens, log.output_tokens)
        typer.echo(f"tokenlane: wrote {written:,} requests of {sim.results[0].option}'s day to {export_trace}", err=True)
    for skipped in sim.skipped:
        typer.echo(f"tokenlane: warning: option '{skipped.option}' skipped: {skipped.reason}", err=True)
    boxes = [r.option for r in sim.results if spec.option(r.option).kind != "api"]
    ends = days_at_ends(spec, catalog, boxes, seed=seed, exact=exact) if interval_ends else {}
    if json_out:
        doc = sim.results[0].model_dump(mode="json") if sim.results else {}
        if sim.results and find_max_users:
            doc["max_users_meeting_slo"] = sim.max_users_by_option.get(sim.results[0].option)
        doc.update(sim.model_dump(mode="json"))
        if interval_ends:
            doc["at_interval_ends"] = ends
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    slo = spec.workload.slo
    columns = [
        ("option", 0, True),
        ("requests", 1, False),
        (f"tok/s p50 / p{slo.percentile:g}", 0, False),
        (f"TTFT s p50 / p{slo.percentile:g}", 0, False),
        ("queue p95 s", 4, False),
        ("SLO met", 0, False),
        ("peak streams", 3, False),
        ("busy", 5, False),
        ("rejected", 2, False),
    ]
    rows = []
    for r in sim.results:
        is_api = spec.option(r.option).kind == "api"
        rows.append(
            [
                r.option,
                f"{r.completed:,}/{r.requests:,}",
                f"{format_number(r.per_user_tok_s.p50, 1)} / {format_number(r.per_user_tok_s.p95, 1)}",
                f"{format_number(r.ttft_s.p50, 2)} / {format_number(r.ttft_s.p95, 2)}",
                format_number(r.queue_wait_s.p95, 1),
                f"[green]{r.slo_attainment:.0%}[/]" if r.meets_slo else f"[red]{r.slo_attainment:.0%}[/]",
                "—" if is_api else str(r.peak_concurrency),
                "—" if is_api else f"{r.busy_fraction:.0%}",
                f"[red]{r.rejected:,}[/]" if r.rejected else "0",
            ]
        )
    console = Console()
    table = fitted_table(
        console.width, columns, rows, title=f"{spec.name}: SLO {slo.min_tok_s_per_user:g} tok/s, TTFT {slo.max_ttft_s:g} s"
    )
    console.print(table)
    for r in sim.results:
        for job in r.batch_jobs:
            state = "met" if job.met_window else "MISSED"
            took = (
                format_duration(job.completion_hours * 3600)
                if job.completed == job.requests
                else f"{job.completed:,} of {job.requests:,} served"
            )
            console.print(f"{r.option}: batch job {job.name}: {took} of a {job.window_hours:g} h window ({state})")
        if r.rejected:
            console.print(f"[red]{r.option}: {describe_rejections(r.rejected_by_reason)}[/]")
        if r.unfinished:
            console.print(f"[red]{r.option}: {r.unfinished:,} requests not finished by the end of the run[/]")
        if r.stopped_early:
            console.print(f"[red]{r.option}: {r.stopped_early}[/]")
        if r.scaling is not None:
            console.print(r.scaling.words(r.option))
        if r.option in sim.max_users_by_option:
            console.print(f"{r.option}: at most {sim.max_users_by_option[r.option]} users meet the SLO")
    for name, end in ends.items():
        (low, high), (a_low, a_high) = end["speed_factors"], end["slo_attainment"]
        console.print(
            f"{name} at the ends of its 80% speed interval ({low:.2f}x / {high:.2f}x the modelled speed; {end['basis']}): "
            f"SLO met by {a_low:.0%} / {a_high:.0%} of requests"
        )
