"""The peak of requests running at once, counted from sorted starts and finishes, equals a count at every instant."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tokenlane.simulate.metrics import _peak_overlap

_SPANS = st.lists(st.tuples(st.integers(-1, 20), st.integers(-1, 8), st.booleans()), min_size=1, max_size=40)


@given(spans=_SPANS)
def test_peak_overlap_counts_what_runs_at_each_instant(spans: list[tuple[int, int, bool]]) -> None:
    # a request (admitted a, for d seconds, in the mask or not) runs over [a, a + d); -1: never admitted / unfinished
    admitted = np.array([a for a, _, _ in spans], dtype=float)
    finished = np.array([-1.0 if a < 0 or d < 0 else a + d for a, d, _ in spans])
    mask = np.array([m for _, _, m in spans])
    end_s = 30.0
    log = SimpleNamespace(admitted_s=admitted, finished_s=finished)
    ends = np.where(finished >= 0, finished, end_s)
    running = [int(np.sum(mask & (admitted >= 0) & (admitted <= t) & (ends > t))) for t in admitted[admitted >= 0]]
    assert _peak_overlap(log, mask, end_s) == max([0, *running])  # type: ignore[arg-type]
