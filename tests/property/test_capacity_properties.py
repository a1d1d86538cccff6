"""Physical properties of the capacity model that must hold for any deployment."""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import batch_sizes, contexts, deployments, fitting_deployments
from tokenlane import Deployment, concurrency_curve, decode_load, step_seconds


@given(dep=deployments, batch=batch_sizes, context=contexts)
def test_step_time_never_falls_as_batch_grows(dep: Deployment, batch: int, context: int) -> None:
    assert step_seconds(dep, decode_load(dep, batch + 1, context)) >= step_seconds(dep, decode_load(dep, batch, context))


@given(dep=deployments, batch=batch_sizes, context=contexts)
def test_step_time_never_falls_as_context_grows(dep: Deployment, batch: int, context: int) -> None:
    assert step_seconds(dep, decode_load(dep, batch, context + 256)) >= step_seconds(dep, decode_load(dep, batch, context))


@settings(max_examples=40, deadline=None)
@given(dep=fitting_deployments, users=st.lists(batch_sizes, min_size=2, max_size=6, unique=True))
def test_more_users_never_raise_per_user_speed(dep: Deployment, users: list[int]) -> None:
    points = concurrency_curve(dep, sorted(users), context_tokens=2048, prompt_tokens=512).points
    speeds = [p.per_user_tok_s for p in points]
    assert all(a >= b for a, b in itertools.pairwise(speeds))
    aggregates = [p.aggregate_tok_s for p in points]
    assert all(b >= a * (1 - 1e-9) for a, b in itertools.pairwise(aggregates))


@given(dep=deployments, batch=batch_sizes, factor=st.floats(min_value=1.0, max_value=8.0))
def test_more_bandwidth_never_slows_decode(dep: Deployment, batch: int, factor: float) -> None:
    faster_hw = dep.hardware.model_copy(update={"memory_bandwidth_gbps": dep.hardware.memory_bandwidth_gbps * factor})
    faster = dataclasses.replace(dep, hardware=faster_hw)
    assert step_seconds(faster, decode_load(faster, batch, 4096)) <= step_seconds(dep, decode_load(dep, batch, 4096))
