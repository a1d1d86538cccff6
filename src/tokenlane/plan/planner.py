"""`plan_scenario`: capacity, simulation and cost for every option, then the verdict and the claims check."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import CapacityReport, CurvePoint, MeasuredPoint, concurrency_curve, option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.cost import CostReport, LeverResult, OptionCost, cost_scenario
from tokenlane.plan.claims import Claim, check_claims
from tokenlane.plan.days import ScenarioDays, curve_lengths, simulate_options, speed_interval
from tokenlane.plan.facts import OptionAssessment, assess_option, low_bit_warning
from tokenlane.plan.flips import SHOWN_IN_VERDICT, FlipPoint, find_flip_points
from tokenlane.plan.hybrid import HybridSplit, price_splits
from tokenlane.plan.quality import mixed_harness_sentence
from tokenlane.plan.robust import Outcome, Robustness, check_robustness, speed_matters
from tokenlane.plan.verdict import Verdict, decide
from tokenlane.scenario import FINANCE_SOURCES, Option, Scenario, SpeedClaim, Workload
from tokenlane.simulate import API_SERVING_AS_OF, API_SERVING_SOURCE, SimulationResult, map_shared, workers_available

CURVE_USERS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Assumption(BaseModel):
    """One input the numbers rest on, with where it comes from."""

    model_config = ConfigDict(frozen=True)

    what: str
    value: str
    source: str
    as_of: str


class PlanReport(BaseModel):
    """Everything `tokenlane plan` found."""

    model_config = ConfigDict(frozen=True)

    scenario: Scenario
    verdict: Verdict
    options: list[OptionAssessment]
    claims: list[Claim]
    cost: CostReport
    simulations: list[SimulationResult]
    """Each self-hosted option's day as configured (its own `count`)."""
    curves: dict[str, CapacityReport]
    """Concurrency curve of one replica per self-hosted option, at the workload's mean context."""
    measured: dict[str, list[MeasuredPoint]]
    """Curves measured by `tokenlane bench` for options that name one (`measured:`)."""
    assumptions: list[Assumption]
    flip_points: list[FlipPoint]
    """Each key assumption's nearest value that changes the verdict, nearest first."""
    robustness: Robustness | None = None
    """The verdict at the ends of every self-hosted option's speed interval; None when not checked."""
    hybrid: list[HybridSplit]
    """Every (self-hosted, API) split of the local part and the rest, priced, cheapest first."""
    seed: int


def _assumptions(scenario: Scenario, catalog: Catalog, cost: CostReport) -> list[Assumption]:
    out: list[Assumption] = []
    seen: set[tuple[str, str]] = set()
    for option in scenario.options:
        if option.kind == "api":
            bill = next(o for o in cost.options if o.name == option.name)
            source = "custom price in the scenario" if option.price else f"genai-prices {importlib.metadata.version('genai-prices')}"
            out.append(
                Assumption(what=f"API price of {option.name}", value=bill.note, source=source, as_of=str(scenario.finance.prices_at))
            )
            speed = f"TTFT {option.ttft_s} s (scenario)" if option.ttft_s else "default TTFT"
            speed += f", {option.tok_s} tok/s (scenario)" if option.tok_s else ", default stream speed"
            out.append(Assumption(what=f"API speed of {option.name}", value=speed, source=API_SERVING_SOURCE, as_of=API_SERVING_AS_OF))
            continue
        for kind, entry_id in (
            ("hardware", option.hardware),
            ("models", option.model),
            ("quants", option.quant),
            ("kv_dtypes", option.kv_dtype),
            ("engines", option.engine),
        ):
            if entry_id is None or (kind, entry_id) in seen:
                continue
            seen.add((kind, entry_id))
            entry = catalog.get(kind, entry_id)  # type: ignore[arg-type]
            setting = getattr(entry, "memory_setting", "")
            out.append(
                Assumption(
                    what=f"{kind}: {entry.id}",
                    value=entry.name + (f" — {entry.notes}" if entry.notes else "") + (f" — usable memory: {setting}" if setting else ""),
                    source=entry.source,
                    as_of=str(entry.as_of),
                )
            )
    for name, value in scenario.finance.model_dump().items():
        source = FINANCE_SOURCES.get(name, "scenario")
        out.append(
            Assumption(
                what=f"finance.{name}",
                value="by scale" if value is None else str(value),
                source=source,
                as_of="2026-11-04" if name == "prices_at" else "2026-11-01",
            )
        )
    return out


def _lever_sentence(lever: LeverResult, eligible: set[str]) -> str | None:
    """The lever's sentence for the eligible option it saves most on (None when it saves nothing there); a lever
    without per-option sentences (routing) is quoted as a whole."""
    if not lever.summary_by_option:
        return lever.summary if lever.savings_usd_per_month > 0 else None
    saving = {name: usd for name, usd in lever.by_option.items() if name in eligible and usd > 0}
    return lever.summary_by_option[max(saving, key=lambda n: saving[n])] if saving else None


def option_curve(
    catalog: Catalog, option: Option, workload: Workload, users: Iterable[int] = CURVE_USERS, *, intervals: bool = True
) -> CapacityReport | None:
    """A self-hosted option's concurrency curve (one replica) for the workload's mean request at `users` concurrent
    users, on paper (`intervals`: with the 80% prediction intervals from the catalog's errors); None when the model
    does not fit the hardware."""
    dep = option_deployment(catalog, option)
    if not plan_memory(dep).fits:
        return None
    context, prompt = curve_lengths(dep, workload)
    errors = list(catalog.prediction_errors.values()) if intervals else []
    return concurrency_curve(dep, users, context_tokens=context, prompt_tokens=prompt, errors=errors)


def _quoted(scenario: Scenario, catalog: Catalog) -> list[tuple[SpeedClaim, CurvePoint | None]]:
    """Each quoted speed with the capacity model's point for its option at the quoted number of users."""
    out: list[tuple[SpeedClaim, CurvePoint | None]] = []
    for q in scenario.claims:
        curve = option_curve(catalog, scenario.option(q.option), scenario.workload, [q.users])
        out.append((q, curve.points[0] if curve is not None else None))
    return out


@dataclass(frozen=True)
class _Planned:
    """One plan's simulated days, prices and assessed options, before the verdict's words."""

    days: ScenarioDays
    cost: CostReport
    curves: dict[str, CapacityReport]
    assessments: list[OptionAssessment]
    by_sim: dict[str, SimulationResult]
    batch_share: float
    splits: list[HybridSplit]
    breakevens: dict[tuple[str, str], float | None]


def _plan_days(scenario: Scenario, catalog: Catalog, *, seed: int, workers: int | None, reuse: ScenarioDays | None = None) -> _Planned:
    """Simulate, size and price every option, assess each and price the hybrid splits: what the verdict is decided on
    (`reuse`: a plan's days whose unchanged options are taken as they are)."""
    days = simulate_options(scenario, catalog, seed=seed, workers=workers, reuse=reuse, as_configured=reuse is None)
    cost = cost_scenario(scenario, catalog, days=days.priced, demand=days.demand)
    by_sim = {o.name: day for o in scenario.options if o.kind != "api" and (day := days.as_configured(o.name)) is not None}
    curves: dict[str, CapacityReport] = {}
    assessments: list[OptionAssessment] = []
    for option, option_cost in zip(scenario.options, cost.options, strict=True):
        curve = option_curve(catalog, option, scenario.workload) if option.kind != "api" else None
        if curve is not None:
            curves[option.name] = curve
        single = curve.single_stream_tok_s if curve is not None else None
        assessments.append(
            assess_option(option, scenario, option_cost, catalog, as_configured=by_sim.get(option.name), single_stream_tok_s=single)
        )
    workload = scenario.workload
    batch_tokens = sum(j.requests * (j.prompt_tokens + j.output_tokens) for j in workload.batch_jobs)
    total_tokens = cost.input_tokens_per_day + cost.output_tokens_per_day
    return _Planned(
        days=days,
        cost=cost,
        curves=curves,
        assessments=assessments,
        by_sim=by_sim,
        batch_share=batch_tokens / total_tokens if total_tokens else 0.0,
        splits=price_splits(scenario, catalog, days, cost, seed=seed),
        breakevens={(b.self_host, b.api): b.tokens_per_day for b in cost.breakeven},
    )


@dataclass(frozen=True)
class _EndJob:
    """One plan at other speeds: the scenario varied (the base plan's days, to reuse, are shared with every job)."""

    scenario: Scenario
    catalog: Catalog
    seed: int


def _plan_end(job: _EndJob, reuse: ScenarioDays) -> Outcome:
    """The verdict and each option's (monthly USD, replicas, meets the SLO) of a plan at other speeds (one process),
    reusing the base plan's days."""
    run = _plan_days(job.scenario, job.catalog, seed=job.seed, workers=1, reuse=reuse)
    decided = decide(
        job.scenario, run.assessments, batch_token_share=run.batch_share, extra_reasons=[], splits=run.splits, breakevens=run.breakevens
    )
    return decided, {a.name: (a.monthly_usd, a.replicas, a.meets_slo) for a in run.assessments}


def plan_scenario(
    scenario: Scenario,
    catalog: Catalog,
    *,
    seed: int = 0,
    measured: dict[str, list[MeasuredPoint]] | None = None,
    workers: int | None = None,
    check_speed: bool = False,
    stage: Callable[[int, int, str], None] = lambda done, total, words: None,
) -> PlanReport:
    """Simulate every option's day once, price it, assess and decide; `measured` curves are checked against the model;
    `check_speed` plans again at the ends of each self-hosted option's speed interval, the two ends in parallel
    (`plan.robust`; `tokenlane plan` always does).

    `workers` processes simulate options in parallel (default: the cores available; the result is the same).
    `stage(done, total, words)` hears each stage as it starts (a terminal's progress bar).
    """
    measured = measured or {}
    stages = 2 if check_speed else 1
    stage(0, stages, "simulating each option's day and sizing its fleet")
    base = _plan_days(scenario, catalog, seed=seed, workers=workers)
    cost, assessments, curves, by_sim = base.cost, base.assessments, base.curves, base.by_sim
    workload = scenario.workload
    measured_vs_model: dict[str, list[tuple[int, float, float]]] = {}
    for option in scenario.options:
        points = [p for p in measured.get(option.name, []) if p.per_user_tok_s_p50]
        if points and option.name in curves:
            dep = option_deployment(catalog, option)
            context, prompt = curve_lengths(dep, workload)
            model = concurrency_curve(dep, [p.concurrency for p in points], context_tokens=context, prompt_tokens=prompt)
            measured_vs_model[option.name] = [
                (p.concurrency, float(p.per_user_tok_s_p50 or 0), m.stream_tok_s) for p, m in zip(points, model.points, strict=True)
            ]
    eligible = {a.name for a in assessments if a.eligible}
    extra = [warning for option in scenario.options if (warning := low_bit_warning(option, scenario, catalog))]
    figures = {a.name: a.quality for a in assessments if a.quality is not None}
    if scenario.workload.quality is not None and (mixed := mixed_harness_sentence(figures, catalog)):
        extra.append(mixed)
    extra += [sentence for lever in cost.levers if (sentence := _lever_sentence(lever, eligible))]

    def judge(costs: list[OptionCost]) -> Verdict:
        again = [
            assess_option(o, scenario, c, catalog, as_configured=by_sim.get(o.name), single_stream_tok_s=a.single_stream_tok_s)
            for o, c, a in zip(scenario.options, costs, assessments, strict=True)
        ]
        return decide(scenario, again, batch_token_share=base.batch_share, extra_reasons=[])

    flips = find_flip_points(scenario, cost.options, judge)
    extra += [f"Flip point: {f.sentence}." for f in flips[:SHOWN_IN_VERDICT]]
    verdict = decide(
        scenario, assessments, batch_token_share=base.batch_share, extra_reasons=extra, splits=base.splits, breakevens=base.breakevens
    )

    def replan(varied: list[Scenario]) -> list[Outcome]:
        jobs = [_EndJob(v, catalog, seed) for v in varied]
        return list(map_shared(_plan_end, jobs, base.days, workers=workers_available() if workers is None else workers))

    varied = [o for o, a in zip(scenario.options, assessments, strict=True) if speed_matters(a)]
    ends = {o.name: iv for o in varied if (iv := speed_interval(catalog, o, workload)) is not None}
    if check_speed:
        stage(1, stages, "planning again at the ends of each box's speed interval")
    robustness = check_robustness(scenario, verdict, ends, replan) if check_speed else None
    if robustness is not None:
        verdict = verdict.model_copy(
            update={"robust": robustness.robust, "robust_reason": robustness.reason, "reasons": [*verdict.reasons, robustness.reason + "."]}
        )
    return PlanReport(
        scenario=scenario,
        verdict=verdict,
        options=assessments,
        claims=check_claims(scenario, assessments, cost, measured_vs_model=measured_vs_model, quoted=_quoted(scenario, catalog)),
        robustness=robustness,
        flip_points=flips,
        hybrid=base.splits,
        cost=cost,
        simulations=list(by_sim.values()),
        curves=curves,
        measured=measured,
        assumptions=_assumptions(scenario, catalog, cost),
        seed=seed,
    )
