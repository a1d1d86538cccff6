"""Break-even daily volume between a self-hosted (or rented) option and an API, capacity included.

API cost per day is linear in volume: V x (f_in x a_in + f_out x a_out), with the scenario's input share f_in and
the API's effective $/token a_in, a_out (caching included). Self-host cost per day is a step function:
F + ceil(V / C) x U, with F the people cost per day, U the cost of one replica per day and C the tokens one replica
carries per day at the SLO. For k replicas (volumes in ((k-1)C, kC]) the curves cross where a V = F + k U;
the break-even is the smallest such V inside its step, if any k <= max replicas has one.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict


class BreakEven(BaseModel):
    """Where one self-host option and one API option cost the same."""

    model_config = ConfigDict(frozen=True)

    self_host: str
    api: str
    tokens_per_day: float | None
    """Total tokens/day at break-even (None: the API is cheaper at every volume the option can carry)."""
    input_tokens_per_day: float | None
    output_tokens_per_day: float | None
    reachable: bool
    """The break-even volume fits within the option's largest fleet (max_units replicas) and the option meets the
    scenario's SLO at some fleet size (a volume it cannot serve as asked is no break-even)."""
    batch_only: bool = False
    """The option misses the interactive SLO at every fleet size: the volume is a break-even for batch work alone
    (throughput at no per-user speed asked), never for this workload."""
    replicas_at_break_even: int | None
    monthly_usd: float | None
    """What both options cost per month at the break-even volume (the API's cost there)."""
    capacity_tokens_per_day_per_replica: float
    scenario_tokens_per_day: float


def self_host_usd_per_day(volume: float, *, fixed_usd_per_day: float, replica_usd_per_day: float, capacity_per_replica: float) -> float:
    """F + ceil(V / C) x U (at least one replica)."""
    replicas = max(1, math.ceil(volume / capacity_per_replica)) if capacity_per_replica > 0 else math.inf
    return fixed_usd_per_day + replicas * replica_usd_per_day


def break_even_volume(
    *, api_usd_per_token: float, fixed_usd_per_day: float, replica_usd_per_day: float, capacity_per_replica: float, max_replicas: int
) -> tuple[float | None, int | None, bool]:
    """(volume, replicas, reachable): the smallest daily token volume where self-host <= API.

    Searches k = 1 .. 4 x max_replicas so an unreachable break-even is still reported with reachable False.
    """
    if api_usd_per_token <= 0 or capacity_per_replica <= 0:
        return None, None, False
    for k in range(1, 4 * max_replicas + 1):
        lower, upper = (k - 1) * capacity_per_replica, k * capacity_per_replica
        crossing = (fixed_usd_per_day + k * replica_usd_per_day) / api_usd_per_token
        if crossing <= upper:
            return max(crossing, lower), k, k <= max_replicas
    return None, None, False
