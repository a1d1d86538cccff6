"""`tokenlane plan`: the main job — a verdict with its reasons, and a report."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from tokenlane import check_scenario, load_scenario, plan_scenario, write_report
from tokenlane.catalog.for_scenario import catalog_for_scenario
from tokenlane.cli._options import fitted_table
from tokenlane.cli._progress import progress_bar
from tokenlane.plan import OptionAssessment
from tokenlane.report import report_json
from tokenlane.simulate import workers_available
from tokenlane.units import format_number, format_usd

BUILTIN_SCENARIO = "team-assistant.yaml"


def command(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario YAML (default: the built-in 50-person team assistant).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for report.html, report.md and report.json.")] = Path("tokenlane-report"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report files.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated day.")] = 0,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON document.")] = False,
    search: Annotated[
        bool, typer.Option("--search", help="First search the catalog for the cheapest configuration (`tokenlane search`) and add it.")
    ] = False,
) -> None:
    """Run capacity, simulation and cost for every option; print the verdict and write the report."""
    if scenario is None:
        with as_file(files("tokenlane.scenarios") / BUILTIN_SCENARIO) as path:
            spec = load_scenario(path)
    else:
        spec = load_scenario(scenario)
    base = scenario.parent if scenario is not None else Path.cwd()
    spec, catalog = catalog_for_scenario(spec, catalog_file or [], base)
    check_scenario(spec, catalog, base_dir=base)
    measured = {}
    if any(o.measured for o in spec.options):
        from tokenlane.bench import load_measured_curve  # aiohttp is heavy: only when asked

        measured = {o.name: load_measured_curve(base / o.measured) for o in spec.options if o.measured}
    found = None
    if search:
        from tokenlane.cli.search import plan_with_found, print_search, search_with_progress
        from tokenlane.search import bounds_for

        bounds = bounds_for(spec, catalog.models, models=None, hardware=None, max_gpus=8, kinds="self_host,cloud_gpu")
        found = search_with_progress(
            spec, catalog, bounds, seed=seed, workers=workers_available(), ray=None, results=None, limit=None, quiet=json_out
        )
        plan = plan_with_found(spec, catalog, found, seed=seed, measured=measured, quiet=json_out)
    else:
        with progress_bar(quiet=json_out) as update:
            plan = plan_scenario(spec, catalog, seed=seed, measured=measured, check_speed=True, stage=update)
    paths = {} if no_report else write_report(plan, out, search=found)
    if json_out:
        typer.echo(report_json(plan, found))
        return
    console = Console()
    if found is not None:
        print_search(console, found)
    v = plan.verdict
    body = f"[dim]{escape(spec.name)}[/]\n" + "\n".join(f"• {r}" for r in v.reasons)
    # The verdict is the title; the scenario's name, however long, wraps in the body.
    console.print(Panel(body, title=f"[bold]Recommendation: {escape(v.label)}[/]", subtitle=f"rule {v.rule}"))
    columns = [
        ("option", 0, True),
        ("kind", 4, False),
        ("units", 2, False),
        ("monthly", 0, False),
        ("people", 3, False),
        ("meets SLO", 0, False),
        ("residency ok", 5, False),
        ("quality", 2, False),
        ("single stream", 6, False),
        ("at peak p50/p95", 1, False),
    ]
    rows = [
        [
            o.name,
            o.kind,
            str(o.units) if o.kind != "api" else "—",
            format_usd(o.monthly_usd),
            f"{o.people_fte:g} FTE",
            "yes" if o.meets_slo else "[red]no[/]",
            ("yes" if o.sensitive_ok else "[yellow]not the sensitive work[/]") if o.data_residency_ok else "[red]no[/]",
            _quality_cell(o),
            format_number(o.single_stream_tok_s) if o.single_stream_tok_s else "—",
            f"{format_number(o.peak_tok_s_p50)} / {format_number(o.peak_tok_s_p95)}" if o.peak_tok_s_p50 is not None else "—",
        ]
        for o in plan.options
    ]
    table = fitted_table(console.width, columns, rows)
    console.print(table)
    for name, path in paths.items():
        console.print(f"{name}: {path}")


def _quality_cell(o: OptionAssessment) -> str:
    """The option's effective score on the plan's quality benchmark, red when it misses a bar or is a quality risk."""
    score = format_number(o.quality.effective, 1) if o.quality is not None and o.quality.effective is not None else "—"
    return score if o.quality_ok else f"[red]{score}[/]"
