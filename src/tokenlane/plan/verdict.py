"""The verdict engine: assess every option, run the rule table, give reasons with the numbers behind them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.plan.facts import OptionAssessment, peak_reason
from tokenlane.plan.rules import RULES, Recommendation, Situation
from tokenlane.scenario import Scenario


class Verdict(BaseModel):
    """The recommendation, the option chosen and why."""

    model_config = ConfigDict(frozen=True)

    recommendation: Recommendation
    option: str | None
    """Name of the chosen option; None when no option meets every requirement."""
    rule: str
    """Id of the rule that decided (docs/plan.md)."""
    reasons: list[str]


def _usd(v: float | None) -> str:
    return "n/a" if v is None else f"${v:,.0f}/month"


def decide(scenario: Scenario, options: list[OptionAssessment], *, batch_token_share: float, extra_reasons: list[str]) -> Verdict:
    """Run the rule table over the assessed options and explain the outcome."""
    situation = Situation(
        data_residency=scenario.constraints.data_residency,
        difficulty=scenario.workload.difficulty,
        ml_team=scenario.constraints.ml_team,
        batch_token_share=batch_token_share,
        options=options,
        has_pass_rates=any(t.pass_rates for t in scenario.workload.tasks),
    )
    slo = scenario.workload.slo
    for rule in RULES:
        if not rule.when(situation):
            continue
        candidates = rule.candidates(situation)
        chosen = candidates[0] if candidates else None
        recommendation = rule.recommendation
        if chosen is not None and recommendation == "self_host" and chosen.kind == "cloud_gpu":
            recommendation = "private_cloud"
        if chosen is not None and recommendation == "private_cloud" and chosen.kind == "self_host":
            recommendation = "self_host"
        reasons = [f"{rule.why}."]
        api = situation.cheapest_api()
        if recommendation == "hybrid" and api is not None:
            reasons.append(f"Interactive traffic goes to {api.name} ({_usd(api.monthly_usd)} for the whole day's traffic as priced).")
        if chosen is not None:
            size = "served from the provider's fleet" if chosen.kind == "api" else f"{chosen.units} units"
            meets = "is assumed to meet" if chosen.kind == "api" else ("meets" if chosen.meets_slo else "misses")
            reasons.append(
                f"{chosen.name} ({chosen.kind}, {size}) costs {_usd(chosen.monthly_usd)} and {meets} the SLO "
                f"({slo.min_tok_s_per_user:g} tok/s, TTFT {slo.max_ttft_s:g} s for {slo.percentile:g}% of requests)."
            )
            if chosen.kind == "api" and scenario.workload.difficulty == "hard" and not situation.has_pass_rates:
                reasons.append(
                    "On hard, varied work with no pass rates from your own evals, the frontier model is the safe default; "
                    "add `workload.tasks` with measured pass rates to route cheaper models where they pass."
                )
        else:
            reasons.append("No option is eligible; the issues of each are listed below.")
        for other in options:
            if other is chosen:
                continue
            line = peak_reason(other, slo.min_tok_s_per_user, slo.max_ttft_s)
            if line:
                reasons.append(line + ".")
            if other.issues:
                reasons.append(f"{other.name} is out: " + "; ".join(other.issues) + ".")
            elif other.monthly_usd is not None and chosen is not None and chosen.monthly_usd is not None:
                reasons.append(f"{other.name} would cost {_usd(other.monthly_usd)} against {_usd(chosen.monthly_usd)}.")
        if chosen is not None:
            line = peak_reason(chosen, slo.min_tok_s_per_user, slo.max_ttft_s)
            if line:
                reasons.append(line + ".")
        reasons.extend(extra_reasons)
        return Verdict(recommendation=recommendation, option=chosen.name if chosen else None, rule=rule.id, reasons=reasons)
    raise AssertionError("the last rule always matches")
