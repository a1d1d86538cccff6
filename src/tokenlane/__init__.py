"""tokenlane: should you run your LLM yourself, on what, and what will each person get?

The public names below are imported on first use (PEP 562), so that `tokenlane --help` and the CLI's start-up do not
pay for the whole package (numpy, the catalog, the simulator) before a command needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenlane.capacity import (
        CapacityReport,
        CurvePoint,
        Deployment,
        StepLoad,
        StepTime,
        build_deployment,
        compute_step_time,
        concurrency_curve,
        count_params,
        decode_load,
        expected_distinct_experts,
        kv_bytes_per_token,
        max_concurrent_sequences,
        option_deployment,
        plan_memory,
        prefill_load,
        prefill_seconds,
        step_seconds,
        weight_bytes,
    )
    from tokenlane.catalog import Catalog, builtin_catalog, catalog_json_schema, load_catalog, model_from_hf_config
    from tokenlane.cost import CostReport, cost_scenario
    from tokenlane.errors import CatalogError, EndpointError, InputError, ScenarioError, TokenlaneError, UnknownIdError
    from tokenlane.plan import PlanReport, Verdict, check_scenario, plan_scenario, price_scenario, simulate_options
    from tokenlane.report import render_html, render_markdown, write_report
    from tokenlane.scenario import Option, Scenario, Workload, load_scenario, parse_scenario
    from tokenlane.simulate import ApiServing, RequestLog, ScenarioSimulation, SimulationResult, simulate_day, simulate_scenario

_HOME = {
    "ApiServing": "tokenlane.simulate",
    "CapacityReport": "tokenlane.capacity",
    "Catalog": "tokenlane.catalog",
    "CatalogError": "tokenlane.errors",
    "CostReport": "tokenlane.cost",
    "CurvePoint": "tokenlane.capacity",
    "Deployment": "tokenlane.capacity",
    "EndpointError": "tokenlane.errors",
    "InputError": "tokenlane.errors",
    "Option": "tokenlane.scenario",
    "PlanReport": "tokenlane.plan",
    "RequestLog": "tokenlane.simulate",
    "Scenario": "tokenlane.scenario",
    "ScenarioError": "tokenlane.errors",
    "ScenarioSimulation": "tokenlane.simulate",
    "SimulationResult": "tokenlane.simulate",
    "StepLoad": "tokenlane.capacity",
    "StepTime": "tokenlane.capacity",
    "TokenlaneError": "tokenlane.errors",
    "UnknownIdError": "tokenlane.errors",
    "Verdict": "tokenlane.plan",
    "Workload": "tokenlane.scenario",
    "build_deployment": "tokenlane.capacity",
    "builtin_catalog": "tokenlane.catalog",
    "catalog_json_schema": "tokenlane.catalog",
    "check_scenario": "tokenlane.plan",
    "compute_step_time": "tokenlane.capacity",
    "concurrency_curve": "tokenlane.capacity",
    "cost_scenario": "tokenlane.cost",
    "count_params": "tokenlane.capacity",
    "decode_load": "tokenlane.capacity",
    "expected_distinct_experts": "tokenlane.capacity",
    "kv_bytes_per_token": "tokenlane.capacity",
    "load_catalog": "tokenlane.catalog",
    "load_scenario": "tokenlane.scenario",
    "max_concurrent_sequences": "tokenlane.capacity",
    "model_from_hf_config": "tokenlane.catalog",
    "option_deployment": "tokenlane.capacity",
    "parse_scenario": "tokenlane.scenario",
    "plan_memory": "tokenlane.capacity",
    "plan_scenario": "tokenlane.plan",
    "prefill_load": "tokenlane.capacity",
    "prefill_seconds": "tokenlane.capacity",
    "price_scenario": "tokenlane.plan",
    "render_html": "tokenlane.report",
    "render_markdown": "tokenlane.report",
    "simulate_day": "tokenlane.simulate",
    "simulate_options": "tokenlane.plan",
    "simulate_scenario": "tokenlane.simulate",
    "step_seconds": "tokenlane.capacity",
    "weight_bytes": "tokenlane.capacity",
    "write_report": "tokenlane.report",
}
"""Public name -> the module it lives in (the names of `__all__`; a test checks both agree)."""

__all__ = [
    "ApiServing",
    "CapacityReport",
    "Catalog",
    "CatalogError",
    "CostReport",
    "CurvePoint",
    "Deployment",
    "EndpointError",
    "InputError",
    "Option",
    "PlanReport",
    "RequestLog",
    "Scenario",
    "ScenarioError",
    "ScenarioSimulation",
    "SimulationResult",
    "StepLoad",
    "StepTime",
    "TokenlaneError",
    "UnknownIdError",
    "Verdict",
    "Workload",
    "build_deployment",
    "builtin_catalog",
    "catalog_json_schema",
    "check_scenario",
    "compute_step_time",
    "concurrency_curve",
    "cost_scenario",
    "count_params",
    "decode_load",
    "expected_distinct_experts",
    "kv_bytes_per_token",
    "load_catalog",
    "load_scenario",
    "max_concurrent_sequences",
    "model_from_hf_config",
    "option_deployment",
    "parse_scenario",
    "plan_memory",
    "plan_scenario",
    "prefill_load",
    "prefill_seconds",
    "price_scenario",
    "render_html",
    "render_markdown",
    "simulate_day",
    "simulate_options",
    "simulate_scenario",
    "step_seconds",
    "weight_bytes",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, and keep it."""
    if name not in _HOME:
        raise AttributeError(f"module 'tokenlane' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (those not imported yet included)."""
    return sorted(__all__)
