"""The rule table, one situation per rule: the rule that decides, the recommendation, the option and the wording — so
a rule's condition inverted, or its candidates reordered, fails here rather than passing as 'one of four values'."""

from __future__ import annotations

from typing import Any

import pytest

from tokenlane.plan import RULES
from tokenlane.plan.facts import OptionAssessment
from tokenlane.plan.hybrid import HybridSplit
from tokenlane.plan.rules import Situation
from tokenlane.plan.verdict import decide
from tokenlane.scenario import Scenario


def opt(name: str, kind: str, monthly: float, **over: Any) -> OptionAssessment:
    """An eligible option costing `monthly`; `over` changes any field."""
    location = {"self_host": "on_prem", "cloud_gpu": "region", "api": "external"}[kind]
    fields: dict[str, Any] = dict(
        name=name,
        kind=kind,
        location=location,
        fits=True,
        meets_slo=True,
        meets_slo_as_configured=True if kind != "api" else None,
        units=1 if kind != "api" else 0,
        replicas=1 if kind != "api" else 0,
        monthly_usd=monthly,
        usd_per_mtok_input=1.0,
        usd_per_mtok_output=2.0,
        data_residency_ok=True,
        quality_risk=False,
        quality_tier="frontier" if kind == "api" else None,
        pass_rate=None,
        effective_monthly_usd=monthly,
        within_budget=True,
        budget_usd=None,
        people_fte=0.05,
        people_usd=1000.0,
        single_stream_tok_s=None,
        peak_concurrency=None,
        batch="",
        unfinished="",
        rejections="",
        peak_tok_s_p50=None,
        peak_tok_s_p95=None,
        ttft_p95_s=None,
        slo_attainment=None,
        eligible=True,
        issues=[],
    )
    fields.update(over)
    if fields["issues"]:
        fields["eligible"] = False
    return OptionAssessment(**fields)


def split(local: str, api: str, total: float) -> HybridSplit:
    return HybridSplit(
        local=local,
        api=api,
        local_part="the batch jobs",
        local_usd_per_month=total / 2,
        local_units=1,
        local_carries=True,
        api_usd_per_month=total / 2,
        total_usd_per_month=total,
        all_local_usd_per_month=None,
        all_api_usd_per_month=total * 2,
    )


BOX, RENTED = opt("box", "self_host", 5000), opt("rented", "cloud_gpu", 4000)
API = opt("api", "api", 3000)
CHEAP_BOX = opt("box", "self_host", 2000)
TUNED = opt("tuned", "self_host", 2500, finetune_usd=800.0, pass_rate=0.95, effective_monthly_usd=2500 / 0.95)
OFFSITE_API = opt("api", "api", 3000, data_residency_ok=False, issues=["data residency requires on_prem; api processes prompts external"])

CASES = [
    # id, situation fields, expected (recommendation, option), words the first reason must hold
    ("on-prem-residency", dict(data_residency="on_prem", options=[BOX, OFFSITE_API]), ("self_host", "box"), "must not leave the building"),
    ("region-residency", dict(data_residency="region", options=[RENTED, BOX, API]), ("private_cloud", "rented"), "stay in the region"),
    ("allowed-jurisdictions", dict(data_residency=("eu",), options=[BOX, API]), ("cloud_api", "api"), "processed only in eu"),
    ("fine-tuned", dict(options=[TUNED, API]), ("self_host", "tuned"), "fine-tuned for this task"),
    ("batch-workload", dict(batch_token_share=0.9, options=[CHEAP_BOX, API]), ("self_host", "box"), "Batch work dominates"),
    ("hybrid-split", dict(options=[BOX, API], splits=(split("box", "api", 2500),)), ("hybrid", "box"), "Split the work"),
    ("volume-or-fine-tune", dict(difficulty="narrow", options=[CHEAP_BOX, API]), ("self_host", "box"), "narrow task"),
    ("cheaper-self-host", dict(options=[CHEAP_BOX, API]), ("self_host", "box"), "for less than the cheapest eligible API"),
    ("cloud-api", dict(options=[BOX, API]), ("cloud_api", "api"), "API fleet does best"),
    ("nothing-eligible", dict(options=[opt("box", "self_host", 5000, issues=["it does not fit"])]), ("none", None), "No option meets"),
]


def _situation(**fields: Any) -> Situation:
    base: dict[str, Any] = dict(data_residency="none", difficulty="mixed", ml_team=False, batch_token_share=0.0, users=20)
    base.update(fields)
    return Situation(**base)


def test_every_rule_has_a_case() -> None:
    assert [c[0] for c in CASES] == [r.id for r in RULES]


@pytest.mark.parametrize(("rule_id", "fields", "expected", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_decides_its_own_situation(rule_id: str, fields: dict[str, Any], expected: tuple[str, str | None], words: str) -> None:
    situation = _situation(**fields)
    first = next(r for r in RULES if r.when(situation))
    assert first.id == rule_id
    candidates = first.candidates(situation)
    assert (candidates[0].name if candidates else None) == expected[1]
    assert words in first.why(situation)


@pytest.mark.parametrize(("rule_id", "fields", "expected", "words"), CASES, ids=[c[0] for c in CASES])
def test_decide_reports_the_rule_the_recommendation_and_its_reason(
    rule_id: str, fields: dict[str, Any], expected: tuple[str, str | None], words: str
) -> None:
    """The same situations through `decide` with a scenario that states them: the verdict's recommendation (a rented
    pick becomes private_cloud, an API pick cloud_api) and its first sentence."""
    residency = fields.get("data_residency", "none")
    constraints = {"data_residency": {"allowed": list(residency)} if isinstance(residency, tuple) else residency}
    scenario = Scenario.model_validate(
        {
            "name": "rules",
            "workload": {"users": 20, "difficulty": fields.get("difficulty", "mixed")},
            "options": [{"name": "x", "kind": "api", "provider": "openai", "model": "gpt-5-mini"}],
            "constraints": constraints,
        }
    )
    verdict = decide(
        scenario,
        fields["options"],
        batch_token_share=fields.get("batch_token_share", 0.0),
        extra_reasons=[],
        splits=list(fields.get("splits", ())),
    )
    assert (verdict.rule, verdict.recommendation, verdict.option) == (rule_id, *expected)
    assert words in verdict.reasons[0]


def test_a_rented_pick_under_a_self_host_rule_is_private_cloud() -> None:
    scenario = Scenario.model_validate(
        {"name": "r", "workload": {"users": 20}, "options": [{"name": "x", "kind": "api", "provider": "openai", "model": "gpt-5-mini"}]}
    )
    verdict = decide(scenario, [opt("rented", "cloud_gpu", 1000), API], batch_token_share=0.0, extra_reasons=[])
    assert (verdict.rule, verdict.recommendation, verdict.option) == ("cheaper-self-host", "private_cloud", "rented")


def test_on_hard_work_without_evals_or_a_bar_the_highest_tier_api_wins_over_a_cheaper_one() -> None:
    mid = opt("mini", "api", 1000, quality_tier="mid")
    top = opt("sonnet", "api", 3000, quality_tier="frontier")
    assert _situation(difficulty="hard", options=[mid, top]).api_choice()[0].name == "sonnet"
    assert _situation(difficulty="hard", options=[mid, top], has_bar=True).api_choice()[0].name == "mini"
    assert _situation(difficulty="mixed", options=[mid, top]).api_choice()[0].name == "mini"


def test_a_split_wins_only_below_both_alone() -> None:
    assert _situation(options=[BOX, API], splits=(split("box", "api", 2500),)).best_split() is not None
    assert _situation(options=[BOX, API], splits=(split("box", "api", 3500),)).best_split() is None  # the API alone is cheaper
    sensitive_api = opt("api", "api", 3000, sensitive_ok=False, eligible_for_rest=True, issues=["its sensitive work may not run there"])
    assert (
        _situation(options=[BOX, sensitive_api], splits=(split("box", "api", 4500),)).best_split() is not None
    )  # the API may not do it all
