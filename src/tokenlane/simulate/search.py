"""The one search over simulated days: doubling then bisection on an integer (replicas, users), memoised.

Fleet sizing asks for the smallest replica count whose day passes; `--find-max-users` for the largest user count
whose day passes. Both assume passing is monotone in the searched value (a property test checks it for users).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tokenlane.simulate.metrics import SimulationResult


@dataclass
class Boundary:
    """Where a search ended: `value` (None when no value passes), whether it passes, and every day it simulated."""

    value: int | None
    passes: bool
    runs: dict[int, SimulationResult] = field(default_factory=dict)
    gave_up: bool = False
    """The search stopped early because more of the searched quantity stopped helping."""


def smallest_passing(
    evaluate: Callable[[int], SimulationResult],
    passes: Callable[[SimulationResult], bool],
    *,
    start: int,
    limit: int,
    give_up: Callable[[SimulationResult, SimulationResult], bool] | None = None,
    guess: int | None = None,
) -> Boundary:
    """The smallest n in [start, limit] whose day passes, when passing grows with n (fleet sizing).

    Tries `start`, then `start + 1` (a `start` from a tight lower bound is often just short), then doubles; stops
    early when `give_up(smaller day, day with twice as many)` says more cannot help. When nothing
    passes, `value` is the largest n tried and `passes` False. A `guess` (a value likely to be the answer or next to
    it) is tried first with its neighbour: when it passes and the one below fails, or it fails and the one above
    passes, that settles it in two days; otherwise the search goes on from what they showed. A guess of `start` or
    `start + 1` is no better than starting at `start` (which settles it in one day when it passes) and is not tried.
    """
    runs: dict[int, SimulationResult] = {}

    def run(n: int) -> SimulationResult:
        if n not in runs:
            runs[n] = evaluate(n)
        return runs[n]

    if guess is not None and start + 1 < guess <= limit:
        if passes(run(guess)):
            if not passes(run(guess - 1)):
                return Boundary(guess, True, runs)
            limit = guess - 1  # passes there too: the answer lies at or below it
        elif guess < limit and passes(run(guess + 1)):
            return Boundary(guess + 1, True, runs)
        else:
            start = min(limit, guess + 1)  # fails up to guess + 1: double from there
    lo = start
    if passes(run(lo)):
        return Boundary(lo, True, runs)
    hi = lo
    while hi < limit:
        hi = min(limit, hi + 1 if hi == start else hi * 2)
        if passes(run(hi)):
            break
        if give_up is not None and hi >= 2 * lo and give_up(run(lo), run(hi)):
            return Boundary(hi, False, runs, gave_up=True)
        lo = hi
    else:
        return Boundary(limit, passes(run(limit)), runs)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if not passes(run(mid)) else (lo, mid)
    return Boundary(hi, True, runs)


def largest_passing(evaluate: Callable[[int], SimulationResult], passes: Callable[[SimulationResult], bool], *, limit: int) -> Boundary:
    """The largest n in [1, limit] whose day passes, when passing shrinks with n (most users meeting the SLO)."""
    runs: dict[int, SimulationResult] = {}

    def ok(n: int) -> bool:
        if n not in runs:
            runs[n] = evaluate(n)
        return passes(runs[n])

    if not ok(1):
        return Boundary(None, False, runs)
    lo, hi = 1, 2
    while hi <= limit and ok(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return Boundary(lo, True, runs)
