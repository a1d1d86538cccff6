"""`tokenlane search`: "on what?" — search the catalog for the cheapest deployment that meets the SLO."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tokenlane import load_scenario, plan_scenario
from tokenlane.capacity import MeasuredPoint
from tokenlane.catalog import Catalog
from tokenlane.catalog.for_scenario import catalog_for_scenario
from tokenlane.cli._options import fitted_table
from tokenlane.cli._progress import progress_bar
from tokenlane.plan import PlanReport
from tokenlane.report import write_report
from tokenlane.scenario import Scenario
from tokenlane.search import Bounds, SearchProgress, SearchReport, bounds_for, check_search, run_search
from tokenlane.simulate import workers_available
from tokenlane.units import format_number, format_usd

PARETO_SHOWN = 12
"""Rows of the Pareto front printed (the report's JSON holds all)."""


def search_with_progress(
    scenario: Scenario,
    catalog: Catalog,
    bounds: Bounds,
    *,
    seed: int,
    workers: int,
    ray: str | None,
    results: Path | None,
    limit: int | None,
    exhaustive: bool = False,
    quiet: bool = False,
) -> SearchReport:
    """`run_search` with a progress bar on a terminal's stderr (configurations judged, pruned on paper, failing the
    SLO, meeting it), gone when it ends; none when `quiet` (--json) or off a terminal."""
    with progress_bar(quiet=quiet, description="judging configurations on paper") as update:
        progress = SearchProgress(on_change=lambda p: update(p.done, p.total, p.words()))
        return run_search(
            scenario,
            catalog,
            bounds,
            seed=seed,
            backend="ray" if ray else "pool",
            workers=workers,
            address=ray,
            results_path=results,
            limit=limit,
            exhaustive=exhaustive,
            progress=progress,
        )


def plan_with_found(
    scenario: Scenario,
    catalog: Catalog,
    found: SearchReport,
    *,
    seed: int,
    measured: dict[str, list[MeasuredPoint]] | None = None,
    quiet: bool = False,
) -> PlanReport:
    """The plan `tokenlane plan` makes (the speed interval's ends checked, `measured` curves compared) of the scenario
    with the configuration the search found added as option `search-best`; its stages on a terminal's progress bar
    unless `quiet`."""
    option = found.pick_option()
    with_found = scenario.model_copy(update={"options": [*scenario.options, option]}) if option is not None else scenario
    with progress_bar(quiet=quiet) as update:
        return plan_scenario(with_found, catalog, seed=seed, measured=measured, check_speed=True, stage=update)


def command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    models: Annotated[
        str | None, typer.Option(help="Catalog models to search, comma-separated, or `all` (default: the scenario's own).")
    ] = None,
    hardware: Annotated[str | None, typer.Option(help="Catalog hardware to search, comma-separated (default: all).")] = None,
    quants: Annotated[
        str | None,
        typer.Option(help="Quants to search, comma-separated (default: every one that runs; each one's quality loss counts)."),
    ] = None,
    engines: Annotated[str | None, typer.Option(help="Engines to search, comma-separated (default: all).")] = None,
    max_gpus: Annotated[int, typer.Option(min=1, max=8, help="Most devices per replica.")] = 8,
    kinds: Annotated[
        str, typer.Option(help="self_host (bought), cloud_gpu (rented all day), cloud_gpu_scaled (rented, scaled to the day).")
    ] = "self_host,cloud_gpu",
    modes: Annotated[
        str,
        typer.Option(
            help="aggregated (prefill and decode on each replica), disaggregated (separate prefill and decode pools over 8 or 16 "
            "devices, expert parallelism for MoE models): docs/disaggregated.md."
        ),
    ] = "aggregated",
    workers: Annotated[int | None, typer.Option(min=1, help="Local processes (default: the cores available).")] = None,
    ray: Annotated[str | None, typer.Option(help="Run as Ray tasks on this cluster (ray://host:10001, auto, or local).")] = None,
    results: Annotated[Path | None, typer.Option(help="Append every result here as JSONL; an existing file resumes the search.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Judge only the first N configurations.")] = None,
    exhaustive: Annotated[
        bool,
        typer.Option(
            "--exhaustive",
            help="Simulate every configuration the paper checks pass (default: skip what cannot reach the front or the pick).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated days.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for report.html, report.md and report.json.")] = Path("tokenlane-search"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report files.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the search as one JSON document.")] = False,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Search the catalog for the cheapest deployment that meets the SLO: Pareto front, the recipe, the best API beside it."""
    spec, catalog = catalog_for_scenario(load_scenario(scenario), catalog_file or [], scenario.parent)
    bounds = bounds_for(
        spec, catalog.models, models=models, hardware=hardware, max_gpus=max_gpus, kinds=kinds, quants=quants, engines=engines, modes=modes
    )
    check_search(spec, catalog, bounds, base_dir=scenario.parent)
    found = search_with_progress(
        spec,
        catalog,
        bounds,
        seed=seed,
        workers=workers or workers_available(),
        ray=ray,
        results=results,
        limit=limit,
        exhaustive=exhaustive,
        quiet=json_out,
    )
    if json_out:
        typer.echo(found.model_dump_json(indent=2))
        return
    console = Console()
    print_search(console, found)
    if not no_report:
        paths = write_report(plan_with_found(spec, catalog, found, seed=seed), out, search=found)
        console.print(f"report: {paths['html']}")


def print_search(console: Console, found: SearchReport) -> None:
    """The search at a glance: what it judged, why the rest fell out, the front, the pick and its recipe."""
    console.print(
        f"{found.configurations:,} configurations, {found.simulated:,} simulated after the paper checks "
        f"({found.seconds:.0f} s, {found.backend}, {found.workers} worker(s)); {found.not_enumerated:,} combinations "
        "left out that do not run or use an unmeasured 2-bit quant"
    )
    reasons = [[reason, f"{n:,}"] for reason, n in found.reasons.items()]
    if reasons:
        console.print(fitted_table(console.width, [("why configurations fell out", 0, True), ("count", 0, False)], reasons))
    rows = [
        [
            r.key,
            str(r.replicas),
            format_usd(r.monthly_usd),
            format_number(r.tok_s_p95, 1),
            format_number(r.ttft_p95_s, 2),
            format_number(r.quality_score, 1),
            "yes" if r.status == "eligible" else "no",
        ]
        for r in found.pareto[:PARETO_SHOWN]
    ]
    if rows:
        columns = [
            ("configuration", 0, True),
            ("replicas", 2, False),
            ("monthly", 0, False),
            ("tok/s p95", 1, False),
            ("TTFT p95 s", 1, False),
            ("quality", 1, False),
            ("eligible", 0, False),
        ]
        benchmark = found.pareto[0].quality_benchmark or ""
        title = f"Pareto front: cost, p95 tok/s, p95 TTFT, quality ({benchmark}, effective)"
        console.print(fitted_table(console.width, columns, rows, title=title))
        if len(found.pareto) > PARETO_SHOWN:
            console.print(f"(the {PARETO_SHOWN} cheapest of {len(found.pareto)} on the front; all are in report.json)")
    pick = found.pick
    cost = format_usd(pick.monthly_usd) if pick is not None else ""
    if found.cheapest is not None:
        console.print(f"[bold]Cheapest meeting the SLO and every constraint[/]: {pick.key}, {pick.replicas} replica(s), {cost}/month")
    elif pick is not None:
        console.print(f"[bold]Nothing meets the SLO and every constraint[/]; cheapest meeting it: {pick.key}, {cost}/month ({pick.reason})")
    else:
        console.print("[bold]No configuration meets the SLO[/] (see why above).")
    if found.best_api is not None:
        console.print(f"Best API beside it: {found.best_api.name}, {format_usd(found.best_api.monthly_usd)}/month")
    if found.recipe is not None:
        console.print(f"Recipe ({found.recipe.engine}):", style="bold")
        console.print(found.recipe.command, soft_wrap=True)
        console.print(f"Check it: {found.recipe.bench}", soft_wrap=True)
