"""A search's progress as its results arrive, and its cancel switch: what the terminal's bar and the web page show.

The search calls `begin` once with the configurations it will judge (a resumed search: those its results file lacks)
and `add` with each result; `cancel` (from another thread) makes the next `add` raise `Cancelled`, which leaves the
backend and so ends its workers (`pool.worker_pool`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from tokenlane.errors import Cancelled
from tokenlane.search.evaluate import ConfigResult


class SearchProgress:
    """Counts of a search's results so far, written by the search's thread and read by others (the page's polls):
    each update is a single assignment or counter increment, so a reader sees a count a result behind at worst."""

    def __init__(self, on_change: Callable[[SearchProgress], None] = lambda p: None) -> None:
        self.on_change = on_change
        """Called after `begin` and after each result (a terminal's bar redraws)."""
        self.total = 0
        """Configurations the search judges."""
        self.done = 0
        self.outcomes: Counter[str] = Counter()
        """Results so far by status (pruned, fails_slo, ineligible, eligible)."""
        self.started_s = time.monotonic()
        self._cancel = threading.Event()

    def begin(self, total: int) -> None:
        self.total = total
        self.started_s = time.monotonic()
        self.on_change(self)

    def add(self, result: ConfigResult) -> None:
        """Count one result; raises `Cancelled` once `cancel` was called."""
        if self._cancel.is_set():
            raise Cancelled("the search was cancelled", field="search")
        self.outcomes[result.status] += 1
        self.done += 1
        self.on_change(self)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_s

    def words(self) -> str:
        """'pruned 1,204, failing the SLO 31, meeting it 12'."""
        meeting = self.outcomes["eligible"] + self.outcomes["ineligible"]
        return f"pruned {self.outcomes['pruned']:,}, failing the SLO {self.outcomes['fails_slo']:,}, meeting it {meeting:,}"
