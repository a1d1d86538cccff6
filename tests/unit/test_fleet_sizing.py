"""Fleet sizing and the user-count search on made-up step functions: the value found passes and one less fails (or
one more, for users), every day is simulated at most once, and a search gives up only when more stopped helping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenlane.cost.fleet import carries, size_fleet
from tokenlane.simulate import BatchJobResult, Percentiles, SimulationResult, largest_passing, smallest_passing

NO_WAIT = Percentiles(p50=0.0, p90=0.0, p95=0.0, p99=0.0, mean=0.0)


def day_with_job(job: BatchJobResult | None = None, *, attainment: float = 1.0, wait_s: float = 0.0) -> SimulationResult:
    """A day that only the fields sizing reads are set on: SLO attainment, queue wait and the batch jobs."""
    waits = Percentiles(p50=wait_s, p90=wait_s, p95=wait_s, p99=wait_s, mean=wait_s)
    return SimulationResult.model_construct(
        meets_slo=attainment >= 0.95, slo_attainment=attainment, queue_wait_s=waits, batch_jobs=[job] if job else []
    )


def _interactive(threshold: int):
    """A day whose SLO attainment rises with replicas and passes from `threshold` on."""
    return lambda n: day_with_job(attainment=1.0 if n >= threshold else 0.9 * n / threshold, wait_s=10.0 / n)


@given(threshold=st.integers(1, 200), start=st.integers(1, 8))
def test_the_sized_fleet_passes_and_one_replica_fewer_fails(threshold: int, start: int) -> None:
    calls: list[int] = []

    def day(n: int) -> SimulationResult:
        calls.append(n)
        return _interactive(threshold)(n)

    found = size_fleet(day, min_replicas=start, max_replicas=256)
    assert found.passes and found.value == max(start, threshold)
    assert carries(day(found.value))
    if found.value > start:
        assert not carries(_interactive(threshold)(found.value - 1))
    assert len(set(calls)) == len(calls) - 1  # every size simulated once (the check above adds one call)


def test_sizing_stops_at_max_units_without_passing() -> None:
    found = size_fleet(_interactive(100), min_replicas=1, max_replicas=10)
    assert not found.passes and found.value == 10 and not found.gave_up


def test_sizing_gives_up_when_more_replicas_no_longer_help() -> None:
    flat = lambda n: day_with_job(attainment=0.5, wait_s=0.0)  # noqa: E731 - per-request SLO out of reach
    found = size_fleet(flat, min_replicas=1, max_replicas=64)
    assert not found.passes and found.gave_up and found.value == 2


def test_unfinished_batch_jobs_that_progress_keep_sizing_going() -> None:
    def day(n: int) -> SimulationResult:
        done = min(1000, 150 * n)
        hours = math.inf if done < 1000 else 8.0
        return day_with_job(
            BatchJobResult(name="j", requests=1000, completed=done, completion_hours=hours, window_hours=8.0, met_window=done >= 1000)
        )

    found = size_fleet(day, min_replicas=1, max_replicas=64)
    assert found.passes and found.value == 7  # 7 x 150 >= 1000 > 6 x 150


@pytest.mark.parametrize(("threshold", "start", "limit"), [(1, 1, 10), (5, 1, 10), (7, 3, 100), (64, 1, 64), (65, 1, 64)])
def test_smallest_passing_on_a_step(threshold: int, start: int, limit: int) -> None:
    found = smallest_passing(lambda n: n, lambda n: n >= threshold, start=start, limit=limit)  # type: ignore[arg-type,return-value]
    if threshold <= limit:
        assert found.passes and found.value == max(threshold, start)
    else:
        assert not found.passes and found.value == limit


@given(threshold=st.integers(1, 130), start=st.integers(1, 40), extra=st.integers(0, 90), guess=st.integers(1, 140))
def test_a_guess_never_changes_the_answer(threshold: int, start: int, extra: int, guess: int) -> None:
    """Whatever the guess, the search finds what it finds without one; a guess at the answer or just below it costs
    two days; a guess at `start` or the one above it is not tried (starting at `start` does as well)."""
    limit = start + extra
    plain = smallest_passing(lambda n: n, lambda n: n >= threshold, start=start, limit=limit)  # type: ignore[arg-type,return-value]
    guessed = smallest_passing(lambda n: n, lambda n: n >= threshold, start=start, limit=limit, guess=guess)  # type: ignore[arg-type,return-value]
    assert (guessed.value, guessed.passes) == (plain.value, plain.passes)
    if start < threshold <= limit and guess in (threshold, threshold - 1) and guess > start + 1:
        assert len(guessed.runs) == 2
    if guess <= start + 1:
        assert guessed.runs.keys() == plain.runs.keys()


@given(threshold=st.integers(0, 300), limit=st.integers(1, 300))
def test_largest_passing_on_a_step(threshold: int, limit: int) -> None:
    found = largest_passing(lambda n: n, lambda n: n <= threshold, limit=limit)  # type: ignore[arg-type,return-value]
    if threshold < 1:
        assert found.value is None and not found.passes
    else:
        assert found.passes and found.value == min(threshold, limit)
