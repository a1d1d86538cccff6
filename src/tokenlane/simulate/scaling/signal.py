"""What an autoscaler reads from the fleet at each interval."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FleetSignal:
    """The fleet's load at one moment, summed over the replicas that take requests (serving or warming up)."""

    requests: float
    """Requests in the replicas, running and waiting."""
    queue: float
    """Requests waiting for admission."""
    kv_cache: float
    """Sum over serving replicas of the share of the KV cache in use."""
    batch_in_flight: bool
    """A batch job's requests are waiting or running."""
    spilled: int = 0
    """Requests the fleet sent to its spillover API that are still in flight there (in `requests` too)."""

    def total(self, signal: str) -> float:
        """The named signal's total."""
        return float(getattr(self, signal))
