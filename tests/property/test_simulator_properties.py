"""Properties of the simulator: conservation, monotonicity in users."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.scenario import Workload

DEP = build_deployment(builtin_catalog(), hardware="dgx-spark", model="qwen3-30b-a3b", quant="q8_0", engine="llama.cpp")


@settings(max_examples=12, deadline=None)
@given(users=st.integers(min_value=4, max_value=30), extra=st.integers(min_value=4, max_value=30), seed=st.integers(0, 10**6))
def test_adding_users_never_raises_median_speed(users: int, extra: int, seed: int) -> None:
    # 60 requests per user-hour: at least 4 x 15 = 60 requests a day, so both medians are over dozens of requests (the
    # 2% allows for the different mix of prompt lengths the added users bring).
    workload = Workload(users=users, active_hours=0.25, requests_per_user_hour=60)
    fewer = simulate_day(DEP, workload, seed=seed)
    more = simulate_day(DEP, workload, users=users + extra, seed=seed)
    assert fewer.completed >= 30 and more.completed >= 30
    assert more.per_user_tok_s.p50 is not None and fewer.per_user_tok_s.p50 is not None
    assert more.per_user_tok_s.p50 <= fewer.per_user_tok_s.p50 * 1.02


@settings(max_examples=20, deadline=None)
@given(users=st.integers(min_value=1, max_value=60), seed=st.integers(0, 10**6))
def test_every_request_is_accounted_for(users: int, seed: int) -> None:
    r = simulate_day(DEP, Workload(users=users, active_hours=0.5), seed=seed)
    assert r.completed + r.rejected + r.unfinished == r.requests
