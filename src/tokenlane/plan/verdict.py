"""The verdict engine: assess every option, run the rule table, give reasons with the numbers behind them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.plan.facts import OptionAssessment, peak_reason, total_kgco2e
from tokenlane.plan.hybrid import HybridSplit
from tokenlane.plan.rules import RULES, Recommendation, Situation
from tokenlane.scenario import Scenario
from tokenlane.units import format_tokens, plural

NEAR_TIE = 0.10
"""Two options whose monthly costs are within this fraction of each other are a near tie: the capacity model's
documented error (docs/capacity.md: ~15% median on decode, more on prefill) is larger than the gap."""


class Verdict(BaseModel):
    """The recommendation, the option chosen and why."""

    model_config = ConfigDict(frozen=True)

    recommendation: Recommendation
    option: str | None
    """Name of the chosen option; None when no option meets every requirement (recommendation `none`)."""
    rule: str
    """Id of the rule that decided (docs/plan.md)."""
    reasons: list[str]
    runner_up: str | None = None
    """The next option in the rule's order, when it is within `NEAR_TIE` of the chosen one's cost."""
    robust: bool | None = None
    """Whether the verdict holds at both ends of every self-hosted option's 80% speed interval (`plan.robust`); None
    when it was not checked."""
    robust_reason: str = ""
    scaled: bool = False
    """The chosen option is an autoscaled fleet (`Option.autoscale`): it holds replicas as the day needs them."""

    @property
    def label(self) -> str:
        """'cloud api — sonnet' (the recommendation and its option), 'private cloud, scaled to the day — gpus', or
        'no option qualifies'."""
        if self.recommendation == "none":
            return "no option qualifies"
        scaled = ", scaled to the day" if self.scaled else ""
        return self.recommendation.replace("_", " ") + scaled + (f" — {self.option}" if self.option else "")


def _usd(v: float | None) -> str:
    return "n/a" if v is None else f"${v:,.0f}/month"


def _smallest_change(a: OptionAssessment, engineer_usd_per_year: float) -> str:
    """What would make a non-eligible option qualify, or why nothing can."""
    blocking: list[str] = []
    if not a.fits:
        blocking.append("the model does not fit the hardware")
    elif not a.meets_slo:
        blocking.append("it cannot meet the SLO at any fleet size allowed")
    if not a.data_residency_ok:
        blocking.append(f"it processes prompts {a.location}")
    if blocking:
        return f"{a.name} cannot qualify: " + "; ".join(blocking)
    fixes: list[str] = []
    if a.quality_risk:
        fixes.append("pass rates from your own evals (`workload.tasks`) or `accept_quality_risk: true`")
    if not a.within_budget and a.monthly_usd is not None:
        fix = f"a budget of {_usd(a.monthly_usd)}"
        over = a.monthly_usd - (a.budget_usd or 0.0)
        fte = a.people_fte - over / (engineer_usd_per_year / 12.0) if engineer_usd_per_year else -1.0
        if a.kind != "api" and fte >= 0:
            fix += f" (or {fte:.2g} FTE of engineering instead of {a.people_fte:g})"
        fixes.append(fix)
    return f"{a.name} qualifies with " + " and ".join(fixes) if fixes else f"{a.name} qualifies"


def _near_tie(chosen: OptionAssessment, runner: OptionAssessment) -> str | None:
    """The near-tie sentence, with what separates the two, when their costs are within `NEAR_TIE`."""
    if chosen.monthly_usd is None or runner.monthly_usd is None or min(chosen.monthly_usd, runner.monthly_usd) <= 0:
        return None
    gap = abs(runner.monthly_usd - chosen.monthly_usd) / min(chosen.monthly_usd, runner.monthly_usd)
    if gap > NEAR_TIE:
        return None
    trade: list[str] = []
    for a in (chosen, runner):
        if a.kind == "api":
            trade.append(f"{a.name} is served from the provider's fleet with {a.people_fte:g} FTE")
        else:
            headroom = f"{(a.slo_attainment or 0):.0%} of requests meet the SLO as configured" if a.slo_attainment is not None else ""
            trade.append(f"{a.name} needs {plural(a.units, 'unit')} and {a.people_fte:g} FTE" + (f", {headroom}" if headroom else ""))
    return (
        f"Near tie: {chosen.name} ({_usd(chosen.monthly_usd)}) and {runner.name} ({_usd(runner.monthly_usd)}) are {gap:.0%} apart, "
        f"inside the capacity model's documented error; choose on what separates them: {'; '.join(trade)}."
    )


def _people_decide(chosen: OptionAssessment, options: list[OptionAssessment]) -> str | None:
    """The sentence saying engineering time decided it, when an option would be cheaper than the chosen one without
    its people cost."""
    if chosen.monthly_usd is None:
        return None
    for a in options:
        if a is chosen or a.monthly_usd is None or not a.fits or not a.meets_slo or not a.data_residency_ok or not a.quality_ok:
            continue
        without = a.monthly_usd - a.people_usd
        if a.monthly_usd > chosen.monthly_usd and without + chosen.people_usd < chosen.monthly_usd:
            return (
                f"People cost decides against {a.name}: without its {a.people_fte:g} FTE of engineering ({_usd(a.people_usd)}) it would "
                f"cost {_usd(without)}, less than {chosen.name}; set `finance` FTE to what your team really spends."
            )
    return None


def _split_sentence(split: HybridSplit, options: list[OptionAssessment]) -> str:
    alone = (
        f"{_usd(split.all_local_usd_per_month)} all on {split.local}"
        if split.all_local_usd_per_month
        else f"{split.local} cannot carry it all"
    )
    api = next((o for o in options if o.name == split.api), None)
    barred = " (which the sensitive work may not use)" if api is not None and not api.sensitive_ok else ""
    return (
        f"Split: {split.local} keeps {split.local_part} local ({plural(split.local_units, 'unit')}, {_usd(split.local_usd_per_month)}) "
        f"and {split.api} serves the rest ({_usd(split.api_usd_per_month)}): {_usd(split.total_usd_per_month)} against {alone} "
        f"and {_usd(split.all_api_usd_per_month)} all on {split.api}{barred}."
    )


def decide(
    scenario: Scenario,
    options: list[OptionAssessment],
    *,
    batch_token_share: float,
    extra_reasons: list[str],
    splits: list[HybridSplit] | None = None,
    breakevens: dict[tuple[str, str], float | None] | None = None,
) -> Verdict:
    """Run the rule table over the assessed options and explain the outcome."""
    rule_of_residency = scenario.constraints.data_residency
    situation = Situation(
        data_residency=rule_of_residency if isinstance(rule_of_residency, str) else tuple(rule_of_residency.allowed),
        difficulty=scenario.workload.difficulty,
        ml_team=scenario.constraints.ml_team,
        batch_token_share=batch_token_share,
        options=options,
        users=scenario.workload.users,
        has_pass_rates=any(t.pass_rates for t in scenario.workload.tasks),
        has_bar=scenario.workload.has_quality_bar,
        splits=tuple(splits or ()),
    )
    slo = scenario.workload.slo
    for rule in RULES:
        if not rule.when(situation):
            continue
        candidates = rule.candidates(situation)
        chosen = candidates[0] if candidates else None
        recommendation: Recommendation = rule.recommendation
        if chosen is None:
            recommendation = "none"
        elif recommendation == "self_host" and chosen.kind == "cloud_gpu":
            recommendation = "private_cloud"
        elif chosen.kind == "api":
            recommendation = "cloud_api"
        elif recommendation == "private_cloud" and chosen.kind == "self_host":
            recommendation = "self_host"
        reasons = [f"{rule.why(situation)}."]
        api = situation.cheapest_api()
        split = situation.best_split()
        if recommendation == "hybrid" and split is not None:
            reasons.append(_split_sentence(split, options))
        elif situation.splits:
            cheapest = situation.splits[0]
            sentence = _split_sentence(cheapest, options)
            reasons.append("Priced for comparison — " + sentence[0].lower() + sentence[1:])
        runner_up = None
        if chosen is not None:
            size = "served from the provider's fleet" if chosen.kind == "api" else plural(chosen.units, "unit")
            size += f": {chosen.layout}" if chosen.layout else ""
            meets = "is assumed to meet" if chosen.kind == "api" else ("meets" if chosen.meets_slo else "misses")
            success = (
                f" ({_usd(chosen.effective_monthly_usd)} with failed attempts redone, at its {chosen.pass_rate:.0%} pass rate)"
                if chosen.pass_rate is not None
                else ""
            )
            reasons.append(
                f"{chosen.name} ({chosen.kind}, {size}) costs {_usd(chosen.monthly_usd)}{success} and {meets} the SLO "
                f"({slo.min_tok_s_per_user:g} tok/s, TTFT {slo.max_ttft_s:g} s for {slo.percentile:g}% of requests)."
            )
            limit = scenario.constraints.max_kgco2e_per_month
            if limit is not None and (total := total_kgco2e(chosen.energy)) is not None:
                reasons.append(f"{chosen.name} emits {total:,.0f} kg CO2e a month, within the limit of {limit:,.0f} (docs/energy.md).")
            bar = scenario.workload.quality
            if bar is not None and chosen.quality is not None and chosen.quality.effective is not None:
                source = f"; source: {chosen.quality.short_source}" if chosen.quality.source else ""
                reasons.append(f"Quality bar {bar.min_score:g} on {chosen.quality.benchmark_name}: {chosen.quality.words()}{source}.")
            elif chosen.kind == "api" and scenario.workload.difficulty == "hard" and not situation.has_pass_rates and not situation.has_bar:
                tier = (
                    f"a {chosen.quality_tier}-tier model in the catalog" if chosen.quality_tier else "a model the catalog has no tier for"
                )
                scored = f"; {chosen.quality.words()}" if chosen.quality is not None and chosen.quality.effective is not None else ""
                reasons.append(
                    "On hard, varied work with no pass rates from your own evals and no quality bar, the highest-tier API is the safe "
                    f"default ({chosen.name} is {tier}{scored}); set `workload.quality` or add `workload.tasks` with measured pass "
                    "rates to route cheaper models where they pass."
                )
            if rule.id == "fine-tuned" and api is not None:
                volume = (breakevens or {}).get((chosen.name, api.name))
                even = f"; on cost alone the two meet at {format_tokens(volume)} tokens/day" if volume else ""
                reasons.append(
                    f"{chosen.name}'s fine-tuning program is {_usd(chosen.finetune_usd)} of its {_usd(chosen.monthly_usd)}; at its "
                    f"{chosen.pass_rate:.0%} pass rate, failed attempts redone, that is {_usd(chosen.effective_monthly_usd)} against "
                    f"{_usd(api.effective_monthly_usd)} on {api.name}"
                    + (f" at its {api.pass_rate:.0%}" if api.pass_rate is not None else "")
                    + f"{even}."
                )
            if len(candidates) > 1 and (tie := _near_tie(chosen, candidates[1])):
                reasons.append(tie)
                runner_up = candidates[1].name
            if people := _people_decide(chosen, options):
                reasons.append(people)
        else:
            reasons.append("No option qualifies. What would make each one qualify:")
            reasons.extend(f"{_smallest_change(o, scenario.finance.engineer_usd_per_year)}." for o in options if not o.eligible)
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
        return Verdict(
            recommendation=recommendation,
            option=chosen.name if chosen else None,
            rule=rule.id,
            reasons=reasons,
            runner_up=runner_up,
            scaled=chosen is not None and bool(chosen.scaling),
        )
    raise AssertionError("the last rule always matches")
