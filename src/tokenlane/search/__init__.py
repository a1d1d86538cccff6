"""`tokenlane search`: "on what?" — the cheapest deployment in the catalog that meets the SLO, and its recipe."""

from tokenlane.search.backends import BACKENDS
from tokenlane.search.evaluate import ConfigResult, evaluate
from tokenlane.search.progress import SearchProgress
from tokenlane.search.recipe import Recipe, recipe
from tokenlane.search.run import SearchReport, load_results, pareto_front, run_search
from tokenlane.search.space import KINDS, MODES, Bounds, Config, bounds_for, check_search, enumerate_configs, paper_check

__all__ = [
    "BACKENDS",
    "KINDS",
    "MODES",
    "Bounds",
    "Config",
    "ConfigResult",
    "Recipe",
    "SearchProgress",
    "SearchReport",
    "bounds_for",
    "check_search",
    "enumerate_configs",
    "evaluate",
    "load_results",
    "paper_check",
    "pareto_front",
    "recipe",
    "run_search",
]
