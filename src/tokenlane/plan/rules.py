"""The verdict rules: an ordered table, first match wins. Documented in docs/plan.md.

Each rule names the situation it recognises (`when`, a predicate over the Situation), the recommendation it makes,
and how it picks the option among the candidates. The thresholds are module constants with their reasoning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tokenlane.plan.facts import OptionAssessment
from tokenlane.plan.hybrid import HybridSplit

Recommendation = Literal["cloud_api", "private_cloud", "self_host", "hybrid", "none"]

BATCH_SHARE_FOR_BATCH = 0.7
"""Above this share of tokens the workload is a batch workload: only cost per token matters."""
INTERACTIVE_SHARE_FOR_ASSISTANT = 0.5
"""At least this share of the day's tokens interactive: the workload is people using an assistant."""


def _why_api(s: Situation) -> str:
    """The cloud-api rule's reason, in the words of the case."""
    if s.batch_token_share >= BATCH_SHARE_FOR_BATCH:
        return "The batch work costs less through an API (its batch discount included) than on any eligible box at this volume"
    if 1.0 - s.batch_token_share < INTERACTIVE_SHARE_FOR_ASSISTANT:
        return "An API is the cheapest option that meets every requirement for this mix of batch and interactive work"
    if s.difficulty == "narrow":
        return "This narrow task costs less through an API than on any eligible box at this volume"
    if s.users == 1:
        return "For one person's use, an API costs less than an eligible box and answers at full speed"
    return "A shared assistant on varied work at full per-user speed is what an API fleet does best; route and cache first"


@dataclass(frozen=True)
class Situation:
    """What the rules read: the scenario's constraints and shape, and the assessed options."""

    data_residency: str | tuple[str, ...]
    """A three-word constraint, or the allowed places."""
    difficulty: str
    ml_team: bool
    batch_token_share: float
    options: list[OptionAssessment]
    users: int = 1

    def eligible(self, kinds: set[str], locations: set[str] | None = None) -> list[OptionAssessment]:
        """Eligible options of these kinds (and locations), cheapest per month of successful work first."""
        found = [o for o in self.options if o.eligible and o.kind in kinds and (locations is None or o.location in locations)]
        return sorted(found, key=_effective_cost)

    has_pass_rates: bool = False
    """The scenario gives pass rates from the user's own evals."""
    has_bar: bool = False
    """The scenario sets a quality bar (workload.quality or a task's): options below it are already ineligible, so the
    cheapest eligible API is chosen, not the highest tier."""
    splits: tuple[HybridSplit, ...] = ()
    """Priced hybrid splits (plan/hybrid.py), cheapest first."""

    def best_split(self) -> HybridSplit | None:
        """The cheapest split whose local option is eligible and carries its part, and whose API is eligible, when it
        costs less than both the cheapest eligible API and the cheapest eligible self-hosted option alone."""
        eligible = {o.name for o in self.options if o.eligible or o.eligible_for_rest}
        local_ok = {o.name for o in self.options if o.fits and o.data_residency_ok and o.sensitive_ok and o.quality_ok and o.within_budget}
        alone = [o.monthly_usd for o in self.options if o.eligible and o.monthly_usd is not None]
        for split in self.splits:
            if split.local in local_ok and split.local_carries and split.api in eligible:
                return split if not alone or split.total_usd_per_month < min(alone) else None
        return None

    def cheapest_api(self) -> OptionAssessment | None:
        """The eligible API with the lowest cost per month of successful work."""
        apis = self.eligible({"api"})
        return apis[0] if apis else None

    def api_choice(self) -> list[OptionAssessment]:
        """APIs in order of preference: on hard work without the user's own evals or a quality bar the highest quality
        tier in the catalog first (a cheaper model's quality on that work is unknown), the cheapest within a tier — so
        the same model through a pricier endpoint never wins; otherwise the cheapest per successful task first (a bar
        has already ruled out the models below it)."""
        apis = self.eligible({"api"})
        if self.difficulty == "hard" and not self.has_pass_rates and not self.has_bar:
            return sorted(apis, key=lambda o: (TIER_ORDER.get(o.quality_tier or "", len(TIER_ORDER)), _effective_cost(o)))
        return apis


@dataclass(frozen=True)
class Rule:
    """One row of the table."""

    id: str
    when: Callable[[Situation], bool]
    recommendation: Recommendation
    candidates: Callable[[Situation], list[OptionAssessment]]
    why: Callable[[Situation], str]


TIER_ORDER = {"frontier": 0, "mid": 1, "small": 2}
"""Catalog quality tiers, best first; a model the catalog does not know ranks after them."""


def _effective_cost(o: OptionAssessment) -> float:
    return o.effective_monthly_usd if o.effective_monthly_usd is not None else float("inf")


def _self_hosted(s: Situation) -> list[OptionAssessment]:
    return s.eligible({"self_host", "cloud_gpu"})


def fine_tuned_beats_api(s: Situation) -> list[OptionAssessment]:
    """Eligible fine-tuned options with pass rates from the user's evals that cost less per successful task than the
    cheapest eligible API (per successful task too)."""
    return [o for o in _beats_api(s) if o.finetune_usd > 0 and o.pass_rate is not None]


def _beats_api(s: Situation) -> list[OptionAssessment]:
    api = s.cheapest_api()
    return [o for o in _self_hosted(s) if api is None or _effective_cost(o) < _effective_cost(api)]


RULES: list[Rule] = [
    Rule(
        "on-prem-residency",
        lambda s: s.data_residency == "on_prem",
        "self_host",
        lambda s: s.eligible({"self_host", "cloud_gpu", "api"}, {"on_prem"}),
        lambda s: "Data must not leave the building, so only on-premises options count",
    ),
    Rule(
        "region-residency",
        lambda s: s.data_residency == "region",
        "private_cloud",
        lambda s: s.eligible({"self_host", "cloud_gpu", "api"}, {"on_prem", "region"}),
        lambda s: "Data must stay in the region, so only private-cloud and on-premises options count",
    ),
    Rule(
        "allowed-jurisdictions",
        lambda s: isinstance(s.data_residency, tuple),
        "self_host",
        lambda s: s.eligible({"self_host", "cloud_gpu", "api"}),
        lambda s: f"Prompts may be processed only in {', '.join(s.data_residency)}, so only options there count",
    ),
    Rule(
        "fine-tuned",
        lambda s: bool(fine_tuned_beats_api(s)),
        "self_host",
        fine_tuned_beats_api,
        lambda s: (
            "A model fine-tuned for this task, its whole program priced (training, labelling, evaluation, the ML team), "
            "costs less per successful task than the best API"
        ),
    ),
    Rule(
        "batch-workload",
        lambda s: s.batch_token_share >= BATCH_SHARE_FOR_BATCH and bool(_beats_api(s)),
        "self_host",
        _beats_api,
        lambda s: "Batch work dominates the day's tokens and only cost per token matters; a box that finishes in the window is cheaper",
    ),
    Rule(
        "hybrid-split",
        lambda s: s.best_split() is not None,
        "hybrid",
        lambda s: [o for o in s.options if (split := s.best_split()) is not None and o.name == split.local],
        lambda s: (
            "Split the work: the local part runs on your own hardware and the rest goes to an API at full per-user speed, "
            "for less than either alone"
        ),
    ),
    Rule(
        "volume-or-fine-tune",
        lambda s: (s.difficulty == "narrow" or s.ml_team) and bool(_beats_api(s)),
        "self_host",
        _beats_api,
        lambda s: "A narrow task (or one your ML team fine-tunes) at this volume costs less on your own hardware than on an API",
    ),
    Rule(
        "cheaper-self-host",
        lambda s: bool(_beats_api(s)),
        "self_host",
        _beats_api,
        lambda s: "An eligible self-hosted option meets the SLO for less than the cheapest eligible API",
    ),
    Rule(
        "cloud-api",
        lambda s: s.cheapest_api() is not None,
        "cloud_api",
        lambda s: s.api_choice(),
        _why_api,
    ),
    Rule("nothing-eligible", lambda s: True, "none", lambda s: [], lambda s: "No option meets every requirement"),
]
"""First match wins. A `self_host` pick that is a rented GPU becomes `private_cloud`, and a rule with no candidate
left becomes `none` (see verdict.decide)."""
