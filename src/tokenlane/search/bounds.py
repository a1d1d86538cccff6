"""Search by bounds: simulate only what can still reach the Pareto front or the pick.

Every configuration is first judged on paper (`evaluate.judge_on_paper`): what rules it out, or the best its simulated
day could reach on each Pareto axis (`space.PaperCheck`: its monthly cost is at least its paper fleet's, its p95
stream speed at most one stream's alone at a long prompt of the day, its p95 TTFT at least that prompt prefilled
alone, its quality score exactly known). The survivors are simulated in waves, cheapest bound first. Before each
wave, a configuration is skipped when a configuration already simulated and meeting the SLO beats its bounds on every
axis (at least as good on all, better on one): its own day could only be worse, so it is not on the front; and it is
not the pick either, because that configuration is eligible too, or costs less than the cheapest eligible one found,
or the skipped one breaks a constraint whatever its day (residency, sensitive data, quality, or a budget its lowest cost
already breaks: `evaluate.eligible_on_paper`).

A skipped configuration is recorded as pruned, "dominated on paper by" the one that beats it. The front and the pick
are the same as an exhaustive search's (`--exhaustive`; a test checks it on every example): whatever a skipped
configuration would have beaten, the configuration that beats its bounds beats as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from tokenlane.search.backends import Judge
from tokenlane.search.evaluate import Bounded, ConfigResult, evaluate, judge_on_paper, result_fields
from tokenlane.search.space import Config

WAVE = 4
"""Configurations simulated between two looks at the front (more: less idle time for more workers, fewer skipped). A
constant, not a multiple of the workers: every backend and worker count then skips the same ones."""
DOMINATED = "dominated on paper by"
"""The start of a skipped configuration's reason (an exhaustive search judges these again)."""


def axes(result: ConfigResult) -> tuple[float, float, float, float]:
    """A result's Pareto axes, each smaller-is-better: cost, -p95 tok/s, p95 TTFT, -quality (no score: worst)."""
    quality = result.quality_score if result.quality_score is not None else -1.0
    return (result.monthly_usd or 0.0, -(result.tok_s_p95 or 0.0), result.ttft_p95_s or 0.0, -quality)


def bound_axes(bounded: Bounded) -> tuple[float, float, float, float]:
    """The best a configuration's day could reach on the same axes."""
    quality = bounded.quality_score if bounded.quality_score is not None else -1.0
    paper = bounded.paper
    return (paper.min_usd, -paper.max_tok_s, paper.min_ttft_s, -quality)


def dominator(bounded: Bounded, meeting: list[ConfigResult], cheapest_eligible_usd: float) -> ConfigResult | None:
    """A simulated configuration meeting the SLO that beats `bounded`'s bounds on every axis (and so its day, and
    its claim to be the cheapest meeting the SLO), where `bounded` cannot be the cheapest eligible pick either: the
    configuration is eligible itself, or the bound costs more than the cheapest eligible one, or `bounded` breaks a
    constraint whatever its day; else None."""
    best = bound_axes(bounded)
    out_of_the_pick = not bounded.can_be_eligible or best[0] > cheapest_eligible_usd
    for result in meeting:
        have = axes(result)
        beats = all(h <= b for h, b in zip(have, best, strict=True)) and have != best
        if beats and (out_of_the_pick or result.status == "eligible"):
            return result
    return None


def walk(judge: Judge, configs: list[Config], known: list[ConfigResult]) -> Iterator[ConfigResult]:
    """Judge `configs` by bounds (see the module docstring), yielding each result as it comes; `known`: results of
    the same search already at hand (a resumed search), which count as simulated."""
    bounded: list[Bounded] = []
    for outcome in judge(judge_on_paper, configs):
        if isinstance(outcome, ConfigResult):
            yield outcome
        else:
            bounded.append(outcome)
    bounded.sort(key=lambda b: (b.paper.min_usd, b.config.key))
    meeting = [r for r in known if r.status in ("eligible", "ineligible")]
    cheapest = min((r.monthly_usd or 0.0 for r in known if r.status == "eligible"), default=math.inf)
    size = WAVE
    while bounded:
        wave: list[Config] = []
        left: list[Bounded] = []
        for b in bounded:
            if len(wave) >= size:
                left.append(b)
            elif (by := dominator(b, meeting, cheapest)) is not None:
                yield _skipped(b, by)
            else:
                wave.append(b.config)
        bounded = left
        for result in judge(evaluate, wave):
            if result.status in ("eligible", "ineligible"):
                meeting.append(result)
            if result.status == "eligible":
                cheapest = min(cheapest, result.monthly_usd or 0.0)
            yield result


def _skipped(bounded: Bounded, by: ConfigResult) -> ConfigResult:
    paper = bounded.paper
    words = f"{DOMINATED} {by.key}: at least ${paper.min_usd:,.0f}/month"
    if math.isfinite(paper.max_tok_s) and paper.max_tok_s:
        words += f", at most {paper.max_tok_s:.1f} tok/s p95, TTFT p95 at least {paper.min_ttft_s:.2f} s"
    return ConfigResult(**result_fields(bounded.config, bounded.benchmark, bounded.quality_score), status="pruned", reason=words)
