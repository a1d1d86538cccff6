"""Plotly figures of a PlanReport. Figures only plot numbers the plan already holds; they compute nothing new.

Every option keeps one colour across all charts (`option_colours`); axis ranges come from the data plotted (and the
thresholds drawn), never from Plotly's defaults; every threshold line is labelled with its value.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from tokenlane.plan import PlanReport
from tokenlane.search import SearchReport
from tokenlane.simulate import SimulationResult
from tokenlane.simulate.metrics import Timeline

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
"""Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008), one colour per option in scenario order."""
SLO_COLOUR = "crimson"


@functools.cache
def _template() -> go.layout.Template:
    """Plotly's `plotly_white` with only what these charts read: its layout and its scatter and bar defaults (the only
    trace types drawn here). Given by name, each figure would validate and deep-copy the whole template (every trace
    type's defaults): about 25 ms a figure, a fifth of writing a report."""
    white = pio.templates["plotly_white"]
    return go.layout.Template(layout=white.layout, data={"scatter": white.data.scatter, "bar": white.data.bar})


_LAYOUT = {
    "height": 440,
    "margin": {"l": 70, "r": 30, "t": 60, "b": 100},
    "legend": {"orientation": "h", "y": -0.28},
}


def option_colours(plan: PlanReport) -> dict[str, str]:
    """One colour per option, the same in every chart and table."""
    return {o.name: PALETTE[i % len(PALETTE)] for i, o in enumerate(plan.scenario.options)}


def _log_range(values: Iterable[float | None], *, pad: float = 0.15) -> list[float]:
    """A log axis range (log10 units) spanning the positive finite values, padded a little."""
    data = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not data:
        return [-1.0, 1.0]
    low, high = math.log10(min(data)), math.log10(max(data))
    return [low - pad, high + pad if high > low else low + 1]


def _linear_range(values: Iterable[float | None], *, floor: float | None = 0.0) -> list[float]:
    data = [v for v in values if v is not None and math.isfinite(v)]
    if not data:
        return [0.0, 1.0]
    low, high = (min(data) if floor is None else min(floor, min(data))), max(data)
    return [low, high * 1.1 if high > 0 else 1.0]


def _days(plan: PlanReport) -> list[SimulationResult]:
    """Each option's day as the report shows it: self-hosted options as configured, APIs on their fleet."""
    by_name = {s.option: s for s in plan.simulations}
    for o in plan.cost.options:
        if o.kind == "api" and o.simulation is not None:
            by_name[o.name] = o.simulation
    return [by_name[o.name] for o in plan.scenario.options if o.name in by_name]


def speed_vs_users(plan: PlanReport) -> go.Figure:
    """Per-user and aggregate decode tok/s vs concurrent users, one replica per self-hosted option, with the SLO line;
    per-user points carry their 80% prediction interval as error bars (`capacity.uncertainty`)."""
    fig = go.Figure()
    colours = option_colours(plan)
    values: list[float | None] = []
    for name, curve in plan.curves.items():
        users = [p.batch for p in curve.points]
        per_user = [p.per_user_tok_s for p in curve.points]
        aggregate = [p.aggregate_tok_s for p in curve.points]
        values += per_user + aggregate
        line = {"color": colours[name]}
        lows = [p.per_user_tok_s_range[0] if p.per_user_tok_s_range else v for p, v in zip(curve.points, per_user, strict=True)]
        highs = [p.per_user_tok_s_range[1] if p.per_user_tok_s_range else v for p, v in zip(curve.points, per_user, strict=True)]
        values += lows + highs
        bars = {
            "type": "data",
            "symmetric": False,
            "array": [h - v for h, v in zip(highs, per_user, strict=True)],
            "arrayminus": [v - lo for v, lo in zip(per_user, lows, strict=True)],
            "color": colours[name],
            "thickness": 1,
        }
        fig.add_trace(
            go.Scatter(x=users, y=per_user, mode="lines+markers", name=f"{name}: per user (80% interval)", line=line, error_y=bars)
        )
        fig.add_trace(go.Scatter(x=users, y=aggregate, mode="lines", name=f"{name}: aggregate", line={**line, "dash": "dot"}))
    for name, points in plan.measured.items():
        measured = [p.per_user_tok_s_p50 for p in points]
        values += measured
        fig.add_trace(
            go.Scatter(
                x=[p.concurrency for p in points],
                y=measured,
                mode="markers",
                marker={"size": 10, "symbol": "diamond", "color": colours.get(name)},
                name=f"{name}: measured (bench p50)",
            )
        )
    slo = plan.scenario.workload.slo.min_tok_s_per_user
    if slo > 0:
        fig.add_hline(y=slo, line={"color": SLO_COLOUR, "dash": "dash"}, annotation_text=f"SLO {slo:g} tok/s per user")
    users = [p.batch for c in plan.curves.values() for p in c.points]
    fig.update_layout(
        title="Decode speed vs concurrent users (one replica)",
        xaxis={"title": "concurrent users", "type": "log", "range": _log_range(users, pad=0.05)},
        yaxis={"title": "tok/s", "type": "log", "range": _log_range([*values, slo])},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def latency_cdf(plan: PlanReport) -> go.Figure | None:
    """Share of the day's interactive requests with their first token within t, per option (requests never served
    keep the curve below 100%), with the TTFT objective and the share that must meet it; None without any."""
    fig = go.Figure()
    colours = option_colours(plan)
    slo = plan.scenario.workload.slo
    edges: list[float] = [slo.max_ttft_s]
    for day in _days(plan):
        h = day.ttft_histogram
        if not h.counts or not day.requests:
            continue
        share, running = [], 0
        for count in h.counts:
            running += count
            share.append(running / day.requests)
        edges += h.edges[1:]
        unserved = 1 - day.completed / day.requests
        label = day.option + (f" ({unserved:.0%} not served)" if unserved >= 0.005 else "")
        fig.add_trace(go.Scatter(x=h.edges[1:], y=share, mode="lines", name=label, line={"color": colours[day.option], "shape": "hv"}))
    if not fig.data:
        return None
    fig.add_vline(x=slo.max_ttft_s, line={"color": SLO_COLOUR, "dash": "dash"}, annotation_text=f"SLO {slo.max_ttft_s:g} s")
    fig.add_hline(y=slo.percentile / 100, line={"color": SLO_COLOUR, "dash": "dot"}, annotation_text=f"{slo.percentile:g}% of requests")
    fig.update_layout(
        title="Time to first token over the simulated day (as configured)",
        xaxis={"title": "TTFT (s)", "type": "log", "range": _log_range(edges)},
        yaxis={"title": "share of requests with their first token by then", "range": [0, 1.02], "tickformat": ".0%"},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def speed_at_peak(plan: PlanReport) -> go.Figure | None:
    """Per-user decode speed each option gives over the simulated day (median and the slow 5%), against the SLO;
    None when no option streamed to an interactive user."""
    fig = go.Figure()
    colours = option_colours(plan)
    days = [d for d in _days(plan) if d.per_user_tok_s.p50 is not None]
    if not days:
        return None
    slo = plan.scenario.workload.slo.min_tok_s_per_user
    for q, opacity in (("p50", 1.0), ("p95", 0.55)):
        fig.add_trace(
            go.Bar(
                x=[d.option for d in days],
                y=[getattr(d.per_user_tok_s, q) for d in days],
                marker={"color": [colours[d.option] for d in days], "opacity": opacity},
                name="median stream" if q == "p50" else "95% of streams reach",
            )
        )
    if slo > 0:
        fig.add_hline(y=slo, line={"color": SLO_COLOUR, "dash": "dash"}, annotation_text=f"SLO {slo:g} tok/s per user")
    top = [d.per_user_tok_s.p50 for d in days] + [slo]
    fig.update_layout(
        title="Per-user speed over the simulated day (as configured)",
        barmode="group",
        yaxis={"title": "tok/s per user", "range": _linear_range(top)},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def cost_vs_volume(plan: PlanReport) -> go.Figure:
    """Monthly cost vs daily token volume per option, up to each option's capacity ceiling; break-even points only
    where reachable; the scenario's volume marked."""
    fig = go.Figure()
    colours = option_colours(plan)
    xs: list[float] = []
    ys: list[float | None] = []
    for curve in plan.cost.cost_curves:
        xs += [x for x, y in zip(curve.tokens_per_day, curve.monthly_usd, strict=True) if y is not None]
        ys += curve.monthly_usd
        fig.add_trace(
            go.Scatter(
                x=curve.tokens_per_day,
                y=curve.monthly_usd,
                mode="lines",
                name=curve.option,
                line={"color": colours[curve.option], **({"shape": "hv"} if curve.option in plan.curves else {})},
            )
        )
    points = [b for b in plan.cost.breakeven if b.tokens_per_day is not None and b.reachable]
    if points:
        fig.add_trace(
            go.Scatter(
                x=[b.tokens_per_day for b in points],
                y=[b.monthly_usd for b in points],
                mode="markers",
                marker={"size": 11, "symbol": "x", "color": "black"},
                name="break-even (reachable)",
                text=[f"{b.self_host} = {b.api}" for b in points],
            )
        )
    volume = plan.cost.input_tokens_per_day + plan.cost.output_tokens_per_day
    fig.add_vline(x=volume, line={"color": "gray", "dash": "dash"}, annotation_text="this workload")
    fig.update_layout(
        title="Monthly cost vs daily token volume (self-hosted lines end at their largest fleet)",
        xaxis={"title": "tokens per day", "type": "log", "range": _log_range([*xs, volume])},
        yaxis={"title": "USD per month", "type": "log", "range": _log_range(ys)},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def cost_vs_speed(plan: PlanReport) -> go.Figure | None:
    """Every option's monthly cost against the per-user speed 95% of its streams reach: the cheap-and-fast corner is
    bottom right; None when no option has both."""
    fig = go.Figure()
    colours = option_colours(plan)
    days = {d.option: d for d in _days(plan)}
    xs: list[float | None] = []
    ys: list[float | None] = []
    for o in plan.options:
        day = days.get(o.name)
        speed = day.per_user_tok_s.p95 if day is not None else None
        if o.monthly_usd is None or speed is None:
            continue
        xs.append(speed)
        ys.append(o.monthly_usd)
        fig.add_trace(
            go.Scatter(
                x=[speed],
                y=[o.monthly_usd],
                mode="markers+text",
                text=[o.name],
                textposition="top center",
                marker={"size": 14, "color": colours[o.name], "symbol": "circle" if o.eligible else "circle-open"},
                name=o.name + ("" if o.eligible else " (not eligible)"),
            )
        )
    if not xs:
        return None
    slo = plan.scenario.workload.slo.min_tok_s_per_user
    if slo > 0:
        fig.add_vline(x=slo, line={"color": SLO_COLOUR, "dash": "dash"}, annotation_text=f"SLO {slo:g} tok/s per user")
    fig.update_layout(
        title="Monthly cost vs per-user speed (95% of streams reach it)",
        xaxis={"title": "tok/s per user, p95", "range": _linear_range([*xs, slo])},
        yaxis={"title": "USD per month", "type": "log", "range": _log_range(ys, pad=0.3)},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def cost_vs_quality(plan: PlanReport) -> go.Figure | None:
    """Every option's monthly cost against its effective score on the scenario's quality benchmark (published score x
    what its quant keeps), with the quality bar drawn where the scenario sets one; None when no option has a score."""
    fig = go.Figure()
    colours = option_colours(plan)
    xs: list[float | None] = []
    ys: list[float | None] = []
    benchmark = ""
    for o in plan.options:
        quality = o.quality
        if o.monthly_usd is None or quality is None or quality.effective is None:
            continue
        benchmark = quality.benchmark_name
        xs.append(quality.effective)
        ys.append(o.monthly_usd)
        how = quality.harness or quality.basis
        fig.add_trace(
            go.Scatter(
                x=[quality.effective],
                y=[o.monthly_usd],
                mode="markers+text",
                text=[o.name],
                textposition="top center",
                hovertext=[f"{quality.words()}; {how}"],
                marker={"size": 14, "color": colours[o.name], "symbol": "circle" if o.eligible else "circle-open"},
                name=o.name + ("" if o.eligible else " (not eligible)"),
            )
        )
    if not xs:
        return None
    bar = plan.scenario.workload.quality
    if bar is not None:
        fig.add_vline(x=bar.min_score, line={"color": SLO_COLOUR, "dash": "dash"}, annotation_text=f"quality bar {bar.min_score:g}")
    low, high = _linear_range([*xs, bar.min_score if bar else None], floor=None)
    fig.update_layout(
        title=f"Monthly cost vs effective quality ({benchmark}: published score x what the quant keeps)",
        xaxis={"title": f"{benchmark}, %", "range": [max(0.0, low - 5.0), min(100.0, high + 2.0)]},
        yaxis={"title": "USD per month", "type": "log", "range": _log_range(ys, pad=0.3)},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def cost_breakdown(plan: PlanReport) -> go.Figure:
    """Stacked monthly cost by line item per option."""
    fig = go.Figure()
    options = [o for o in plan.cost.options if o.breakdown is not None]
    totals: list[float | None] = [o.monthly_usd for o in options]
    for item in ("hardware_usd", "rental_usd", "power_usd", "hosting_usd", "people_usd", "api_usd", "finetune_usd"):
        values = [getattr(o.breakdown, item) for o in options]
        if any(values):
            fig.add_trace(go.Bar(x=[o.name for o in options], y=values, name=item.removesuffix("_usd")))
    fig.update_layout(
        title="Monthly cost by line item (sized to carry the load)",
        yaxis={"title": "USD per month", "range": _linear_range(totals)},
        barmode="stack",
        **_LAYOUT,
        template=_template(),
    )
    return fig


def emissions(plan: PlanReport) -> go.Figure | None:
    """Each option's emissions a month, operational (its kWh at its grid's intensity, or its provider's published
    figure) and embodied, stacked, with its kWh a month in the hover; options whose figures are not known say so.
    None when no option has any figure."""
    options = [o for o in plan.cost.options if o.energy is not None]
    if not any(o.energy and (o.energy.kgco2e_per_month is not None or o.energy.kgco2e_embodied_per_month) for o in options):
        return None
    names = [o.name for o in options]
    fig = go.Figure()
    totals: list[float | None] = []
    for o in options:
        assert o.energy is not None
        totals.append((o.energy.kgco2e_per_month or 0.0) + (o.energy.kgco2e_embodied_per_month or 0.0))
    kwh = [
        f"{o.energy.kwh_per_month:,.0f} kWh/month" if o.energy and o.energy.kwh_per_month is not None else "kWh not published"
        for o in options
    ]
    for label, values in (
        ("operational", [o.energy.kgco2e_per_month if o.energy else None for o in options]),
        ("embodied", [o.energy.kgco2e_embodied_per_month if o.energy else None for o in options]),
    ):
        fig.add_trace(go.Bar(x=names, y=values, name=label, customdata=kwh, hovertemplate="%{x}: %{y:,.0f} kg CO2e (%{customdata})"))
    for o in options:
        if o.energy is not None and o.energy.kgco2e_per_month is None:
            why = "not published" if o.kind == "api" else "grid unknown"
            fig.add_annotation(x=o.name, y=0, text=why, showarrow=False, yanchor="bottom", textangle=-90)
    fig.update_layout(
        title="Emissions a month: operational (kWh x grid, or the provider's figure) and embodied",
        yaxis={"title": "kg CO2e per month", "range": _linear_range(totals)},
        barmode="stack",
        **_LAYOUT,
        template=_template(),
    )
    return fig


def trace_arrivals(plan: PlanReport) -> go.Figure | None:
    """A replayed trace's requests per minute over the day, and each option's p95 TTFT over the same bins, so a user
    sees where their traffic peaks and what it does to latency; None unless the workload is a trace."""
    days = [d for d in _days(plan) if d.timeline.arrivals]
    if plan.scenario.workload.trace is None or not days:
        return None
    colours = option_colours(plan)
    line = days[0].timeline
    width_min = line.bin_s / 60.0
    bars, per_minute = _arrivals_bar(line, what="trace, ")
    fig = go.Figure(bars)
    slo = plan.scenario.workload.slo.max_ttft_s
    shown: list[float | None] = [slo]
    for day in days:
        t = day.timeline
        shown += t.ttft_p95_s
        fig.add_trace(
            go.Scatter(
                x=[_clock(s + t.bin_s / 2) for s in t.start_s],
                y=t.ttft_p95_s,
                yaxis="y2",
                mode="lines+markers",
                name=f"{day.option}: p95 TTFT",
                line={"color": colours[day.option]},
            )
        )
    fig.add_hline(y=slo, yref="y2", line={"color": SLO_COLOUR, "dash": "dash"})
    fig.add_annotation(
        x=1, xref="paper", y=math.log10(slo), yref="y2", text=f"SLO {slo:g} s", showarrow=False, xanchor="right", yanchor="bottom"
    )
    fig.update_layout(
        title=f"Your traffic, replayed: requests per minute and p95 TTFT, per {width_min:g} min of arrivals",
        xaxis={"title": "time of day", "tickformat": "%H:%M", "range": [_clock(line.start_s[0]), _clock(line.start_s[-1] + line.bin_s)]},
        yaxis={"title": "requests per minute", "range": _linear_range(per_minute)},
        yaxis2={
            "title": "p95 TTFT (s)",
            "overlaying": "y",
            "side": "right",
            "type": "log",
            "range": _log_range(shown),
            "tickformat": ".2~g",
        },
        **_LAYOUT,
        template=_template(),
    )
    return fig


def replicas_over_day(plan: PlanReport) -> go.Figure | None:
    """Each autoscaled option's replicas over its priced day (held: billed, warming included; serving dashed) against
    the requests arriving per minute; None without an autoscaled option."""
    scaled = [o for o in plan.cost.options if o.simulation is not None and o.simulation.scaling is not None]
    if not scaled:
        return None
    colours = option_colours(plan)
    line = scaled[0].simulation.timeline if scaled[0].simulation else None
    fig = go.Figure()
    end_s = 0.0
    if line is not None and line.arrivals:
        fig.add_trace(_arrivals_bar(line, yaxis="y2")[0])
        end_s = line.start_s[-1] + line.bin_s
    top = 1
    for o in scaled:
        assert o.simulation is not None and o.simulation.scaling is not None
        held = o.simulation.scaling
        end_s = max(end_s, held.times_s[-1])
        times = [_clock(max(0.0, t)) for t in held.times_s] + [_clock(end_s)]
        top = max(top, max(held.held))
        for counts, dash, what in ((held.held, "solid", "held"), (held.warm, "dot", "serving")):
            fig.add_trace(
                go.Scatter(
                    x=times,
                    y=[*counts, counts[-1]],
                    mode="lines",
                    name=f"{o.name}: replicas {what}",
                    line={"color": colours[o.name], "shape": "hv", "dash": dash},
                )
            )
    fig.update_layout(
        title="Replicas held over the day against the load (autoscaled options, as priced)",
        xaxis={"title": "time of day", "tickformat": "%H:%M", "range": [_clock(0.0), _clock(end_s)]},
        yaxis={"title": "replicas", "range": [0, top * 1.15], "dtick": max(1, math.ceil(top / 8))},
        yaxis2={"title": "requests per minute", "overlaying": "y", "side": "right", "showgrid": False},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def _arrivals_bar(line: Timeline, *, what: str = "", yaxis: str = "y") -> tuple[go.Bar, list[float]]:
    """Grey bars of the requests arriving per minute in each bin of a day's timeline, and those rates."""
    width_min = line.bin_s / 60.0
    per_minute = [n / width_min for n in line.arrivals]
    bars = go.Bar(
        x=[_clock(t + line.bin_s / 2) for t in line.start_s],
        y=per_minute,
        width=line.bin_s * 1000.0,
        name=f"requests per minute ({what}per {width_min:g} min)",
        marker={"color": "#c8c8c8"},
        yaxis=yaxis,
    )
    return bars, per_minute


def _clock(seconds: float) -> dt.datetime:
    """A time of the simulated day as a datetime (on an arbitrary date), for a clock-time axis."""
    return dt.datetime(2000, 1, 1) + dt.timedelta(seconds=seconds)


def trace_lengths(plan: PlanReport) -> go.Figure | None:
    """The replayed trace's prompt and output lengths (share of requests per length bin, log axis); None unless the
    workload is a trace."""
    days = [d for d in _days(plan) if d.log is not None and len(d.log)]
    if plan.scenario.workload.trace is None or not days:
        return None
    log = days[0].log
    assert log is not None
    interactive = log.job < 0
    fig = go.Figure()
    highest = 1.0
    for label, counts, colour in (
        ("prompt tokens", log.prompt_tokens[interactive], PALETTE[0]),
        ("output tokens", log.output_tokens[interactive], PALETTE[1]),
    ):
        edges = np.unique(np.geomspace(1, max(2, int(counts.max()) + 1), 41).round())
        share = np.histogram(counts, bins=edges)[0] / len(counts)
        highest = max(highest, float(edges[-1]))
        fig.add_trace(go.Scatter(x=edges[1:].tolist(), y=share.tolist(), mode="lines", name=label, line={"color": colour, "shape": "hv"}))
    fig.update_layout(
        title="Your traffic, replayed: prompt and output lengths",
        xaxis={"title": "tokens per request", "type": "log", "range": _log_range([1.0, highest])},
        yaxis={"title": "share of requests", "tickformat": ".0%", "rangemode": "tozero"},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def search_pareto(search: SearchReport) -> go.Figure | None:
    """Every configuration the search found meeting the SLO: monthly cost against the per-user speed 95% of requests
    reach, the Pareto front joined, the SLO's speed drawn; None when none met it."""
    meeting = search.pareto
    if not meeting:
        return None
    fig = go.Figure(
        go.Scatter(
            x=[r.monthly_usd for r in meeting],
            y=[r.tok_s_p95 for r in meeting],
            mode="lines+markers",
            line={"shape": "hv", "color": PALETTE[0]},
            text=[f"{r.key}<br>{r.replicas} replica(s), TTFT p95 {r.ttft_p95_s:.2f} s" for r in meeting],
            hovertemplate="%{text}<br>$%{x:,.0f}/month, %{y:.1f} tok/s p95<extra></extra>",
            name="Pareto front (cost, p95 tok/s, p95 TTFT)",
        )
    )
    if search.best_api is not None:
        fig.add_vline(x=search.best_api.monthly_usd, line={"color": PALETTE[1], "dash": "dot"}, annotation_text=f"{search.best_api.name}")
    fig.update_layout(
        title="Search: the configurations no other beats on cost, speed and first-token time",
        xaxis={
            "title": "monthly cost (USD)",
            "type": "log",
            "range": _log_range([r.monthly_usd for r in meeting] + ([search.best_api.monthly_usd] if search.best_api else [])),
        },
        yaxis={"title": "tok/s per user, 95% of requests", "type": "log", "range": _log_range([r.tok_s_p95 for r in meeting])},
        **_LAYOUT,
        template=_template(),
    )
    return fig


def figures(plan: PlanReport, search: SearchReport | None = None) -> list[tuple[str, go.Figure]]:
    """(name, figure) for each chart that has something to show for this plan (a day without interactive traffic has
    no latency or per-user speed to draw), and the search's Pareto front when a search found the plan's option."""
    drawn = [(fig.__name__, fig(plan)) for fig in FIGURES]
    if search is not None:
        drawn.append(("search_pareto", search_pareto(search)))
    return [(name, figure) for name, figure in drawn if figure is not None]


FIGURES = (
    trace_arrivals,
    trace_lengths,
    speed_vs_users,
    latency_cdf,
    speed_at_peak,
    cost_vs_volume,
    cost_vs_speed,
    cost_vs_quality,
    cost_breakdown,
    emissions,
    replicas_over_day,
)
THRESHOLD_CHARTS = ("trace_arrivals", "speed_vs_users", "latency_cdf", "speed_at_peak", "cost_vs_speed")
"""Charts that must carry their SLO line (checked by the browser test)."""
