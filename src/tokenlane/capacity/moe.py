"""Mixture-of-experts routing: how many distinct experts a batch of tokens touches."""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _selection_probabilities(num_experts: int, experts_per_token: int, routing_skew: float) -> np.ndarray:
    """Per-token probability that each expert is selected, Zipf-shaped popularity with exponent `routing_skew`."""
    ranks = np.arange(1, num_experts + 1, dtype=float)
    popularity = ranks**-routing_skew
    popularity /= popularity.sum()
    return np.minimum(1.0, experts_per_token * popularity)


def expected_distinct_experts(
    num_experts: int, experts_per_token: int, num_tokens: float | np.ndarray, *, routing_skew: float = 0.0
) -> float | np.ndarray:
    """Expected number of distinct experts (per layer) that `num_tokens` tokens activate (an array of token counts
    gives an array).

    Uniform routing (skew 0): E * (1 - (1 - k/E)^T) — each expert is missed by one token with
    probability 1 - k/E, independently across tokens.
    Skewed routing: sum_i 1 - (1 - q_i)^T with q_i = min(1, k * p_i), p_i ∝ i^-skew (Zipf), so hot
    experts saturate early and the batch touches fewer experts than uniform routing predicts.
    # Source: balls-into-bins occupancy (Feller, An Introduction to Probability Theory, vol. 1, II.11);
    # applied to MoE decode in e.g. "MoE-Lightning" (arXiv:2411.11217) section 3.
    """
    t = np.maximum(np.asarray(num_tokens, dtype=float), 0.0)
    if routing_skew == 0.0:
        found = num_experts * (1.0 - (1.0 - experts_per_token / num_experts) ** t)
    else:  # 1 - (1 - q)^T as -expm1(T log1p(-q)), every token count at once (q = 1 held just under 1)
        log_miss = np.log1p(-np.minimum(_selection_probabilities(num_experts, experts_per_token, routing_skew), 1.0 - 1e-16))
        found = np.sum(-np.expm1(t[..., None] * log_miss), axis=-1)
    return found if isinstance(num_tokens, np.ndarray) else float(found)


PLACEMENT_DRAWS = 256
"""Random placements of experts on devices averaged by `expert_imbalance` (fixed seed: the same answer every run)."""


@functools.cache
def expert_imbalance(num_experts: int, devices: int, routing_skew: float) -> float:
    """The busiest device's expected share of the routed tokens over the mean share, when `num_experts` experts are
    placed whole and at random on `devices` devices (num_experts / devices each) and routed to with Zipf-shaped
    popularity of exponent `routing_skew` (1 when uniform: every device takes the same share on average).

    Expert-parallel serving waits on the busiest device each MoE layer. Hot experts that land on one device make it
    the straggler; a redundant-expert balancer (DeepSeek's EPLB) would even this out and is not modelled.
    # Source: DeepSeek-V3 technical report (arXiv:2412.19437) section 3.4 (redundant experts against load imbalance
    # under expert parallelism); popularity as in `expected_distinct_experts`.
    """
    if devices <= 1 or routing_skew == 0.0:
        return 1.0
    ranks = np.arange(1, num_experts + 1, dtype=float)
    popularity = ranks**-routing_skew
    popularity /= popularity.sum()
    rng = np.random.default_rng(0)
    per_device = -(-num_experts // devices)  # slots left over when they do not split evenly hold no expert here
    slots = np.concatenate([popularity, np.zeros(per_device * devices - num_experts)])
    draws = np.stack([rng.permutation(len(slots)) for _ in range(PLACEMENT_DRAWS)])
    loads = slots[draws].reshape(PLACEMENT_DRAWS, devices, per_device).sum(axis=2)
    return float(np.mean(loads.max(axis=1)) * devices)
