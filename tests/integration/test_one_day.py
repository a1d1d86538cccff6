"""The day on every example: replayed batch windows agree with exact steps, and a parallel plan equals a serial one."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

import pytest

from tokenlane import build_deployment, builtin_catalog, load_scenario, option_deployment, plan_memory, plan_scenario, simulate_day
from tokenlane.scenario import Scenario, Workload

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
CATALOG = builtin_catalog()


def _builtin() -> Scenario:
    with as_file(files("tokenlane.scenarios") / "team-assistant.yaml") as path:
        return load_scenario(path)


def _close(a: float | None, b: float | None, rel: float = 0.01) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == pytest.approx(b, rel=rel))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_bulk_and_exact_agree_within_one_percent(path: Path) -> None:
    scenario = load_scenario(path)
    for option in scenario.options:
        if option.kind == "api" or not plan_memory(dep := option_deployment(CATALOG, option)).fits:
            continue
        for replicas in sorted({option.count, 2 * option.count}):
            bulk = simulate_day(dep, scenario.workload, replicas=replicas, seed=0)
            exact = simulate_day(dep, scenario.workload, replicas=replicas, seed=0, exact=True)
            where = f"{path.stem}/{option.name} x{replicas}"
            assert bulk.output_tokens == exact.output_tokens and bulk.prompt_tokens == exact.prompt_tokens, where
            for b, e in zip(bulk.batch_jobs, exact.batch_jobs, strict=True):
                assert b.completed == e.completed and _close(b.completion_hours, e.completion_hours), where
            for metric in ("ttft_s", "per_user_tok_s", "batch_ttft_s", "batch_tok_s"):
                for q in ("p50", "p95"):
                    got, want = getattr(getattr(bulk, metric), q), getattr(getattr(exact, metric), q)
                    assert _close(got, want), f"{where} {metric}.{q}: {got} vs {want}"


@pytest.mark.parametrize("path", [EXAMPLES[0], EXAMPLES[2]], ids=lambda p: p.stem)
def test_parallel_plan_equals_serial(path: Path) -> None:
    scenario = load_scenario(path)
    serial = plan_scenario(scenario, CATALOG, workers=1)
    pooled = plan_scenario(scenario, CATALOG, workers=2)
    assert pooled.model_dump_json() == serial.model_dump_json()


def test_builtin_scenario_plans_with_days_simulated_once() -> None:
    scenario = _builtin()
    plan = plan_scenario(scenario, CATALOG, workers=1)
    api = next(o for o in plan.cost.options if o.kind == "api")
    assert api.simulation is not None and api.simulation.log is not None
    assert api.monthly_usd is not None and api.breakdown is not None and api.breakdown.api_usd > 0
    assert len(api.simulation.log) == plan.cost.requests_per_day


@pytest.mark.parametrize("requests", [20_000, 40_000, 70_000])
def test_a_batch_job_replayed_agrees_with_exact_steps(requests: int) -> None:
    # sizes whose replay windows would otherwise span one or two generations of the batch (MIN_WINDOW_GENERATIONS)
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="qwen3-30b-a3b", quant="fp8", engine="vllm")
    job = {"name": "job", "requests": requests, "prompt_tokens": 1200, "output_tokens": 80, "window_hours": 24, "start_hour": 0}
    workload = Workload(users=1, requests_per_user_hour=0, active_hours=1, batch_jobs=[job])
    bulk = simulate_day(dep, workload).batch_jobs[0]
    exact = simulate_day(dep, workload, exact=True).batch_jobs[0]
    assert bulk.completed == exact.completed == requests
    assert _close(bulk.completion_hours, exact.completion_hours)


def test_twin_replicas_give_the_day_each_replica_stepping_alone_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    # the batch job arrives after the interactive day, last: idle replicas with equal shares are twins
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="qwen3-30b-a3b", quant="fp8", engine="vllm")
    job = {"name": "job", "requests": 30_001, "prompt_tokens": 1200, "output_tokens": 80, "window_hours": 8}
    workload = Workload(users=6, active_hours=1, requests_per_user_hour=20, batch_jobs=[job])
    from tokenlane.simulate import run

    copied: list[int] = []
    copy = run._Day.copy_twins
    monkeypatch.setattr(run._Day, "copy_twins", lambda day: (copied.append(len(day.twins)), copy(day)))
    twins = simulate_day(dep, workload, replicas=4)
    assert copied == [2]  # shares 7,501 / 7,500 / 7,500 / 7,500: two replicas take the second one's times
    monkeypatch.setattr(run, "TWINS", False)
    alone = simulate_day(dep, workload, replicas=4)
    assert twins.log == alone.log
    assert twins.decode_steps == alone.decode_steps and twins.peak_concurrency == alone.peak_concurrency
    assert twins.busy_fraction == pytest.approx(alone.busy_fraction, rel=1e-9)
    assert twins.mean_concurrency == pytest.approx(alone.mean_concurrency, rel=1e-9)


def test_a_day_stopped_while_replaying_keeps_what_was_served(monkeypatch: pytest.MonkeyPatch) -> None:
    # the run stops DRAIN_LIMIT_HOURS after the last submission; a replayed stretch must end by then, not be dropped
    monkeypatch.setattr("tokenlane.simulate.run.DRAIN_LIMIT_HOURS", 0.5)
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="qwen3-30b-a3b", quant="fp8", engine="vllm")
    job = {"name": "job", "requests": 300_000, "prompt_tokens": 1200, "output_tokens": 80, "window_hours": 24, "start_hour": 0}
    workload = Workload(users=1, requests_per_user_hour=0, active_hours=0.01, batch_jobs=[job])
    bulk = simulate_day(dep, workload)
    exact = simulate_day(dep, workload, exact=True)
    assert bulk.stopped_early and exact.stopped_early
    assert 100_000 < exact.batch_jobs[0].completed < 300_000  # about 140k in the half hour; a dropped jump served 42k
    assert bulk.batch_jobs[0].completed == pytest.approx(exact.batch_jobs[0].completed, rel=0.01)
