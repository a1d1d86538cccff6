"""One configuration judged: on paper first, then its fleet sized by simulating the scenario's day, priced and
assessed exactly as `tokenlane plan` would an option of the scenario. Pure and picklable: the same result serial,
in a process pool or as a Ray task."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import option_deployment
from tokenlane.catalog import Catalog
from tokenlane.cost import OptionCost, OptionDays, self_host_cost
from tokenlane.plan.days import SizingJob, size_option
from tokenlane.plan.facts import assess_option
from tokenlane.plan.quality import option_quality, report_benchmark
from tokenlane.scenario import Option, Scenario
from tokenlane.search.space import Config, PaperCheck, paper_check

CANDIDATE = "candidate"
"""The option name a configuration is simulated under."""


class ConfigResult(BaseModel):
    """What became of one configuration (one line of the results file)."""

    model_config = ConfigDict(frozen=True)

    key: str
    config: dict[str, str | int]
    status: Literal["pruned", "fails_slo", "ineligible", "eligible"]
    """pruned on paper; simulated and no fleet meets the SLO; meets it but breaks a constraint (budget, quality);
    meets it and every constraint."""
    reason: str | None = None
    """Why it was pruned, fails or is ineligible."""
    replicas: int | None = None
    units: int | None = None
    monthly_usd: float | None = None
    tok_s_p95: float | None = None
    """Per-stream decode speed 95% of requests reach, at the sized fleet, tok/s."""
    ttft_p95_s: float | None = None
    slo_attainment: float | None = None
    quality_risk: bool = False
    quality_benchmark: str | None = None
    """The benchmark `quality_score` is on: the scenario's bar's, else the stated default (plan.quality)."""
    quality_score: float | None = None
    """Effective score on `quality_benchmark`: the model's published score x its quant's recovery, or the scenario's
    measured score, percent; None when none is published."""


@dataclass(frozen=True)
class EvalJob:
    scenario: Scenario
    catalog: Catalog
    config: Config
    seed: int = 0
    search: str = ""
    """Which search the job belongs to (sizings are shared only within one search)."""


_SIZED: OrderedDict[tuple[object, ...], OptionDays | None] = OrderedDict()
SIZED_KEPT = 64
"""Fleet sizings kept per process: bought and rented twins of a configuration come one after the other and are
served by the same deployment, so the second is not simulated again (the results are the same either way)."""


def _sized(job: EvalJob, option: Option, alone: Scenario) -> OptionDays | None:
    """The option's fleet sizing (`plan.days.size_option`), shared by configurations of one search that differ only in
    kind (an unnamed search shares nothing)."""
    if not job.search:
        return size_option(SizingJob(alone, job.catalog, CANDIDATE, job.seed, False))[1]
    c = job.config
    key = (job.search, job.seed, dataclasses.replace(c, kind=""), option.count)  # every field but the kind
    if key not in _SIZED:
        _SIZED[key] = size_option(SizingJob(alone, job.catalog, CANDIDATE, job.seed, False))[1]
        while len(_SIZED) > SIZED_KEPT:
            _SIZED.popitem(last=False)
    return _SIZED[key]


@dataclass(frozen=True)
class Bounded:
    """A configuration that passed its paper checks, with what its simulated day can at best reach on each Pareto
    axis (`PaperCheck`): what `search.bounds` walks."""

    config: Config
    paper: PaperCheck
    benchmark: str
    quality_score: float | None
    can_be_eligible: bool
    """False when a constraint rules it out whatever its day (`eligible_on_paper`)."""


def judge_on_paper(job: EvalJob) -> ConfigResult | Bounded:
    """The paper checks of one configuration: its result when they rule it out, else its bounds."""
    config, scenario, catalog = job.config, job.scenario, job.catalog
    benchmark = report_benchmark(scenario)
    quality = option_quality(config.option(), scenario, catalog, benchmark).effective
    paper = paper_check(config, scenario, catalog, seed=job.seed)
    if paper.reason is not None:
        return ConfigResult(**result_fields(config, benchmark, quality), status="pruned", reason=paper.reason)
    return Bounded(config, paper, benchmark, quality, eligible_on_paper(config, scenario, catalog, paper))


def eligible_on_paper(config: Config, scenario: Scenario, catalog: Catalog, paper: PaperCheck) -> bool:
    """Whether the configuration can be eligible at all: assessed as if its day carried the load at its lowest cost.
    Residency, sensitive data and quality (pass rates, the bar, the risk on hard work) do not depend on the day, and a
    budget the lowest cost breaks, the real cost breaks too; what does depend on it (the SLO, emissions) is not read."""
    option = config.option(name=CANDIDATE).model_copy(update={"count": paper.min_replicas})
    alone = scenario.model_copy(update={"options": [option]})
    best = OptionCost(
        name=CANDIDATE,
        kind=option.kind,
        location=option.location,
        fits=True,
        carries_load=True,
        meets_slo=True,
        replicas=paper.min_replicas,
        units=paper.min_replicas,
        monthly_usd=paper.min_usd,
        breakdown=None,
        usd_per_mtok_input=None,
        usd_per_mtok_output=None,
        capacity_tokens_per_day_per_replica=None,
        simulation=None,
    )
    a = assess_option(option, alone, best, catalog, as_configured=None, single_stream_tok_s=None)
    return a.data_residency_ok and a.sensitive_ok and a.quality_ok and a.within_budget


def result_fields(config: Config, benchmark: str, quality: float | None) -> dict[str, object]:
    """What every result of `config` carries, however it ends: its key, its fields, its quality score on `benchmark`."""
    return {
        "key": config.key,
        "config": {k: getattr(config, k) for k in Config.__dataclass_fields__},
        "quality_benchmark": benchmark,
        "quality_score": quality,
    }


def evaluate(job: EvalJob) -> ConfigResult:
    """Judge one configuration (see the module docstring)."""
    paper = judge_on_paper(job)
    if isinstance(paper, ConfigResult):
        return paper
    config, scenario, catalog = job.config, job.scenario, job.catalog
    base = result_fields(config, paper.benchmark, paper.quality_score)
    option = config.option(name=CANDIDATE).model_copy(update={"count": paper.paper.min_replicas})
    alone = scenario.model_copy(update={"options": [option]})
    days = _sized(job, option, alone)
    cost, _, _ = self_host_cost(option, option_deployment(catalog, option), alone, catalog, days)
    judged = assess_option(option, alone, cost, catalog, as_configured=None, single_stream_tok_s=None)
    sim = cost.simulation
    assert sim is not None
    if not cost.carries_load:
        status, reason = "fails_slo", cost.note or "misses the SLO at every fleet size tried"
    elif not judged.eligible:
        status, reason = "ineligible", "; ".join(judged.issues)
    else:
        status, reason = "eligible", None
    return ConfigResult(
        **base,
        status=status,
        reason=reason,
        replicas=cost.replicas,
        units=cost.units,
        monthly_usd=cost.monthly_usd,
        tok_s_p95=sim.per_user_tok_s.p95,
        ttft_p95_s=sim.ttft_s.p95,
        slo_attainment=sim.slo_attainment,
        quality_risk=judged.quality_risk,
    )
