"""Per-option assessment: the facts the verdict rules read, each with the number behind it."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import layout_words, option_deployment
from tokenlane.catalog import Catalog
from tokenlane.cost import OptionCost
from tokenlane.cost.energy import OptionEnergy
from tokenlane.plan.quality import QualityFigure, bar_issue, is_low_bit, option_quality, report_benchmark
from tokenlane.scenario import Option, ResidencyRule, Scenario, jurisdiction_of
from tokenlane.simulate import BatchJobResult, SimulationResult, describe_rejections
from tokenlane.units import S_PER_HOUR, format_duration, format_number, plural

RESIDENCY_ALLOWS = {"none": {"on_prem", "region", "external"}, "region": {"on_prem", "region"}, "on_prem": {"on_prem"}}
"""Which data locations each three-word `constraints.data_residency` value accepts."""


def processing_place(option: Option, catalog: Catalog) -> tuple[str | None, str | None]:
    """(where the option processes prompts, where it retains them): self-hosted is on_prem; rented GPUs and APIs say
    where with `processes_in`, else an API's provider default from the catalog; None when unknown."""
    if option.kind == "self_host":
        return "on_prem", "on_prem"
    provider = catalog.api_provider(option.provider) if option.kind == "api" else None
    processes = option.processes_in or (provider.processes_in if provider else None)
    if option.kind != "api":
        return processes, processes
    if option.zero_data_retention:
        return processes, None
    if option.retains_in or option.processes_in:
        return processes, option.retains_in or option.processes_in
    return processes, provider.retains_in if provider else processes


def residency_issue(option: Option, scenario: Scenario, catalog: Catalog, rule: ResidencyRule | None = None) -> str | None:
    """Why the option's data location breaks a residency rule (default the scenario's `data_residency`; None when it
    does not)."""
    rule = scenario.constraints.data_residency if rule is None else rule
    if isinstance(rule, str):
        if option.location in RESIDENCY_ALLOWS[rule]:
            return None
        return f"data residency requires {rule}; {option.name} processes prompts {option.location}"
    allowed = set(rule.allowed)
    processes, retains = processing_place(option, catalog)
    if processes is None:
        return f"data may stay only in {', '.join(rule.allowed)}; {option.name} does not say where it processes prompts (set processes_in)"
    for what, place in (("processes", processes), ("retains", retains)):
        if place is None:
            continue
        if place not in allowed and jurisdiction_of(place) not in allowed:
            return f"data may stay only in {', '.join(rule.allowed)}; {option.name} {what} prompts in {place}"
    if rule.no_training and option.kind == "api":
        trains = trains_on_prompts(option, catalog)
        if trains is None:
            return f"prompts must not train a provider's models; {option.name}'s terms do not say (set trains_on_prompts)"
        if trains:
            return f"prompts must not train a provider's models; {option.name}'s provider may train on API prompts"
    return None


def sensitive_issue(option: Option, scenario: Scenario, catalog: Catalog) -> str | None:
    """Why the option may not process the work marked sensitive under `constraints.sensitive_residency` (None when
    there is no such work, no stricter rule, or the option meets it)."""
    rule = scenario.constraints.sensitive_residency
    if rule is None or not scenario.workload.has_sensitive_work:
        return None
    issue = residency_issue(option, scenario, catalog, rule)
    return f"its sensitive work may not run there ({issue}); a hybrid split can give it the rest" if issue else None


def trains_on_prompts(option: Option, catalog: Catalog) -> bool | None:
    """Whether an API option's provider may train on its prompts: the option's own terms, else the provider's
    published default (catalog `api_providers`); None when neither says."""
    if option.trains_on_prompts is not None:
        return option.trains_on_prompts
    provider = catalog.api_provider(option.provider)
    return provider.trains_on_api_data if provider else None


OPEN_WEIGHT_KINDS = {"self_host", "cloud_gpu"}


class OptionAssessment(BaseModel):
    """One option, judged against the scenario."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    location: str
    processes_in: str | None = None
    """Where the option processes prompts (on_prem, a jurisdiction or a cloud region), when known."""
    fits: bool
    meets_slo: bool
    """Meets the SLO (and batch windows) with `units` units; APIs are assumed to."""
    meets_slo_as_configured: bool | None
    """Meets the SLO with the scenario's own `count` of replicas (self-host only)."""
    units: int
    replicas: int
    layout: str = ""
    """How each replica is laid out when it is more than tensor parallelism (`capacity.layout_words`)."""
    monthly_usd: float | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    data_residency_ok: bool
    sensitive_ok: bool = True
    """May process the work marked sensitive (`constraints.sensitive_residency`)."""
    eligible_for_rest: bool = False
    """Eligible but for the sensitive work: what a hybrid split may send it."""
    quality_risk: bool
    """An open model on hard work, with no quality bar set, without pass rates from the user's own evals for all of
    its traffic."""
    quality: QualityFigure | None = None
    """Its score on the scenario's quality benchmark (its bar's, else the default), with the sources."""
    quality_ok: bool = True
    """Meets every quality bar and task pass-rate bar, and carries no unaccepted quality risk."""
    quality_tier: str | None
    """API: the catalog's quality tier of the model (frontier, mid, small); None when unknown or not an API."""
    pass_rate: float | None
    """Traffic-weighted pass rate from the user's own evals, when they cover every task; None otherwise."""
    effective_monthly_usd: float | None
    """Monthly cost per month of successful work = monthly / pass rate (failed attempts are paid and redone); the
    monthly cost when there is no pass rate."""
    within_budget: bool
    budget_usd: float | None
    """The scenario's monthly budget, if it has one."""
    people_fte: float
    people_usd: float
    """Engineering time in `monthly_usd`, USD/month."""
    finetune_usd: float = 0.0
    """A fine-tuning program in `monthly_usd` (training, labelling, evaluation, ML team), USD/month."""
    single_stream_tok_s: float | None
    """Speed of one stream alone on one replica (the vendor number)."""
    peak_concurrency: int | None
    """Most interactive requests running together, as configured (batch streams are counted apart)."""
    batch: str
    """How the batch jobs fared as configured, in words ('' without batch jobs)."""
    unfinished: str
    """Requests the day left unserved, in words ('' when every request finished)."""
    rejections: str
    """The requests the option rejected as configured, with their causes ('' when none)."""
    peak_tok_s_p50: float | None
    peak_tok_s_p95: float | None
    """Per-stream speed 95% of requests reach, as configured."""
    ttft_p95_s: float | None
    slo_attainment: float | None
    energy: OptionEnergy | None = None
    """Energy and emissions per month (`cost.energy`)."""
    scaling: str = ""
    """An autoscaled fleet's priced day in words: the hours held, the cold starts paid, requests spilled ('' for a
    fixed fleet or an API)."""
    eligible: bool
    """Fits, meets the SLO at some size, respects residency and budget, and carries no unaccepted quality risk."""
    issues: list[str]
    """Why it is not eligible, in words with numbers."""


def assess_option(
    option: Option,
    scenario: Scenario,
    cost: OptionCost,
    catalog: Catalog,
    *,
    as_configured: SimulationResult | None,
    single_stream_tok_s: float | None,
) -> OptionAssessment:
    """Judge one option: SLO, residency, budget, quality risk, each issue stated with its number."""
    constraints = scenario.constraints
    issues: list[str] = []
    residency = residency_issue(option, scenario, catalog)
    residency_ok = residency is None
    if residency:
        entry = catalog.api_model(option.provider, option.model) if option.kind == "api" else None
        twins = [o.name for o in scenario.options if entry and entry.open_weights and o.kind != "api" and o.model == entry.open_weights]
        if twins:
            residency += f" (the same weights, self-hosted as {', '.join(twins)}, stay where you run them)"
        issues.append(residency)
    sensitive = sensitive_issue(option, scenario, catalog)
    if not cost.fits or not cost.carries_load:
        issues.append(cost.note)
    tasks = scenario.workload.tasks
    rated = [t for t in tasks if option.name in t.pass_rates]
    covered = sum(t.share for t in rated)
    failed_quality = [
        f"its pass rate on {t.name} is {t.pass_rates[option.name]:.0%}, below that task's bar of {t.min_pass_rate:.0%}"
        for t in rated
        if t.pass_rates[option.name] < t.min_pass_rate
    ]
    pass_rate = sum(t.share * t.pass_rates[option.name] for t in rated) if rated and covered >= 1.0 - 1e-9 else None
    quality = option_quality(option, scenario, catalog, report_benchmark(scenario))
    failed_quality += quality_issues(option, scenario, catalog, covered=covered)
    unrated_hard = scenario.workload.difficulty == "hard" and covered < 1.0 - 1e-9 and not scenario.workload.has_quality_bar
    quality_risk = option.kind in OPEN_WEIGHT_KINDS and unrated_hard
    if quality_risk and not constraints.accept_quality_risk:
        missing = "no pass rates for it" if not rated else f"pass rates for only {covered:.0%} of the traffic"
        failed_quality.append(
            f"quality risk: {quality.words()}, against {_best_api_words(scenario, catalog, quality.benchmark)}, on hard, "
            f"varied work, and the scenario has {missing} from your own evals (an eval counts only for its task) and no quality bar "
            "(workload.quality)"
        )
    issues.extend(failed_quality)
    entry = catalog.api_model(option.provider, option.model) if option.kind == "api" else None
    budget = constraints.max_budget_usd_per_month
    within_budget = budget is None or (cost.monthly_usd is not None and cost.monthly_usd <= budget)
    if not within_budget:
        issues.append(f"costs ${cost.monthly_usd or 0:,.0f}/month against a budget of ${budget:,.0f}")
    if (carbon := carbon_issue(cost.energy, constraints.max_kgco2e_per_month)) is not None:
        issues.append(carbon)
    eligible_for_rest = not issues and sensitive is not None
    if sensitive:
        issues.append(sensitive)
    sim = as_configured
    return OptionAssessment(
        name=option.name,
        kind=option.kind,
        layout=layout_words(option_deployment(catalog, option)) if option.kind != "api" else "",
        location=option.location,
        processes_in=processing_place(option, catalog)[0],
        fits=cost.fits,
        meets_slo=cost.carries_load,
        meets_slo_as_configured=sim.meets_slo if sim else None,
        units=cost.units,
        replicas=cost.replicas,
        monthly_usd=cost.monthly_usd,
        usd_per_mtok_input=cost.usd_per_mtok_input,
        usd_per_mtok_output=cost.usd_per_mtok_output,
        data_residency_ok=residency_ok,
        sensitive_ok=sensitive is None,
        eligible_for_rest=eligible_for_rest,
        quality_risk=quality_risk,
        quality=quality,
        quality_ok=not failed_quality,
        quality_tier=entry.quality_tier if entry else None,
        pass_rate=pass_rate,
        effective_monthly_usd=cost.monthly_usd / pass_rate if cost.monthly_usd is not None and pass_rate else cost.monthly_usd,
        within_budget=within_budget,
        budget_usd=budget,
        people_fte=cost.people_fte,
        people_usd=cost.breakdown.people_usd if cost.breakdown else 0.0,
        finetune_usd=cost.breakdown.finetune_usd if cost.breakdown else 0.0,
        single_stream_tok_s=single_stream_tok_s,
        peak_concurrency=sim.peak_interactive_streams if sim and sim.requests else None,
        batch=_batch_words(sim) if sim else "",
        unfinished=_unfinished_words(sim) if sim else "",
        rejections=describe_rejections(sim.rejected_by_reason) if sim else "",
        peak_tok_s_p50=sim.per_user_tok_s.p50 if sim else None,
        peak_tok_s_p95=sim.per_user_tok_s.p95 if sim else None,
        ttft_p95_s=sim.ttft_s.p95 if sim else None,
        slo_attainment=sim.slo_attainment if sim else None,
        scaling=cost.simulation.scaling.words(option.name) if cost.simulation and cost.simulation.scaling else "",
        energy=cost.energy,
        eligible=not issues,
        issues=issues,
    )


def total_kgco2e(energy: OptionEnergy | None) -> float | None:
    """Operational + embodied emissions a month, kg CO2e (an API's published figure includes what it includes);
    None when the operational part is not known."""
    if energy is None or energy.kgco2e_per_month is None:
        return None
    return energy.kgco2e_per_month + (energy.kgco2e_embodied_per_month or 0.0)


def carbon_issue(energy: OptionEnergy | None, limit: float | None) -> str | None:
    """Why an option misses `constraints.max_kgco2e_per_month`, in words with both numbers; None when it meets it or
    there is no limit."""
    if limit is None:
        return None
    total = total_kgco2e(energy)
    if total is None:
        why = energy.source if energy is not None else "it was not simulated"
        return f"its emissions are not known, so it cannot show it stays under {limit:,.0f} kg CO2e/month ({why.split(';')[0]})"
    if total <= limit:
        return None
    assert energy is not None
    embodied = f" + {energy.kgco2e_embodied_per_month:,.0f} embodied" if energy.kgco2e_embodied_per_month else ""
    return (
        f"emits {total:,.0f} kg CO2e/month ({energy.kgco2e_per_month or 0:,.0f} from {energy.kwh_per_month or 0:,.0f} kWh"
        f"{embodied}) against a limit of {limit:,.0f}"
    )


def quality_issues(option: Option, scenario: Scenario, catalog: Catalog, *, covered: float) -> list[str]:
    """The quality bars the option misses: the workload's (unless the user's pass rates cover all of its traffic) and
    each task's it has no pass rate for, each quoting both numbers and the score's source."""
    issues: list[str] = []
    workload = scenario.workload
    if workload.quality is not None and covered < 1.0 - 1e-9:
        figure = option_quality(option, scenario, catalog, workload.quality.benchmark)
        if issue := bar_issue(figure, workload.quality):
            issues.append(issue)
    for task in workload.tasks:
        if task.quality is not None and option.name not in task.pass_rates:
            figure = option_quality(option, scenario, catalog, task.quality.benchmark)
            if issue := bar_issue(figure, task.quality, scope=f"task {task.name}"):
                issues.append(issue)
    return issues


def low_bit_warning(option: Option, scenario: Scenario, catalog: Catalog) -> str | None:
    """A warning for a self-hosted option on a 2-bit quant that the scenario gives no measured score for."""
    if option.kind == "api":
        return None
    quant = catalog.quant_by_id(option.quant)
    figure = option_quality(option, scenario, catalog, report_benchmark(scenario))
    if not is_low_bit(quant) or figure.is_own:
        return None
    kept = f"; the catalog's figure keeps {figure.recovery:.0%} of the score ({figure.recovery_source})" if figure.recovery else ""
    return (
        f"Warning: {option.name} runs {quant.id}, a 2-bit quant{kept}. Measure it on your own work before relying on it "
        "(workload.quality.measured, or pass rates in workload.tasks)."
    )


def _best_api_words(scenario: Scenario, catalog: Catalog, benchmark: str) -> str:
    """The best-scoring API option of the scenario on `benchmark`, in words ('no API option with a published score'
    when there is none)."""
    figures = [option_quality(o, scenario, catalog, benchmark) for o in scenario.options if o.kind == "api"]
    scored = [f for f in figures if f.effective is not None]
    if not scored:
        return "no API option here with a published score"
    best = max(scored, key=lambda f: f.effective or 0.0)
    return best.words() + " (the best API option here)"


def _batch_words(sim: SimulationResult) -> str:
    """'the batch jobs ran up to 256 streams at 11.2 tok/s each; nightly finished in 30 min of its 8 h window'."""
    if not sim.batch_jobs:
        return ""
    jobs = "; ".join(_job_words(job) for job in sim.batch_jobs)
    speed = f" at {format_number(sim.batch_tok_s.p50, 1)} tok/s each" if sim.batch_tok_s.p50 is not None else ""
    return f"its batch jobs ran up to {plural(sim.peak_batch_streams, 'stream')} together{speed}; {jobs}"


def _job_words(job: BatchJobResult) -> str:
    """'nightly finished in 30 min of its 8 h window', '... in 18.1 h, past its 8 h window', or did not finish."""
    if not math.isfinite(job.completion_hours):
        return f"{job.name} did not finish ({job.completed:,} of {plural(job.requests, 'request')} served)"
    took = format_duration(job.completion_hours * S_PER_HOUR)
    if job.met_window:
        return f"{job.name} finished in {took} of its {job.window_hours:g} h window"
    return f"{job.name} finished in {took}, past its {job.window_hours:g} h window"


def _unfinished_words(sim: SimulationResult) -> str:
    """'412 of 1,730 requests not served by the end of the run; queue wait p95 over 4.0 h'."""
    if not sim.unfinished:
        return ""
    made = sim.requests + sim.batch_requests
    wait = f"; queue wait p95 {format_duration(sim.queue_wait_s.p95)}" if sim.queue_wait_s.p95 is not None else ""
    return f"{sim.unfinished:,} of {plural(made, 'request')} not served by the end of the run{wait}"


def _together(streams: int) -> str:
    return "one interactive stream at a time" if streams == 1 else f"{streams:,} interactive streams together"


def peak_reason(a: OptionAssessment, min_tok_s: float, max_ttft_s: float) -> str | None:
    """What an option gives as configured, in one sentence: people's speed at peak (when there is interactive
    traffic), the batch jobs (when there are), requests left unserved or rejected. None when it was not simulated."""
    parts: list[str] = []
    if a.peak_concurrency is not None and a.peak_tok_s_p50 is not None:
        verdict = "meet" if a.meets_slo_as_configured else "miss"
        share = f"{(a.slo_attainment or 0):.0%} of requests meet it"
        if not a.meets_slo_as_configured and a.unfinished:
            share += ", but the day left requests unserved"
        parts.append(
            f"{a.name} at peak serves {_together(a.peak_concurrency)} at {a.peak_tok_s_p50:.1f} tok/s "
            f"each (95% of requests get at least {format_number(a.peak_tok_s_p95, 1)}; TTFT p95 {format_duration(a.ttft_p95_s)}) "
            f"against an SLO of {min_tok_s:g} tok/s and {max_ttft_s:g} s: as configured it would {verdict} it ({share})"
        )
    if a.batch:
        parts.append(f"{a.name}: {a.batch}" if not parts else a.batch)
    if a.scaling:
        parts.append(a.scaling)
    parts.extend(x for x in (a.unfinished, a.rejections) if x)
    if not parts:
        return None
    return "; ".join(parts)
