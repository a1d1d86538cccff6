"""Speculative decoding under load: why a speed-up quoted at one stream shrinks, and reverses, as the batch grows.

Each cycle a drafter proposes `draft_tokens` (k) tokens per sequence; the target model verifies all k + 1
positions in one step; with per-token acceptance probability a, a sequence gains
E = (1 - a^(k+1)) / (1 - a) tokens per cycle.
# Source: Leviathan, Kalman & Matias, "Fast Inference from Transformers via Speculative Decoding" (ICML 2023),
# equation (1).
The verify step is the roofline's own step with k + 1 query tokens per sequence: at one stream it is memory-bound
and costs about one ordinary step (the speed-up is about E); as the batch grows it turns compute-bound and costs up
to k + 1 steps, so the speed-up falls below 1. The drafter is either a separate draft model (k decode steps of its
own deployment) or the target's own prediction head (MTP, EAGLE: k passes of one transformer layer and the LM head,
modelled as 1 / num_layers of a target decode step plus its LM head).
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.roofline import StepLoad, compute_step_time, decode_load, step_seconds
from tokenlane.errors import InputError


@dataclass(frozen=True)
class Speculation:
    """A speculative-decoding setup."""

    draft_tokens: int
    """Tokens the drafter proposes per cycle (k)."""
    acceptance: float
    """Probability the target accepts each drafted token (a), from the method's own measurements."""
    draft: Deployment | None = None
    """A separate draft model; None: the target's own head (MTP, EAGLE)."""

    def __post_init__(self) -> None:
        if not 1 <= self.draft_tokens <= 16:
            raise InputError("must be 1 to 16 drafted tokens", field="--speculate")
        if not 0.0 <= self.acceptance < 1.0:
            raise InputError("must be at least 0 and below 1", field="--acceptance")

    @property
    def expected_tokens(self) -> float:
        """Tokens a sequence gains per cycle: (1 - a^(k+1)) / (1 - a)."""
        a = self.acceptance
        return (1.0 - a ** (self.draft_tokens + 1)) / (1.0 - a)


def verify_load(dep: Deployment, batch: int, context: float, positions: int) -> StepLoad:
    """One verify step: `batch` sequences each scoring `positions` query tokens after `context` cached ones."""
    one = decode_load(dep, batch, context)
    return StepLoad(
        num_tokens=one.num_tokens * positions,
        num_logits=one.num_logits * positions,
        kv_tokens_full=one.kv_tokens_full,
        kv_tokens_window=one.kv_tokens_window,
        pairs_full=one.pairs_full * positions,
        pairs_window=one.pairs_window * positions,
    )


def cycle_seconds(dep: Deployment, spec: Speculation, batch: int, context: float) -> float:
    """Seconds of one draft-and-verify cycle for `batch` sequences at `context` tokens."""
    verify = step_seconds(dep, verify_load(dep, batch, context, spec.draft_tokens + 1))
    if spec.draft is not None:
        drafting = spec.draft_tokens * step_seconds(spec.draft, decode_load(spec.draft, batch, context))
    else:
        step = compute_step_time(dep, decode_load(dep, batch, context))
        head = (step.total_s - step.lm_head_s - step.overhead_s) / dep.model.num_layers + step.lm_head_s
        drafting = spec.draft_tokens * head
    return verify + drafting


def speculative_stream_tok_s(dep: Deployment, spec: Speculation, batch: int, context: float) -> float:
    """Decode speed of one of `batch` running sequences with speculation, tok/s."""
    return spec.expected_tokens / cycle_seconds(dep, spec, batch, context)
