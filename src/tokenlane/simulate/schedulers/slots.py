"""Fixed slots (llama.cpp `llama-server -np N -c C`): N sequences at most, each with C / N tokens of context.
# Source: llama.cpp tools/server/README.md (`--parallel`, `--ctx-size`: the context is divided among the slots).
"""

from __future__ import annotations

from tokenlane.simulate.schedulers.base import SchedulerPolicy


class FixedSlots(SchedulerPolicy):
    """Continuous batching over a fixed number of slots, each with an equal share of the context."""

    def context_limit(self) -> int:
        ctx = self.dep.context_tokens or self.dep.model.max_context_tokens
        return ctx // self.running_cap()
