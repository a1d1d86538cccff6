"""Checks of the claims people make when buying a box: vendor speed vs speed at peak, "the subscriptions pay for it"."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import CurvePoint
from tokenlane.cost import CostReport
from tokenlane.plan.facts import OptionAssessment
from tokenlane.scenario import Scenario, SpeedClaim
from tokenlane.units import format_duration, format_number, plural


class Claim(BaseModel):
    """A claim, what the numbers say, and whether it holds."""

    model_config = ConfigDict(frozen=True)

    claim: str
    finding: str
    holds: bool


MEASURED_AGREEMENT = 0.15
"""A measured curve 'agrees' with the model when every level's median tok/s is within 15% (the validation target)."""
QUOTE_AGREEMENT = 0.25
"""A quoted single figure 'holds' when within 25% of the model: beyond the model's median error on public measurements
(under 15%, docs/capacity.md), short of the factors by which quotes at the wrong concurrency miss."""


def _quote_claims(quoted: list[tuple[SpeedClaim, CurvePoint | None]]) -> list[Claim]:
    """Each quoted speed against the model at the same number of concurrent streams."""
    claims = []
    for q, point in quoted:
        unit = "tok/s per user" if q.per == "user" else "tok/s in total"
        figure = "-".join(f"{x:g}" for x in q.tok_s)
        said = f" ({q.source})" if q.source else ""
        claim = f"{q.option} gives {figure} {unit} with {plural(q.users, 'user')}{said}"
        if point is None:
            claims.append(Claim(claim=claim, finding=f"the model does not fit {q.option}'s memory", holds=False))
            continue
        model = point.per_user_tok_s if q.per == "user" else point.aggregate_tok_s
        queued = f", {point.queued} queued" if point.queued else ""
        if len(q.tok_s) == 2:
            low, high = q.tok_s
            holds = low <= model <= high
            centre = (low * high) ** 0.5
        else:
            centre = q.tok_s[0]
            holds = abs(centre / model - 1.0) <= QUOTE_AGREEMENT
        ratio = model / centre
        side = "above" if ratio >= 1 else "below"
        finding = (
            f"the capacity model gives {point.per_user_tok_s:.1f} tok/s per user and {point.aggregate_tok_s:,.0f} in total with "
            f"{point.running} streams running{queued}: {max(ratio, 1 / ratio):.1f}x {side} the quote"
        )
        claims.append(Claim(claim=claim, finding=finding, holds=holds))
    return claims


def check_claims(
    scenario: Scenario,
    options: list[OptionAssessment],
    cost: CostReport,
    *,
    measured_vs_model: dict[str, list[tuple[int, float, float]]],
    quoted: list[tuple[SpeedClaim, CurvePoint | None]] | None = None,
) -> list[Claim]:
    """Single-stream speed vs speed at peak for each box; the subscription math; volume vs break-even; for options
    with a bench measurement, (concurrency, measured p50 tok/s, model tok/s) compared level by level; and each quoted
    speed (the scenario's `claims`) with the model's point at its concurrency."""
    claims: list[Claim] = _quote_claims(quoted or [])
    slo = scenario.workload.slo
    for name, rows in measured_vs_model.items():
        errors = [model / seen - 1 for _, seen, model in rows]
        parts = [
            f"{c} users: measured {seen:.1f}, model {model:.1f} tok/s ({e:+.0%})" for (c, seen, model), e in zip(rows, errors, strict=True)
        ]
        finding = "; ".join(parts)
        claims.append(
            Claim(
                claim=f"the capacity model's per-user speed holds on {name}'s real endpoint",
                finding=finding,
                holds=max(abs(e) for e in errors) <= MEASURED_AGREEMENT,
            )
        )
    speculating = {opt.name: opt.speculative for opt in scenario.options if opt.speculative is not None}
    for o in options:
        if o.single_stream_tok_s is None or o.peak_tok_s_p50 is None:
            continue
        spec = speculating.get(o.name)
        how = f", speculative decoding ({spec.method}) on" if spec else ""
        claims.append(
            Claim(
                claim=f"{o.name} runs the model at {o.single_stream_tok_s:.1f} tok/s (single stream, nobody else on the box{how})",
                finding=(
                    f"with {plural(scenario.workload.users, 'user')}, at peak {plural(o.peak_concurrency or 0, 'stream')} share it: "
                    f"{o.peak_tok_s_p50:.1f} tok/s median, {format_number(o.peak_tok_s_p95, 1)} tok/s for 95% of requests, "
                    f"TTFT p95 {format_duration(o.ttft_p95_s)} (SLO {slo.min_tok_s_per_user:g} tok/s, {slo.max_ttft_s:g} s)"
                ),
                holds=bool(o.meets_slo_as_configured),
            )
        )
    seats = scenario.subscriptions
    if seats:
        subs_usd = sum(s.seats * s.usd_per_seat_month for s in seats)
        names = ", ".join(f"{s.seats} x {s.name} at ${s.usd_per_seat_month:g}" for s in seats)
        for o in options:
            if o.kind == "api" or o.monthly_usd is None:
                continue
            pays = subs_usd >= o.monthly_usd and o.meets_slo
            claims.append(
                Claim(
                    claim=f"the subscriptions ({names} = ${subs_usd:,.0f}/month) pay for {o.name}",
                    finding=(
                        f"{o.name} costs ${o.monthly_usd:,.0f}/month for {plural(o.units, 'unit')} including {o.people_fte:g} FTE "
                        f"to run it, and {'meets' if o.meets_slo else 'does not meet'} the SLO; the subscriptions buy frontier models "
                        "at full per-user speed, which an open model on shared hardware does not replace one for one"
                    ),
                    holds=pays,
                )
            )
    for be in cost.breakeven:
        if be.tokens_per_day is None:
            finding = f"{be.api} stays cheaper than {be.self_host} at every volume {be.self_host} can carry"
            holds = False
        else:
            ratio = be.scenario_tokens_per_day / be.tokens_per_day
            why = (
                " (for batch work only: it misses the SLO at every fleet size)"
                if be.batch_only
                else ("" if be.reachable else " (beyond the largest fleet allowed)")
            )
            finding = (
                f"break-even at {be.tokens_per_day / 1e6:,.1f} M tokens/day{why}; this workload is "
                f"{be.scenario_tokens_per_day / 1e6:,.2f} M tokens/day ({ratio:.1%} of it)"
            )
            holds = ratio >= 1 and be.reachable
        claims.append(Claim(claim=f"{be.self_host} is cheaper than {be.api} at our volume", finding=finding, holds=holds))
    return claims
