"""Properties of the simulator: conservation, monotonicity in users."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.scenario import Workload

DEP = build_deployment(builtin_catalog(), hardware="dgx-spark", model="qwen3-30b-a3b", quant="q8_0", engine="llama.cpp")


def _medians_of_users(result, users: int) -> tuple[float, float]:
    """(median TTFT, median arrival-to-last-token), s, of the served requests of users 0..users-1."""
    log = result.log
    mine = (log.user >= 0) & (log.user < users) & (log.finished_s >= 0)
    assert mine.sum() >= 30
    return float(np.median(log.first_token_s[mine] - log.arrival_s[mine])), float(np.median(log.finished_s[mine] - log.arrival_s[mine]))


@settings(max_examples=12, deadline=None)
@given(users=st.integers(min_value=4, max_value=30), extra=st.integers(min_value=4, max_value=30), seed=st.integers(0, 10**6))
def test_adding_users_never_makes_the_same_requests_quicker(users: int, extra: int, seed: int) -> None:
    # Each user draws from a random stream of its own, so the larger day holds the smaller day's requests exactly, plus
    # the added users' (common random numbers): those same requests wait no less and finish no sooner. (The day's median
    # decode speed is not compared: the added users bring another mix of lengths, and on a box whose slots are all
    # taken a stream's speed depends on which others it happens to share them with, either way by a few percent.)
    # 60 requests per user-hour: at least 4 x 15 = 60 requests, so the medians are over dozens.
    workload = Workload(users=users, active_hours=0.25, requests_per_user_hour=60)
    fewer = _medians_of_users(simulate_day(DEP, workload, seed=seed), users)
    more = _medians_of_users(simulate_day(DEP, workload, users=users + extra, seed=seed), users)
    assert more[0] >= fewer[0] * (1 - 1e-9)
    assert more[1] >= fewer[1] * (1 - 1e-9)


@settings(max_examples=20, deadline=None)
@given(users=st.integers(min_value=1, max_value=60), seed=st.integers(0, 10**6))
def test_every_request_is_accounted_for(users: int, seed: int) -> None:
    r = simulate_day(DEP, Workload(users=users, active_hours=0.5), seed=seed)
    assert r.completed + r.rejected + r.unfinished == r.requests
