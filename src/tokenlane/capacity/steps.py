"""The step-time table a deployment is simulated with: plain, speculative or a pipeline over servers, picked here so
that the roofline and speculative decoding, which builds on it, stay one-way (roofline <- speculative <- steps)."""

from __future__ import annotations

import functools

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.roofline import PipelineStepTable, StepTable, decode_load
from tokenlane.capacity.speculative import SpeculativeStepTable


@functools.lru_cache(maxsize=64)
def step_table(dep: Deployment) -> StepTable | PipelineStepTable:
    """The step-time table of `dep`, sized for one step of the engine's token budget plus a full batch of decoders:
    the one place step times of a deployment are priced for the simulator and the curves. A speculative deployment's
    table prices decode steps per generated token (see `speculative`); one spanning servers as a pipeline wraps it
    in `PipelineStepTable`."""
    size = dep.engine.max_batched_tokens + dep.running_seq_cap + 1
    table: StepTable
    table = StepTable(dep, size) if dep.speculation is None else SpeculativeStepTable(dep, size)
    return PipelineStepTable(table, dep) if dep.pipeline_stages > 1 else table


def token_seconds(dep: Deployment, batch: int, context: float) -> float:
    """Seconds per generated token of each of `batch` decoding sequences at `context` cached tokens (speculation
    and pipeline stages included)."""
    load = decode_load(dep, batch, context)
    return step_table(dep).decode_seconds(batch, load.kv_tokens_full, load.kv_tokens_window)
