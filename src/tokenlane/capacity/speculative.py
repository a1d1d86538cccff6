"""Speculative decoding under load: why a speed-up quoted at one stream shrinks, and reverses, as the batch grows.

Each cycle a drafter proposes `draft_tokens` (k) tokens per sequence; the target model verifies all k + 1
positions in one step; with per-token acceptance probability a, a sequence gains
E = (1 - a^(k+1)) / (1 - a) tokens per cycle (`Speculation.expected_tokens`).
The verify step is the roofline's own step with k + 1 query tokens per sequence: at one stream it is memory-bound
and costs about one ordinary step (the speed-up is about E); as the batch grows it turns compute-bound and costs up
to k + 1 steps, so the speed-up falls below 1. The drafter is either a separate draft model (k decode steps of its
own deployment) or the target's own prediction head (MTP, EAGLE: k passes of one transformer layer and the LM head,
modelled as 1 / num_layers of a target decode step plus its LM head).

In a simulated day a decoding sequence gains one token per scheduler step at the cycle's time divided by E (the
mean time per token; tokens arriving E at a time is not modelled), and a step that also carries prefill chunks
costs the combined step with the decoders' share scaled the same way (`SpeculativeStepTable`).
"""

from __future__ import annotations

from tokenlane.capacity.deployment import Deployment, Speculation
from tokenlane.capacity.roofline import StepLoad, StepTable, compute_step_time, decode_load, step_seconds

__all__ = ["Speculation", "SpeculativeStepTable", "cycle_seconds", "drafting_seconds", "verify_load"]


def verify_load(dep: Deployment, batch: int, context: float, positions: int) -> StepLoad:
    """One verify step: `batch` sequences each scoring `positions` query tokens after `context` cached ones (the
    cached keys are read once per sequence and scored by every position)."""
    one = decode_load(dep, batch, context)
    return StepLoad(
        num_tokens=one.num_tokens * positions,
        num_logits=one.num_logits * positions,
        kv_tokens_full=one.kv_tokens_full,
        kv_tokens_window=one.kv_tokens_window,
        pairs_full=one.pairs_full * positions,
        pairs_window=one.pairs_window * positions,
    )


def drafting_seconds(dep: Deployment, spec: Speculation, batch: int, context: float) -> float:
    """Seconds the drafter takes to propose k tokens for `batch` sequences at `context` tokens."""
    if spec.draft is not None:
        return spec.draft_tokens * step_seconds(spec.draft, decode_load(spec.draft, batch, context))
    step = compute_step_time(dep, decode_load(dep, batch, context))
    head = (step.total_s - step.lm_head_s - step.overhead_s) / dep.model.num_layers + step.lm_head_s
    return spec.draft_tokens * head


def cycle_seconds(dep: Deployment, spec: Speculation, batch: int, context: float) -> float:
    """Seconds of one draft-and-verify cycle for `batch` sequences at `context` tokens."""
    verify = step_seconds(dep, verify_load(dep, batch, context, spec.draft_tokens + 1))
    return verify + drafting_seconds(dep, spec, batch, context)


class SpeculativeStepTable(StepTable):
    """The step table of a deployment that decodes speculatively: a pure decode step of n sequences costs
    `token_seconds`; a step carrying prefill chunks costs the combined step (decoders verifying k + 1 positions)
    plus drafting, less (1 - 1/E) of what the decoders' cycle alone would cost."""

    def __init__(self, dep: Deployment, max_tokens: int) -> None:
        assert dep.speculation is not None
        self._dep = dep
        self._spec = dep.speculation
        self._positions = dep.speculation.draft_tokens + 1
        super().__init__(dep, max_tokens * self._positions)

    def _cycle(self, num_seqs: int, kv_full: float, kv_window: float) -> float:
        k1 = self._positions
        verify = StepTable.seconds(self, num_seqs * k1, num_seqs * k1, kv_full, kv_window, k1 * kv_full, k1 * kv_window)
        return verify + drafting_seconds(self._dep, self._spec, num_seqs, _context(num_seqs, kv_full))

    def decode_seconds(self, num_seqs: int, kv_full: float, kv_window: float) -> float:
        if num_seqs <= 0:
            return 0.0
        return self._cycle(num_seqs, kv_full, kv_window) / self._spec.expected_tokens

    def step_seconds(self, num_seqs: int, kv_full: float, kv_window: float, chunk_load: tuple[float, ...]) -> float:
        if num_seqs <= 0:
            return StepTable.step_seconds(self, 0, 0.0, 0.0, chunk_load)
        k1 = self._positions
        t, logits, kf, kw, pf, pw = chunk_load
        combined = StepTable.seconds(
            self, num_seqs * k1 + t, num_seqs * k1 + logits, kv_full + kf, kv_window + kw, k1 * kv_full + pf, k1 * kv_window + pw
        )
        cycle = self._cycle(num_seqs, kv_full, kv_window)
        drafting = drafting_seconds(self._dep, self._spec, num_seqs, _context(num_seqs, kv_full))
        return combined + drafting - (1.0 - 1.0 / self._spec.expected_tokens) * cycle


def _context(num_seqs: int, kv_full: float) -> float:
    """The mean cached context of `num_seqs` decoders whose keys, the new token's included, sum to `kv_full` (the
    inverse of `decode_load`'s context + 1)."""
    return kv_full / num_seqs - 1.0
