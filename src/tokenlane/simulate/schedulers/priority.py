"""Interactive before batch: a box that serves both admits waiting interactive requests first, so a nightly job
queued ahead does not hold people up; batch work fills the rest of the batch. (vLLM `--scheduling-policy priority`
with interactive requests at a higher priority.)
"""

from __future__ import annotations

from tokenlane.simulate.entities import Run, Seq
from tokenlane.simulate.schedulers.base import FcfsQueue, SchedulerPolicy, WaitQueue


class _TwoClassQueue(WaitQueue):
    """Interactive requests (job < 0) first, then batch requests, each class first come first served."""

    def __init__(self) -> None:
        self._interactive = FcfsQueue()
        self._batch = FcfsQueue()

    def _of(self, entry: Seq | Run) -> FcfsQueue:
        return self._interactive if entry.job < 0 else self._batch

    def push(self, entry: Seq | Run) -> None:
        self._of(entry).push(entry)

    def push_front(self, seq: Seq) -> None:
        self._of(seq).push_front(seq)

    def head(self) -> Seq | Run | None:
        return self._interactive.head() or self._batch.head()

    def pop(self) -> Seq:
        return self._interactive.pop() if self._interactive.head() is not None else self._batch.pop()

    def batch_run(self) -> Run | None:
        return self._batch.batch_run() if self._interactive.head() is None else None

    def sequences(self) -> list[Seq]:
        return self._interactive.sequences() + self._batch.sequences()

    def remove(self, seq: Seq) -> bool:
        return self._of(seq).remove(seq)


class InteractiveFirst(SchedulerPolicy):
    """Wraps the engine's own policy (its cap and context limit) and changes only the queue discipline."""

    def __init__(self, base: SchedulerPolicy) -> None:
        super().__init__(base.dep)
        self._base = base

    def running_cap(self) -> int:
        return self._base.running_cap()

    def context_limit(self) -> int:
        return self._base.context_limit()

    def new_queue(self) -> WaitQueue:
        return _TwoClassQueue()
