"""The verdict: assess options, apply the rule table, check the scenario's claims. Pure."""

from tokenlane.plan.checks import check_scenario
from tokenlane.plan.claims import Claim
from tokenlane.plan.days import ScenarioDays, price_scenario, simulate_options
from tokenlane.plan.facts import OptionAssessment
from tokenlane.plan.planner import Assumption, PlanReport, option_curve, plan_scenario
from tokenlane.plan.quality import QualityFigure, measured_pairs, option_quality
from tokenlane.plan.rules import RULES, Rule
from tokenlane.plan.verdict import Verdict

__all__ = [
    "RULES",
    "Assumption",
    "Claim",
    "OptionAssessment",
    "PlanReport",
    "QualityFigure",
    "Rule",
    "ScenarioDays",
    "Verdict",
    "check_scenario",
    "measured_pairs",
    "option_curve",
    "option_quality",
    "plan_scenario",
    "price_scenario",
    "simulate_options",
]
