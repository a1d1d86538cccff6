"""What one option costs per month and what it buys: the type cost's levers read and `cost_scenario` produces (its own
module, so a lever never imports the orchestrator)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tokenlane.cost.energy import OptionEnergy
from tokenlane.cost.tco import MonthlyCost
from tokenlane.simulate import SimulationResult


@dataclass(frozen=True)
class OptionDays:
    """The simulated day cost prices for one option: at its fleet size (self-hosted) or on the API's fleet."""

    day: SimulationResult
    """The day at `replicas` replicas (an API's day carries its request log: the bill prices it)."""
    replicas: int
    carries: bool
    """The day meets the SLO and every batch window."""
    at_max_units: bool = False
    """Sizing stopped at the option's `max_units` without carrying the load."""


class OptionCost(BaseModel):
    """One option's monthly cost and what it buys."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    location: str
    fits: bool
    carries_load: bool
    """Meets the SLO and batch windows with `replicas` replicas (APIs: assumed, served from a fleet)."""
    meets_slo: bool | None
    replicas: int
    units: int
    """Purchasable hardware units (boxes/servers) or rented GPUs' servers; 0 for APIs."""
    monthly_usd: float | None
    breakdown: MonthlyCost | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    capacity_tokens_per_day_per_replica: float | None
    """Tokens one replica carries per 24 h at the SLO's per-user speed (self-host)."""
    simulation: SimulationResult | None
    """The day this cost was priced on (self-hosted: at `replicas`; API: the provider's fleet)."""
    people_fte: float = 0.0
    """Engineering time in `monthly_usd`, FTE (`cost.people.engineer_fte`)."""
    machines: int = 0
    """Physical machines the fleet occupies (self-hosted and rented); 0 for APIs."""
    energy: OptionEnergy | None = None
    """Energy and emissions per month (`cost.energy`); None when the option does not fit."""
    note: str = ""


class IntervalEnds(BaseModel):
    """One self-hosted option with every step at the low and at the high end of its 80% speed interval
    (`capacity.uncertainty`): the day simulated, the fleet sized and priced again at each."""

    model_config = ConfigDict(frozen=True)

    speed_factors: list[float]
    """[low, high]: the interval's ends as factors on the modelled speed."""
    basis: str
    """The rows the interval rests on, in words."""
    monthly_usd: list[float | None]
    """Monthly cost at the low and at the high end."""
    replicas: list[int]
    """Fleet size at each end."""
    meets_slo: list[bool]
    """Whether that fleet meets the SLO and the batch windows at each end."""
