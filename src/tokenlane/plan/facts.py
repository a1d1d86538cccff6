"""Per-option assessment: the facts the verdict rules read, each with the number behind it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.cost import OptionCost
from tokenlane.scenario import Option, Scenario
from tokenlane.simulate import SimulationResult, describe_rejections
from tokenlane.units import format_number

RESIDENCY_ALLOWS = {"none": {"on_prem", "region", "external"}, "region": {"on_prem", "region"}, "on_prem": {"on_prem"}}
"""Which data locations each `constraints.data_residency` value accepts."""
OPEN_WEIGHT_KINDS = {"self_host", "cloud_gpu"}


class OptionAssessment(BaseModel):
    """One option, judged against the scenario."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    location: str
    fits: bool
    meets_slo: bool
    """Meets the SLO (and batch windows) with `units` units; APIs are assumed to."""
    meets_slo_as_configured: bool | None
    """Meets the SLO with the scenario's own `count` of replicas (self-host only)."""
    units: int
    replicas: int
    monthly_usd: float | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    data_residency_ok: bool
    quality_risk: bool
    """An open model on hard work without pass rates from the user's own evals."""
    within_budget: bool
    people_fte: float
    single_stream_tok_s: float | None
    """Speed of one stream alone on one replica (the vendor number)."""
    peak_concurrency: int | None
    rejections: str
    """The requests the option rejected as configured, with their causes ('' when none)."""
    peak_tok_s_p50: float | None
    peak_tok_s_p95: float | None
    """Per-stream speed 95% of requests reach, as configured."""
    ttft_p95_s: float | None
    slo_attainment: float | None
    eligible: bool
    """Fits, meets the SLO at some size, respects residency and budget, and carries no unaccepted quality risk."""
    issues: list[str]
    """Why it is not eligible, in words with numbers."""


def assess_option(
    option: Option, scenario: Scenario, cost: OptionCost, *, as_configured: SimulationResult | None, single_stream_tok_s: float | None
) -> OptionAssessment:
    """Judge one option: SLO, residency, budget, quality risk, each issue stated with its number."""
    constraints = scenario.constraints
    issues: list[str] = []
    residency_ok = option.location in RESIDENCY_ALLOWS[constraints.data_residency]
    if not residency_ok:
        issues.append(f"data residency requires {constraints.data_residency}; {option.name} processes prompts {option.location}")
    if not cost.fits or not cost.carries_load:
        issues.append(cost.note)
    has_evals = any(option.name in t.pass_rates for t in scenario.workload.tasks)
    quality_risk = option.kind in OPEN_WEIGHT_KINDS and scenario.workload.difficulty == "hard" and not has_evals
    if quality_risk and not constraints.accept_quality_risk:
        issues.append(
            f"quality risk: {option.model} is an open model on hard, varied work and the scenario has no pass rates for it "
            "from your own evals (open models trail frontier models there)"
        )
    budget = constraints.max_budget_usd_per_month
    within_budget = budget is None or (cost.monthly_usd is not None and cost.monthly_usd <= budget)
    if not within_budget:
        issues.append(f"costs ${cost.monthly_usd or 0:,.0f}/month against a budget of ${budget:,.0f}")
    sim = as_configured
    return OptionAssessment(
        name=option.name,
        kind=option.kind,
        location=option.location,
        fits=cost.fits,
        meets_slo=cost.carries_load,
        meets_slo_as_configured=sim.meets_slo if sim else None,
        units=cost.units,
        replicas=cost.replicas,
        monthly_usd=cost.monthly_usd,
        usd_per_mtok_input=cost.usd_per_mtok_input,
        usd_per_mtok_output=cost.usd_per_mtok_output,
        data_residency_ok=residency_ok,
        quality_risk=quality_risk,
        within_budget=within_budget,
        people_fte=scenario.finance.fte_for(option.kind),
        single_stream_tok_s=single_stream_tok_s,
        peak_concurrency=sim.peak_concurrency if sim else None,
        rejections=describe_rejections(sim.rejected_by_reason) if sim else "",
        peak_tok_s_p50=sim.per_user_tok_s.p50 if sim else None,
        peak_tok_s_p95=sim.per_user_tok_s.p95 if sim else None,
        ttft_p95_s=sim.ttft_s.p95 if sim else None,
        slo_attainment=sim.slo_attainment if sim else None,
        eligible=not issues,
        issues=issues,
    )


def peak_reason(a: OptionAssessment, min_tok_s: float, max_ttft_s: float) -> str | None:
    """'at peak, N concurrent streams on X give ...' for a simulated option."""
    if a.peak_concurrency is None or a.peak_tok_s_p50 is None:
        return None
    verdict = "meets" if a.meets_slo_as_configured else "misses"
    rejected = f"; {a.rejections}" if a.rejections else ""
    return (
        f"at peak, {a.peak_concurrency} concurrent streams on {a.name} give {a.peak_tok_s_p50:.1f} tok/s each "
        f"(95% of requests get at least {format_number(a.peak_tok_s_p95, 1)}; TTFT p95 {format_number(a.ttft_p95_s, 1)} s) "
        f"against an SLO of {min_tok_s:g} tok/s and {max_ttft_s:g} s — it {verdict} the SLO as configured "
        f"({(a.slo_attainment or 0):.0%} of requests){rejected}"
    )
