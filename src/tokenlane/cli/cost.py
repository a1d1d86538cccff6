"""`tokenlane cost`: monthly cost, $/Mtok, units, break-even, sensitivity, routing and caching per option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tokenlane import check_scenario, load_scenario, price_scenario
from tokenlane.catalog.for_scenario import catalog_for_scenario
from tokenlane.cli._options import fitted_table, folding_table
from tokenlane.units import format_tokens, format_usd


def _line(usd: float | None) -> str:
    """A cost line's cell: '—' when the option has no such line."""
    return format_usd(usd) if usd else "—"


def command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    seed: Annotated[int, typer.Option(help="Random seed of the simulated day.")] = 0,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Monthly cost of every option, $ per million tokens, units needed, break-even volumes, routing and caching."""
    spec, catalog = catalog_for_scenario(load_scenario(scenario), catalog_file or [], scenario.parent)
    check_scenario(spec, catalog, base_dir=scenario.parent)
    report = price_scenario(spec, catalog, seed=seed, at_ends=True)
    if json_out:
        typer.echo(report.model_dump_json(indent=2, exclude={"options": {"__all__": {"simulation"}}}))
        return
    console = Console()
    console.print(
        f"[bold]{report.scenario}[/]: {report.requests_per_day:,} requests/day, "
        f"{report.input_tokens_per_day / 1e6:.1f} M input + {report.output_tokens_per_day / 1e6:.1f} M output tokens/day"
    )
    columns = [
        ("option", 0, True),
        ("kind", 5, False),
        ("units", 2, False),
        ("monthly", 0, False),
        ("hardware/rental", 3, False),
        ("power", 4, False),
        ("people", 1, False),
        ("API", 3, False),
        ("$/Mtok in", 6, False),
        ("$/Mtok out", 6, False),
        ("carries load", 0, True),
    ]
    rows = [
        [
            o.name,
            o.kind,
            str(o.units) if o.kind != "api" else "—",
            format_usd(o.monthly_usd),
            _line(o.breakdown.hardware_usd + o.breakdown.rental_usd if o.breakdown else None),
            _line(o.breakdown.power_usd if o.breakdown else None),
            _line(o.breakdown.people_usd if o.breakdown else None) + (f" ({o.people_fte:g} FTE)" if o.breakdown else ""),
            _line(o.breakdown.api_usd if o.breakdown else None),
            f"{o.usd_per_mtok_input:.2f}" if o.usd_per_mtok_input is not None else "—",
            f"{o.usd_per_mtok_output:.2f}" if o.usd_per_mtok_output is not None else "—",
            "yes" if o.carries_load else f"[red]no[/] {o.note}",
        ]
        for o in report.options
    ]
    table = fitted_table(console.width, columns, rows)
    console.print(table)
    if report.at_interval_ends:
        ends = folding_table(
            "option", "speed x modelled", "replicas", "monthly", "carries load", title="At the ends of the 80% speed interval (low / high)"
        )
        for name, end in report.at_interval_ends.items():
            ends.add_row(
                name,
                " / ".join(f"{f:.2f}" for f in end.speed_factors),
                " / ".join(str(r) for r in end.replicas),
                " / ".join(format_usd(u) if u is not None else "—" for u in end.monthly_usd),
                " / ".join("yes" if m else "no" for m in end.meets_slo),
            )
        console.print(ends)
    be = folding_table("self-host", "API", "break-even tokens/day", "input", "output", "reachable", "replicas", title="Break-even")
    for row in report.breakeven:
        be.add_row(
            row.self_host,
            row.api,
            format_tokens(row.tokens_per_day),
            format_tokens(row.input_tokens_per_day),
            format_tokens(row.output_tokens_per_day),
            "yes" if row.reachable else ("batch work only" if row.batch_only else "no"),
            str(row.replicas_at_break_even or "—"),
        )
    console.print(be)
    if report.sensitivity:
        st = folding_table(
            "option", "parameter", "value", "monthly", "break-even vs cheapest API", title="Sensitivity (one parameter at a time)"
        )
        for row in report.sensitivity:
            st.add_row(
                row.option, row.parameter, f"{row.value:g}", format_usd(row.monthly_usd), format_tokens(row.breakeven_tokens_per_day)
            )
        console.print(st)
    if report.routing:
        rt = folding_table("task", "share", "route to", "pass rate", "$/success", "frontier $/success", title="Routing")
        for r in report.routing.routes:
            base = f"{r.baseline_usd_per_success:.4f}" if r.baseline_usd_per_success is not None else "—"
            rt.add_row(r.task, f"{r.share:.0%}", r.option, f"{r.pass_rate:.0%}", f"{r.usd_per_success:.4f}", base)
        console.print(rt)
    for lever in report.levers:
        console.print(lever.summary)
