"""Quality on a benchmark for every option: the catalog's published score of its model, times what its quant keeps
(`Quant.recovery` by size class), or a score measured by the user; and the bars a scenario sets against it.

# Source: the method is docs/quality.md; every figure it reads is sourced in the catalog (`quality:` of models and
# api_models, `recovery:` of quants).
"""

from __future__ import annotations

import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import count_params
from tokenlane.catalog import Catalog, Model, Quant
from tokenlane.catalog.models import Rated, Recovery, Score, SizeClass
from tokenlane.scenario import MeasuredScore, Option, QualityBar, Scenario

DEFAULT_BENCHMARK = "gpqa-diamond"
"""The benchmark quality is reported on when a scenario sets no bar: the one with published scores for the most
catalog models, open and closed alike (graduate-level reasoning; docs/quality.md)."""
LOW_BITS = 3.0
"""Quants whose main weights (the experts' in an MoE) average fewer bits than this are the 2-bit class (Q2_K,
IQ2_*, IQ1_*): llama.cpp's own tables put Q2_K on Llama-3-8B at a KL divergence of ~0.45 against FP16, the top token
agreeing ~71% of the time (tools/perplexity/README.md)."""
SMALL_MAX_PARAMS = 10e9
LARGE_MIN_PARAMS = 70e9
"""Size-class limits, parameters: quantization loss is measured for <= 10B, 10-70B, and >= 70B or MoE models."""
_CLASSES: tuple[SizeClass, ...] = ("small", "medium", "large")


class QualityFigure(BaseModel):
    """One option's quality on one benchmark, and where each number comes from."""

    model_config = ConfigDict(frozen=True)

    benchmark: str
    benchmark_name: str
    subject: str
    """The model the score is of (catalog model id, or the API model's name)."""
    score: float | None
    """The published score of the model (bf16 weights for open models), percent; None: none published."""
    harness: Literal["independent", "self_reported"] | None
    setting: str = ""
    source: str | None
    as_of: str | None
    recovery: float | None = None
    """Share of the score the option's quant keeps (1.0 for bf16 and APIs)."""
    recovery_source: str | None = None
    effective: float | None
    """The score this option is judged on, percent: measured or fine-tune target where given, else score x recovery."""
    basis: Literal["catalog", "catalog x quant recovery", "measured", "fine-tune target", "none"]
    note: str = ""

    @property
    def short_source(self) -> str | None:
        """The source's first part (a URL or repository path), for a sentence; `source` keeps all of it."""
        return self.source.split("; ")[0] if self.source else None

    @property
    def is_own(self) -> bool:
        """The user's own figure (measured, or the fine-tune's target), not the catalog's."""
        return self.basis in ("measured", "fine-tune target")

    def words(self) -> str:
        """'gpt-oss-120b: SWE-bench Verified 26.0 (independent, 2025-08)' — with the quant's share where it applies."""
        if self.effective is None:
            return f"{self.subject}: no published {self.benchmark_name} score the catalog may ship"
        if self.is_own:
            return f"{self.subject}: {self.benchmark_name} {self.effective:.1f} ({self.basis}: {self.source})"
        when = (self.as_of or "")[:7]
        kept = f" x {self.recovery:.3f} kept by its quant = {self.effective:.1f}" if self.basis == "catalog x quant recovery" else ""
        return f"{self.subject}: {self.benchmark_name} {self.score:.1f} ({self.harness}, {when}){kept}"


def size_class(model: Model) -> SizeClass:
    """small (<= 10B parameters), medium (10-70B) or large (>= 70B, or any mixture-of-experts model)."""
    total = count_params(model).total
    if model.moe is not None or total >= LARGE_MIN_PARAMS:
        return "large"
    return "small" if total <= SMALL_MAX_PARAMS else "medium"


def recovery_for(quant: Quant, model: Model) -> tuple[Recovery | None, str]:
    """The quant's recovery figure for the model's size class, and a note when it is borrowed from the nearest smaller
    class (or, with none smaller, the nearest larger one, said so); (None, why) when the quant has no figure."""
    wanted = size_class(model)
    index = _CLASSES.index(wanted)
    if wanted in quant.recovery:
        return quant.recovery[wanted], ""
    for other in (*reversed(_CLASSES[:index]), *_CLASSES[index + 1 :]):
        if other in quant.recovery:
            return quant.recovery[other], f"{quant.id} has no figure for {wanted} models; the {other}-model figure is used"
    return None, f"{quant.id} has no measured quality recovery"


def is_low_bit(quant: Quant) -> bool:
    """A 2-bit-class quant (see `LOW_BITS`)."""
    return (quant.expert_bits_per_weight or quant.bits_per_weight) < LOW_BITS


def low_bit_gate(model: str, quant: Quant, measured: tuple[tuple[str, str], ...]) -> str | None:
    """Why search does not propose `quant` for `model`: a 2-bit quant nobody measured on it (None: it may)."""
    if is_low_bit(quant) and (model, quant.id) not in measured:
        return "2-bit quant without a measured score for the model (workload.quality.measured)"
    return None


def measured_pairs(scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """(model, quant) pairs the scenario gives measured scores for."""
    bar = scenario.workload.quality
    return tuple((m.model, m.quant) for m in bar.measured) if bar else ()


def report_benchmark(scenario: Scenario) -> str:
    """The benchmark quality is reported on: the workload's bar's, else the first task bar's, else the default."""
    if scenario.workload.quality is not None:
        return scenario.workload.quality.benchmark
    return next((t.quality.benchmark for t in scenario.workload.tasks if t.quality), DEFAULT_BENCHMARK)


def option_quality(option: Option, scenario: Scenario, catalog: Catalog, benchmark: str) -> QualityFigure:
    """The option's quality on `benchmark` (see the module docstring)."""
    name = catalog.benchmarks[benchmark].name
    if option.kind == "api":
        entry = catalog.api_model(option.provider, option.model)
        subject = option.model or option.name
        score = entry.score_on(benchmark) if entry else None
        weights = catalog.models.get(entry.open_weights) if entry and entry.open_weights else None
        if score is None and weights is not None:
            score = weights.score_on(benchmark)  # the API serves published weights: their scores
        return _figure(benchmark, name, subject, score, None, _missing_note(entry, benchmark), None)
    assert option.model is not None, "a self-hosted option names its model"
    model = catalog.model_by_id(option.model)
    quant = catalog.quant_by_id(option.quant)
    subject = f"{model.id} {quant.id}"
    if option.finetune is not None and option.finetune.target_score is not None:
        source = option.finetune.target_source or "the scenario's finetune.target_score"
        return QualityFigure(
            benchmark=benchmark,
            benchmark_name=name,
            subject=f"{subject} fine-tuned",
            score=None,
            harness=None,
            source=source,
            as_of=None,
            effective=option.finetune.target_score,
            basis="fine-tune target",
        )
    own = _measured(scenario, model.id, quant.id)
    if own is not None:
        return QualityFigure(
            benchmark=benchmark,
            benchmark_name=name,
            subject=subject,
            score=own.score,
            harness=None,
            source=own.source,
            as_of=None,
            effective=own.score,
            basis="measured",
        )
    missing = _missing_note(model, benchmark)
    if quant.format == "native" or quant.id in model.reference_quants:
        return _figure(benchmark, name, subject, model.score_on(benchmark), None, missing, None)
    recovery, note = recovery_for(quant, model)
    return _figure(benchmark, name, subject, model.score_on(benchmark), recovery, note or missing, quant)


def _measured(scenario: Scenario, model: str, quant: str) -> MeasuredScore | None:
    bar = scenario.workload.quality
    return next((m for m in bar.measured if m.model == model and m.quant == quant), None) if bar else None


def _missing_note(entry: Rated | None, benchmark: str) -> str:
    """Where the catalog records looking for a score on `benchmark` (its null entry's source), or ''."""
    found = [s for s in (entry.quality.get(benchmark, ()) if entry else ()) if s.score is None]
    return found[0].source if found else ""


def _figure(
    benchmark: str, name: str, subject: str, score: Score | None, recovery: Recovery | None, note: str, quant: Quant | None
) -> QualityFigure:
    """A figure from a published score and, for a quant other than the weights the score was measured on (`quant`
    None), that quant's recovery."""
    if score is None or score.score is None:
        return QualityFigure(
            benchmark=benchmark,
            benchmark_name=name,
            subject=subject,
            score=None,
            harness=None,
            source=None,
            as_of=None,
            effective=None,
            basis="none",
            note=note,
        )
    native = quant is None
    kept = 1.0 if native else (recovery.fraction if recovery else None)
    return QualityFigure(
        benchmark=benchmark,
        benchmark_name=name,
        subject=subject,
        score=score.score,
        harness=score.harness,
        setting=score.setting,
        source=score.source,
        as_of=score.as_of.isoformat(),
        recovery=kept,
        recovery_source=None if native or recovery is None else recovery.source,
        effective=score.score * kept if kept is not None else None,
        basis="catalog" if native else "catalog x quant recovery",
        note="" if native else note,
    )


def bar_issue(figure: QualityFigure, bar: QualityBar, *, scope: str = "") -> str | None:
    """Why the figure misses the bar, quoting both numbers and the figure's source (None when it meets it)."""
    where = f" ({scope})" if scope else ""
    if figure.effective is None:
        why = f" ({figure.note})" if figure.note else ""
        return (
            f"quality bar{where}: {figure.words()} to set against {bar.min_score:g}{why}; give pass rates from your own evals "
            "(workload.tasks) or a measured score (workload.quality.measured)"
        )
    if figure.effective >= bar.min_score:
        return None
    source = f"; source: {figure.short_source}" if figure.source and not figure.is_own else ""
    return f"quality bar{where}: {figure.words()} < {bar.min_score:g}{source}"


def harness_gap(catalog: Catalog, benchmark: str) -> tuple[float, int] | None:
    """(median points by which a maker's own figure exceeds an independent one on `benchmark`, number of models),
    over the catalog's models and API models that have both; None when none has."""
    gaps: list[float] = []
    for entry in (*catalog.models.values(), *catalog.api_models.values()):
        figures = [s for s in entry.quality.get(benchmark, ()) if s.score is not None]
        own = [s.score for s in figures if s.harness == "self_reported" and s.score is not None]
        independent = [s.score for s in figures if s.harness == "independent" and s.score is not None]
        if own and independent:
            gaps.append(max(own) - max(independent))
    return (float(statistics.median(gaps)), len(gaps)) if gaps else None


def mixed_harness_sentence(figures: dict[str, QualityFigure], catalog: Catalog) -> str | None:
    """A warning when the options' figures on one benchmark come from different harnesses (option name -> figure),
    with how far apart the two kinds run in the catalog; None when they share one."""
    by_harness: dict[str, list[str]] = {}
    for name, figure in figures.items():
        if figure.effective is not None and figure.harness is not None and not figure.is_own:
            by_harness.setdefault(figure.harness, []).append(name)
    if len(by_harness) < 2:
        return None
    benchmark = next(iter(figures.values()))
    gap = harness_gap(catalog, benchmark.benchmark)
    spread = (
        f"; where the catalog has both for a model, the maker's figure is {gap[0]:+.1f} points against the independent one "
        f"(median of {gap[1]})"
        if gap
        else ""
    )
    return (
        f"The {benchmark.benchmark_name} figures come from different harnesses (independent: {', '.join(by_harness['independent'])}; "
        f"the makers' own: {', '.join(by_harness['self_reported'])}){spread}: set the bar for the harness you trust, or measure "
        "your own (workload.quality.measured)."
    )
