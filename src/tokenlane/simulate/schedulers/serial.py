"""One request at a time (Ollama's default `OLLAMA_NUM_PARALLEL=1` behaviour, mlx_lm.server): the rest queue."""

from __future__ import annotations

from tokenlane.simulate.schedulers.base import SchedulerPolicy


class OneAtATime(SchedulerPolicy):
    """A running cap of one."""

    def running_cap(self) -> int:
        return 1
