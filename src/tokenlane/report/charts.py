"""Plotly figures of a PlanReport. Figures only plot numbers the plan already holds; they compute nothing new."""

from __future__ import annotations

import plotly.graph_objects as go

from tokenlane.plan import PlanReport

_LAYOUT = {
    "template": "plotly_white",
    "height": 440,
    "margin": {"l": 60, "r": 30, "t": 60, "b": 100},
    "legend": {"orientation": "h", "y": -0.28},
}


def speed_vs_users(plan: PlanReport) -> go.Figure:
    """Per-user and aggregate decode tok/s vs concurrent users, one replica per self-hosted option, with the SLO line."""
    fig = go.Figure()
    for name, curve in plan.curves.items():
        users = [p.batch for p in curve.points]
        fig.add_trace(go.Scatter(x=users, y=[p.per_user_tok_s for p in curve.points], mode="lines+markers", name=f"{name}: per user"))
        fig.add_trace(
            go.Scatter(x=users, y=[p.aggregate_tok_s for p in curve.points], mode="lines", name=f"{name}: aggregate", line={"dash": "dot"})
        )
    for name, points in plan.measured.items():
        fig.add_trace(
            go.Scatter(
                x=[p.concurrency for p in points],
                y=[p.per_user_tok_s_p50 for p in points],
                mode="markers",
                marker={"size": 10, "symbol": "diamond"},
                name=f"{name}: measured (bench p50)",
            )
        )
    slo = plan.scenario.workload.slo.min_tok_s_per_user
    fig.add_hline(y=slo, line={"color": "crimson", "dash": "dash"}, annotation_text=f"SLO {slo:g} tok/s per user")
    fig.update_layout(
        title="Decode speed vs concurrent users (one replica)",
        xaxis_title="concurrent users",
        yaxis_title="tok/s",
        xaxis_type="log",
        yaxis_type="log",
        **_LAYOUT,
    )
    return fig


def ttft_distribution(plan: PlanReport) -> go.Figure:
    """Distribution of time to first token over the simulated day, each self-hosted option as configured."""
    fig = go.Figure()
    for sim in plan.simulations:
        h = sim.ttft_histogram
        if not h.counts:
            continue
        centres = [(a * b) ** 0.5 for a, b in zip(h.edges[:-1], h.edges[1:], strict=True)]
        fig.add_trace(go.Bar(x=centres, y=h.counts, name=sim.option, opacity=0.7))
    ttft = plan.scenario.workload.slo.max_ttft_s
    fig.add_vline(x=ttft, line={"color": "crimson", "dash": "dash"}, annotation_text=f"SLO {ttft:g} s")
    fig.update_layout(
        title="Time to first token over the simulated day (as configured)",
        xaxis_title="TTFT (s)",
        yaxis_title="requests",
        xaxis_type="log",
        yaxis_type="log",
        barmode="overlay",
        **_LAYOUT,
    )
    return fig


def cost_vs_volume(plan: PlanReport) -> go.Figure:
    """Monthly cost vs daily token volume per option, break-even points marked, the scenario's volume as a line."""
    fig = go.Figure()
    for curve in plan.cost.cost_curves:
        fig.add_trace(
            go.Scatter(
                x=curve.tokens_per_day,
                y=curve.monthly_usd,
                mode="lines",
                name=curve.option,
                line={"shape": "hv"} if curve.option in plan.curves else {},
            )
        )
    points = [b for b in plan.cost.breakeven if b.tokens_per_day is not None]
    if points:
        fig.add_trace(
            go.Scatter(
                x=[b.tokens_per_day for b in points],
                y=[b.monthly_usd for b in points],
                mode="markers",
                marker={"size": 11, "symbol": "x"},
                name="break-even",
                text=[f"{b.self_host} = {b.api}" for b in points],
            )
        )
    volume = plan.cost.input_tokens_per_day + plan.cost.output_tokens_per_day
    fig.add_vline(x=volume, line={"color": "gray", "dash": "dash"}, annotation_text="this workload")
    fig.update_layout(
        title="Monthly cost vs daily token volume",
        xaxis_title="tokens per day",
        yaxis_title="USD per month",
        xaxis_type="log",
        yaxis_type="log",
        **_LAYOUT,
    )
    return fig


def cost_breakdown(plan: PlanReport) -> go.Figure:
    """Stacked monthly cost by line item per option."""
    fig = go.Figure()
    options = [o for o in plan.cost.options if o.breakdown is not None]
    for item in ("hardware_usd", "rental_usd", "power_usd", "hosting_usd", "people_usd", "api_usd"):
        values = [getattr(o.breakdown, item) for o in options]
        if any(values):
            fig.add_trace(go.Bar(x=[o.name for o in options], y=values, name=item.removesuffix("_usd")))
    fig.update_layout(title="Monthly cost by line item (sized to carry the load)", yaxis_title="USD per month", barmode="stack", **_LAYOUT)
    return fig


FIGURES = (speed_vs_users, ttft_distribution, cost_vs_volume, cost_breakdown)
