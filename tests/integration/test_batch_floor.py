"""Fleet sizing's batch floor (`simulate.batch_replicas_floor`) is a lower bound: sizing from it finds the fleet
that sizing from one replica finds, and no smaller fleet finishes the job in its window."""

from __future__ import annotations

import pytest

from tokenlane import build_deployment, builtin_catalog, parse_scenario, plan_scenario, simulate_day
from tokenlane.cost import carries, size_fleet
from tokenlane.scenario import Workload
from tokenlane.simulate import batch_replicas_floor, saturated_rate_rps

DEP = build_deployment(builtin_catalog(), hardware="h100-sxm", model="qwen3-30b-a3b", quant="fp8", engine="vllm")
JOB = {"name": "job", "prompt_tokens": 1200, "output_tokens": 80}


def _workload(requests: int, window_hours: float) -> Workload:
    job = JOB | {"requests": requests, "window_hours": window_hours}
    return Workload(users=2, active_hours=1, requests_per_user_hour=6, batch_jobs=[job])


@pytest.mark.parametrize(("requests", "window_hours"), [(30_000, 0.05), (30_000, 0.09), (60_000, 0.12)])
def test_sizing_from_the_floor_finds_what_sizing_from_one_finds(requests: int, window_hours: float) -> None:
    workload = _workload(requests, window_hours)
    floor = batch_replicas_floor(DEP, workload)
    assert floor >= 2  # the cases are chosen so that the floor prunes something

    def day(n: int):
        return simulate_day(DEP, workload, replicas=n)

    plain = size_fleet(day, min_replicas=1, max_replicas=32)
    from_floor = size_fleet(day, min_replicas=floor, max_replicas=32)
    assert plain.passes and (from_floor.value, from_floor.passes) == (plain.value, plain.passes)
    assert not carries(day(floor - 1))


def test_the_saturated_rate_is_the_jobs_throughput_on_one_replica() -> None:
    # hand check: a probe's rate times the seconds one replica took for a long job is about the job (within 3%)
    workload = _workload(40_000, 24)
    rate = saturated_rate_rps(DEP, workload.batch_jobs[0])
    day = simulate_day(DEP, workload.model_copy(update={"requests_per_user_hour": 0}))
    took_s = day.batch_jobs[0].completion_hours * 3600
    assert rate * took_s == pytest.approx(40_000, rel=0.03)
    assert rate * took_s <= 40_000 * 1.03


def test_a_job_the_engine_rejects_bounds_nothing() -> None:
    job = JOB | {"requests": 50_000, "prompt_tokens": 10**7, "window_hours": 1}
    huge = Workload(users=1, active_hours=1, requests_per_user_hour=0, batch_jobs=[job])
    assert saturated_rate_rps(DEP, huge.batch_jobs[0]) == 0.0
    assert batch_replicas_floor(DEP, huge) == 1


def test_a_plan_still_says_what_the_box_as_configured_gets() -> None:
    # the batch floor starts sizing above the option's count of 1: the day of one box is simulated all the same
    scenario = parse_scenario(
        """
name: floor above the count
workload:
  users: 2
  active_hours: 1
  requests_per_user_hour: 6
  batch_jobs: [{name: job, requests: 60000, prompt_tokens: 1200, output_tokens: 80, window_hours: 0.12}]
options:
  - {name: box, kind: cloud_gpu, hardware: h100-sxm, model: qwen3-30b-a3b, quant: fp8, engine: vllm}
"""
    )
    plan = plan_scenario(scenario, builtin_catalog(), workers=1)
    box = plan.options[0]
    assert box.replicas is not None and box.replicas >= batch_replicas_floor(DEP, scenario.workload) >= 2
    assert box.meets_slo and box.meets_slo_as_configured is not None
    assert box.peak_tok_s_p50 is not None and box.slo_attainment is not None
    assert "past its 0.12 h window" in box.batch  # as configured, one box finishes the job too late
