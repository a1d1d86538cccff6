"""Autoscaled fleets: the day follows the policy (a flat load holds, a step scales after exactly the cold start, no
traffic holds nothing), billing is for what was held, and spillover is billed for exactly the requests it took."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokenlane import ApiServing, build_deployment, builtin_catalog
from tokenlane.cost.tco import DAYS_PER_MONTH, hardware_cost
from tokenlane.scenario import Autoscale, Finance, Option, TokenDistribution, Workload
from tokenlane.simulate import simulate_day
from tokenlane.simulate.scaling import Fleet, ScalingPlan

CATALOG = builtin_catalog()
DEP = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.3-70b", quant="fp8", engine="vllm", gpus=2)
COLD_S = 90.0


def _plan(**changes: object) -> ScalingPlan:
    base: dict[str, object] = {
        "policy": "reactive",
        "min_replicas": 0,
        "max_replicas": 4,
        "cold_start_s": COLD_S,
        "interval_s": 30.0,
        "scale_down_idle_s": 300.0,
        "signal": "requests",
        "target": 8.0,
        "schedule": (),
        "billing_increment_s": 1.0,
        "billing_minimum_s": 60.0,
    }
    base.update(changes)
    return ScalingPlan(**base)  # type: ignore[arg-type]


def _workload(**changes: object) -> Workload:
    base: dict[str, object] = {
        "users": 20,
        "active_hours": 2,
        "requests_per_user_hour": 6,
        "arrival": "poisson",
        "prompt_tokens": TokenDistribution(mean=1000, p90=2000),
        "output_tokens": TokenDistribution(mean=200, p90=400),
    }
    base.update(changes)
    return Workload(**base)  # type: ignore[arg-type]


def test_a_flat_load_never_scales() -> None:
    """A steady load well under one replica's target: the replica held from the start is all the day holds."""
    day = simulate_day(DEP, _workload(), seed=3, scaling=_plan(min_replicas=1))
    held = day.scaling
    assert held is not None
    assert held.cold_starts == 0
    assert held.held == [1] and held.warm == [1]
    assert held.replica_hours == pytest.approx(24.0)


def test_a_step_in_the_load_scales_up_after_exactly_the_cold_start() -> None:
    """The load steps up 40x at the second hour (from ~0.02 to ~5 requests in flight against a target of 1 per
    replica): the autoscaler asks for replicas at its first reading whose window lies after the step (3,630 s), and
    they serve exactly a cold start later."""
    workload = _workload(arrival="diurnal", hourly_weights=[0.05, 2.0], users=400)
    day = simulate_day(DEP, workload, seed=1, scaling=_plan(min_replicas=1, target=1.0))
    held = day.scaling
    assert held is not None
    changes = list(zip(held.times_s, held.held, held.warm, strict=True))
    ask_s, asked, warm_then = next((t, h, w) for t, h, w in changes if h > 1)
    assert ask_s == 3630.0
    assert asked > 2 and warm_then == 1
    serving_s, serving = next((t, w) for t, _, w in changes if w > 1)
    assert serving_s == pytest.approx(ask_s + COLD_S)
    assert serving == asked


def test_requests_that_arrive_before_the_first_replica_serves_wait_for_it() -> None:
    """Scale from zero: the first request asks for a replica and is admitted exactly when it has warmed up."""
    day = simulate_day(DEP, _workload(users=1, requests_per_user_hour=2), seed=2, scaling=_plan())
    log, held = day.log, day.scaling
    assert log is not None and held is not None
    first = int(np.argmin(log.arrival_s))
    assert log.admitted_s[first] == pytest.approx(log.arrival_s[first] + COLD_S)
    assert held.waited_requests >= 1
    assert day.ttft_s.p99 is not None and day.ttft_s.p99 >= COLD_S


def test_scale_to_zero_with_no_traffic_holds_and_bills_nothing() -> None:
    day = simulate_day(DEP, _workload(requests_per_user_hour=0), seed=0, scaling=_plan())
    held = day.scaling
    assert held is not None
    assert (held.replica_hours, held.billed_replica_hours, held.cold_starts) == (0.0, 0.0, 0)
    option = Option(name="gpus", kind="cloud_gpu", hardware="h100-sxm", model="llama-3.3-70b", quant="fp8", gpus=2, autoscale=Autoscale())
    cost = hardware_cost(DEP, option, Finance(), replicas=4, scaling=held)
    assert cost.rental_usd == 0.0


def test_a_short_day_is_held_from_the_first_request_to_a_scale_down_window_after_the_last() -> None:
    """Half an hour of traffic on a fleet that scales to zero: the replica is held from the first arrival until the
    load has wanted none for the whole scale-down window (read at the next interval), and nothing after."""
    plan = _plan()
    day = simulate_day(DEP, _workload(active_hours=0.5), seed=5, scaling=plan)
    log, held = day.log, day.scaling
    assert log is not None and held is not None
    start_s, end_s = float(log.arrival_s.min()), float(log.finished_s.max())
    held_s = held.replica_hours * 3600.0
    assert held.held[-1] == 0
    released_s = held.times_s[-1]
    assert end_s + plan.scale_down_idle_s <= released_s <= end_s + plan.scale_down_idle_s + 2 * plan.interval_s
    assert held_s >= released_s - start_s - 1e-6
    assert held_s < 24 * 3600 * 0.1


def test_replica_hours_are_the_area_under_the_held_replicas() -> None:
    """The billed day is the timeline integrated: each change holds until the next, the last until the day ends."""
    workload = _workload(arrival="diurnal", hourly_weights=[0.2, 1.5, 0.3], active_hours=3, users=150)
    day = simulate_day(DEP, workload, seed=4, scaling=_plan(target=3.0))
    held = day.scaling
    assert held is not None
    ends = [*held.times_s[1:], max(held.times_s[-1], 24 * 3600.0)]
    area_s = sum(h * (b - a) for a, b, h in zip(held.times_s, ends, held.held, strict=True))
    assert held.replica_hours * 3600.0 == pytest.approx(area_s, rel=1e-9)
    assert held.billed_replica_hours >= held.replica_hours


@pytest.mark.parametrize(
    ("seconds", "increment", "minimum", "billed"), [(61, 60, 60, 120), (10, 1, 60, 60), (3601, 3600, 0, 7200), (59.5, 1, 0, 60)]
)
def test_a_held_stretch_is_billed_in_whole_increments_with_a_minimum(
    seconds: float, increment: float, minimum: float, billed: float
) -> None:
    fleet = Fleet(_plan(billing_increment_s=increment, billing_minimum_s=minimum), 1)
    assert fleet.billed_s(seconds) == billed


def test_the_rental_is_the_held_hours_at_the_rate() -> None:
    """Hand-checked: 2 GPUs x $2/GPU-h x (21 workdays x 10 billed replica-hours + the other days at the minimum of 1
    replica all day)."""
    plan = _plan(min_replicas=1)
    day = simulate_day(DEP, _workload(), seed=3, scaling=plan)
    held = day.scaling
    assert held is not None
    held = held.model_copy(update={"billed_replica_hours": 10.0, "replica_hours": 9.5})
    option = Option(
        name="gpus",
        kind="cloud_gpu",
        hardware="h100-sxm",
        model="llama-3.3-70b",
        quant="fp8",
        gpus=2,
        usd_per_gpu_hour=2.0,
        autoscale=Autoscale(min_replicas=1),
    )
    finance = Finance(workdays_per_month=21)
    cost = hardware_cost(DEP, option, finance, replicas=plan.max_replicas, scaling=held)
    month_hours = 21 * 10.0 + (DAYS_PER_MONTH - 21) * 24 * 1
    assert cost.rental_usd == pytest.approx(2 * 2.0 * month_hours)


def test_spilled_requests_are_served_at_api_speed_and_marked() -> None:
    """With a spillover API the requests that arrive before any replica serves go there at once."""
    api = ApiServing(ttft_s=1.0, tok_s=50.0, label="api")
    day = simulate_day(DEP, _workload(), seed=6, scaling=_plan(spill=api, spillover="api"))
    log, held = day.log, day.scaling
    assert log is not None and held is not None
    spilled = log.spilled == 1
    assert 0 < held.spilled_requests == int(spilled.sum()) < len(log)
    assert held.spilled_log is not None and len(held.spilled_log) == held.spilled_requests
    assert np.allclose(log.first_token_s[spilled] - log.arrival_s[spilled], api.ttft_s)
    assert np.allclose(log.finished_s[spilled] - log.first_token_s[spilled], (log.output_tokens[spilled] - 1) / api.tok_s)
    assert math.isclose(float(log.arrival_s[spilled].min()), float(log.arrival_s.min()))
