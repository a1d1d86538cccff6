"""The policy interface and the first-come-first-served queue most engines use."""

from __future__ import annotations

from collections import deque

from tokenlane.capacity import Deployment
from tokenlane.simulate.entities import Run, Seq

BATCH_RUN_LOOKBACK = 16
"""`batch_run` looks at queues of at most this many entries (preempted sequences ahead of a batch run are few)."""


class WaitQueue:
    """Requests waiting for admission: single sequences and runs of identical batch requests."""

    def push(self, entry: Seq | Run) -> None:
        """Queue at the tail."""
        raise NotImplementedError

    def push_front(self, seq: Seq) -> None:
        """Queue at the head (a preempted sequence resumes first)."""
        raise NotImplementedError

    def head(self) -> Seq | Run | None:
        """The entry the next admission takes from."""
        raise NotImplementedError

    def pop(self) -> Seq:
        """Remove and return the next request to admit."""
        raise NotImplementedError

    def batch_run(self) -> Run | None:
        """The run at the tail when every queued request belongs to its job (a few preempted sequences may wait
        ahead of it); else None."""
        raise NotImplementedError

    def sequences(self) -> list[Seq]:
        """The single sequences waiting (not the runs)."""
        raise NotImplementedError

    def remove(self, seq: Seq) -> bool:
        """Drop a queued sequence; False when it is not queued here."""
        raise NotImplementedError


class FcfsQueue(WaitQueue):
    """First come, first served."""

    def __init__(self) -> None:
        self._q: deque[Seq | Run] = deque()

    def push(self, entry: Seq | Run) -> None:
        self._q.append(entry)

    def push_front(self, seq: Seq) -> None:
        self._q.appendleft(seq)

    def head(self) -> Seq | Run | None:
        return self._q[0] if self._q else None

    def pop(self) -> Seq:
        entry = self._q[0]
        if isinstance(entry, Seq):
            return self._q.popleft()
        seq = entry.take()
        if entry.count == 0:
            self._q.popleft()
        return seq

    def batch_run(self) -> Run | None:
        q = self._q
        if not q or len(q) > BATCH_RUN_LOOKBACK or not isinstance(q[-1], Run):
            return None
        run = q[-1]
        return run if all(e.job == run.job for e in q) and sum(isinstance(e, Run) for e in q) == 1 else None

    def sequences(self) -> list[Seq]:
        return [e for e in self._q if isinstance(e, Seq)]

    def remove(self, seq: Seq) -> bool:
        try:
            self._q.remove(seq)
        except ValueError:
            return False
        return True


class SchedulerPolicy:
    """How a replica batches: the running cap, the context one sequence may use, and the queue discipline."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep

    def running_cap(self) -> int:
        """Most sequences running together."""
        return self.dep.running_seq_cap

    def context_limit(self) -> int:
        """Most tokens (prompt + output) one sequence may hold."""
        model_max = self.dep.model.max_context_tokens
        return min(self.dep.context_tokens or model_max, model_max)

    def new_queue(self) -> WaitQueue:
        """An empty wait queue of this policy's discipline."""
        return FcfsQueue()
