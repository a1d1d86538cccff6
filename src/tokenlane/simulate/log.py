"""The day as it was served: one row per request the simulator made, with its tokens, times and outcome.

This is what `cost` prices and what `--per-request` writes: every request appears exactly once, whatever
happened to it. Times are seconds from the start of the day; -1 where the event never happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTCOMES = ("served", "truncated", "rejected_context", "rejected_kv_cache", "rejected_queue_full", "unfinished")
"""What became of a request: served in full; served with its output cut to fit a slot's context; rejected because
its prompt exceeds the context one sequence may have, exceeds the whole KV cache, or met a full queue; or still
queued or running when the simulation stopped."""
SERVED, TRUNCATED, REJECTED_CONTEXT, REJECTED_KV, REJECTED_QUEUE, UNFINISHED = range(len(OUTCOMES))
REJECTION_WORDS = {
    "rejected_context": "prompt longer than one sequence's context",
    "rejected_kv_cache": "prompt larger than the whole KV cache",
    "rejected_queue_full": "the engine's queue was full",
}
"""Each rejection cause in words, for summaries and reasons."""
REJECTED = (REJECTED_CONTEXT, REJECTED_KV, REJECTED_QUEUE)

_COLUMNS = {
    "arrival_s": np.float64,
    "prompt_tokens": np.int32,
    "cached_tokens": np.int32,
    "cache_write_tokens": np.int32,
    "output_tokens": np.int32,
    "generated_tokens": np.int32,
    "job": np.int32,
    "user": np.int32,
    "outcome": np.int8,
    "admitted_s": np.float64,
    "first_token_s": np.float64,
    "finished_s": np.float64,
    "spilled": np.int8,
}
_FILL = {"generated_tokens": 0, "cache_write_tokens": 0, "outcome": UNFINISHED, "spilled": 0}
"""Each column's value before the event loop writes it (-1 where not listed)."""


@dataclass(frozen=True, eq=False)
class RequestLog:
    """Parallel arrays, one entry per request, indexed by request id (the order requests were made).

    `prompt_tokens` is the whole prompt sent (cached part included); `cached_tokens` of it were prefix-cache hits;
    `cache_write_tokens` of it are written to a provider's prompt cache for later requests to read (APIs bill them);
    `output_tokens` the tokens asked for; `generated_tokens` those produced (less when truncated, 0 when rejected,
    partial when unfinished). `job` is the batch job's index (-1 interactive); `user` the user (-1 batch); `spilled` is 1
    where an autoscaled fleet sent the request to its spillover API (simulate/scaling).
    """

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    cached_tokens: np.ndarray
    cache_write_tokens: np.ndarray
    output_tokens: np.ndarray
    generated_tokens: np.ndarray
    job: np.ndarray
    user: np.ndarray
    outcome: np.ndarray
    admitted_s: np.ndarray
    first_token_s: np.ndarray
    finished_s: np.ndarray
    spilled: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RequestLog) and all(np.array_equal(getattr(self, k), getattr(other, k)) for k in _COLUMNS)

    __hash__ = None  # type: ignore[assignment]

    @property
    def interactive(self) -> np.ndarray:
        """Mask of interactive requests."""
        return self.job < 0

    @property
    def served(self) -> np.ndarray:
        """Mask of requests that finished (in full or truncated)."""
        return (self.outcome == SERVED) | (self.outcome == TRUNCATED)

    def where(self, mask: np.ndarray) -> RequestLog:
        """The requests `mask` selects, in order."""
        return RequestLog(**{name: getattr(self, name)[mask] for name in _COLUMNS})

    def counts(self) -> dict[str, int]:
        """Requests per outcome name."""
        found = np.bincount(self.outcome.astype(np.int64), minlength=len(OUTCOMES))
        return {name: int(found[i]) for i, name in enumerate(OUTCOMES)}


def describe_rejections(by_reason: dict[str, int]) -> str:
    """'12 requests rejected (12: prompt longer than one sequence's context)', or '' when none were."""
    total = sum(by_reason.values())
    if not total:
        return ""
    causes = "; ".join(f"{n:,}: {REJECTION_WORDS[reason]}" for reason, n in by_reason.items() if n)
    return f"{total:,} request{'s' if total != 1 else ''} rejected ({causes})"


class LogBuilder:
    """Growable columns the event loop writes into; `freeze()` gives the RequestLog."""

    def __init__(self, capacity: int) -> None:
        self.size = 0
        self._cap = max(16, capacity)
        self.cols = {name: np.full(self._cap, _FILL.get(name, -1), dtype=dtype) for name, dtype in _COLUMNS.items()}

    def add(self, n: int, **values: np.ndarray | float | int) -> int:
        """Append `n` requests with the given column values; returns the first new id."""
        first = self.size
        if first + n > self._cap:
            grow = max(first + n, 2 * self._cap)
            for name, col in self.cols.items():
                extra = np.full(grow - self._cap, _FILL.get(name, -1), dtype=col.dtype)
                self.cols[name] = np.concatenate([col, extra])
            self._cap = grow
        for name, value in values.items():
            self.cols[name][first : first + n] = value
        self.size = first + n
        return first

    def freeze(self) -> RequestLog:
        return RequestLog(**{name: col[: self.size] for name, col in self.cols.items()})


class _Discard:
    """A column that forgets what is written to it."""

    def __setitem__(self, key: object, value: object) -> None:
        return None


class DiscardLog:
    """A log for an engine that runs indefinitely (the emulator): it keeps nothing."""

    def __init__(self) -> None:
        self.cols = {name: _Discard() for name in _COLUMNS}
