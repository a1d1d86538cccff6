"""Energy and carbon of an option, from its simulated day: the one home of kWh (the electricity bill prices them).

A device draws a share of its rated power by what it does (catalog `power_profiles`, by memory kind): idle while
held, decode (memory-bound) while stepping decode only, prefill (compute-bound) while a step carries a prompt chunk;
its share of the host draws in full while it steps and half while it idles (`PowerProfile.watts`). A day's energy =
devices x (prefill s x P_prefill + decode s x P_decode + idle s x P_idle) over the seconds each replica is powered
(all day for a fixed fleet; an autoscaled fleet's held hours), times the PUE. A month is the day on each workday and
the idle held fleet on the other days.
Emissions = kWh x the grid's intensity (catalog `grids`: Ember's annual averages); embodied = each device's
manufacturing footprint written off over the amortisation years (rented: for the share of the month it is held).
An API's figures are the provider's published ones (catalog `api_providers[].energy`), scaled by output tokens
where the figure states a length, else per request; "not published" otherwise, never an estimate.
# Source: power by phase, SplitwiseSim (github.com/Mutinifni/splitwise-sim, the Splitwise authors' simulator, ISCA 2024);
# servers idle near half their peak, Barroso and Hoelzle (IEEE Computer, 2007); PUE definition, The Green Grid WP#49.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import Deployment
from tokenlane.catalog import Catalog
from tokenlane.catalog.models import PowerProfile
from tokenlane.cost.tco import DAYS_PER_MONTH, flat_kwh_per_month, held_fraction
from tokenlane.scenario import Finance, Option, Scenario
from tokenlane.simulate import SimulationResult
from tokenlane.units import S_PER_HOUR, W_PER_KW

DAY_S = 24 * S_PER_HOUR
NOT_PUBLISHED = "not published"


class OptionEnergy(BaseModel):
    """An option's energy and emissions per month (None: not known, with `source` saying why)."""

    model_config = ConfigDict(frozen=True)

    kwh_per_month: float | None
    wh_per_1k_output_tokens: float | None
    kgco2e_per_month: float | None
    """Operational emissions: the kWh at the grid's intensity (an API: as its provider publishes them)."""
    kgco2e_embodied_per_month: float | None
    """The devices' manufacturing footprint written off over the month (an API: included in its figure, or unknown)."""
    grid: str | None
    grid_gco2_per_kwh: float | None
    source: str
    """Where each figure comes from, in words."""


def power_profile(dep: Deployment, catalog: Catalog) -> PowerProfile:
    """The power profile of the deployment's class of device."""
    return catalog.power_profiles[dep.hardware.memory_kind]


def device_joules(profile: PowerProfile, power_w: float, *, prefill_s: float, decode_s: float, idle_s: float) -> float:
    """Energy one device (with its host share) draws over the given seconds in each state, J."""
    watts = profile.watts
    return watts(power_w, "prefill") * prefill_s + watts(power_w, "decode") * decode_s + watts(power_w, "idle") * idle_s


def grid_code(option: Option, finance: Finance) -> str | None:
    """The grid an option draws from: its own `grid`, else the cloud region or jurisdiction it processes prompts in,
    else the site's `finance.grid`; None when none is known."""
    if option.grid is not None:
        return option.grid
    if option.kind == "cloud_gpu" and option.processes_in is not None:
        return option.processes_in
    return finance.grid


def self_host_energy(
    option: Option, dep: Deployment, scenario: Scenario, catalog: Catalog, day: SimulationResult, replicas: int
) -> OptionEnergy:
    """kWh, Wh per 1,000 output tokens and emissions of `replicas` replicas serving `day` on each workday."""
    finance = scenario.finance
    profile = power_profile(dep, catalog)
    devices = dep.unit_devices
    watts = dep.unit_power_w / devices  # the pools' mean rating
    powered_day_s = _powered_day_s(option, day, replicas)
    busy_s, prefill_s = day.busy_replica_s, day.prefill_replica_s
    workday_j = devices * device_joules(
        profile, watts, prefill_s=prefill_s, decode_s=busy_s - prefill_s, idle_s=max(0.0, powered_day_s - busy_s)
    )
    idle_day_j = devices * device_joules(profile, watts, prefill_s=0.0, decode_s=0.0, idle_s=_held_off_day_s(option, day, replicas))
    idle_days = max(0.0, DAYS_PER_MONTH - finance.workdays_per_month)
    flat = flat_kwh_per_month(dep, option, finance, replicas=replicas, scaling=day.scaling)
    kwh = (
        flat
        if flat is not None
        else (finance.workdays_per_month * workday_j + idle_days * idle_day_j) * finance.pue / S_PER_HOUR / W_PER_KW
    )
    out_tokens = day.output_tokens * finance.workdays_per_month
    code = grid_code(option, finance)
    grid = catalog.grid(code) if code is not None else None
    embodied = dep.hardware.embodied
    kg_device = embodied.kgco2e_per_device if embodied else profile.embodied_kgco2e_per_device
    held = held_fraction(option, finance, day.scaling, billed=False) if option.kind == "cloud_gpu" else 1.0
    embodied_kg = replicas * devices * kg_device / (finance.amortization_years * 12.0) * held
    where = (
        f"grid {grid.id}: {grid.gco2_per_kwh:g} gCO2/kWh in {grid.year} ({grid.source})"
        if grid
        else "grid unknown: set `grid` on the option or `finance.grid`"
    )
    return OptionEnergy(
        kwh_per_month=kwh,
        wh_per_1k_output_tokens=kwh * 1e6 / out_tokens if out_tokens else None,
        kgco2e_per_month=kwh * grid.gco2_per_kwh / 1000.0 if grid else None,
        kgco2e_embodied_per_month=embodied_kg,
        grid=grid.id if grid else None,
        grid_gco2_per_kwh=grid.gco2_per_kwh if grid else None,
        source=(
            (
                f"a flat {finance.utilization:.0%} of rated power (finance.utilization)"
                if flat is not None
                else f"power by step from the simulated day ({profile.source}; host: {profile.host_source})"
            )
            + f"; PUE {finance.pue:g}; {where}; embodied "
            f"{kg_device:g} kg CO2e per device over {finance.amortization_years:g} years "
            f"({embodied.source if embodied else profile.embodied_source})"
        ),
    )


def _powered_day_s(option: Option, day: SimulationResult, replicas: int) -> float:
    """Replica-seconds the fleet is powered on a workday: an autoscaled fleet's held hours; a rented fixed fleet its
    rented hours; a bought one all day (and longer when its day runs past midnight)."""
    if day.scaling is not None:
        return day.scaling.replica_hours * S_PER_HOUR
    hours = option.rented_hours_per_day if option.kind == "cloud_gpu" else max(24.0, day.simulated_hours)
    return max(replicas * hours * S_PER_HOUR, day.busy_replica_s)


def _held_off_day_s(option: Option, day: SimulationResult, replicas: int) -> float:
    """Replica-seconds the fleet is powered, idle, on a day without work: an autoscaled fleet's minimum all day; a
    fixed one as on a workday."""
    if day.scaling is not None:
        return day.scaling.min_replicas * DAY_S
    hours = option.rented_hours_per_day if option.kind == "cloud_gpu" else 24.0
    return replicas * hours * S_PER_HOUR


def api_energy(option: Option, scenario: Scenario, catalog: Catalog, day: SimulationResult) -> OptionEnergy:
    """An API's energy and emissions from its provider's published per-request figure, scaled by output tokens where
    the figure states a response length, else per request; `not published` otherwise."""
    provider = catalog.api_provider(option.provider)
    published = provider.energy if provider else None
    if published is None:
        who = provider.name if provider else (option.provider or option.name)
        return OptionEnergy(
            kwh_per_month=None,
            wh_per_1k_output_tokens=None,
            kgco2e_per_month=None,
            kgco2e_embodied_per_month=None,
            grid=None,
            grid_gco2_per_kwh=None,
            source=f"{NOT_PUBLISHED}: {who} publishes no energy or emissions figure per request",
        )
    workdays = scenario.finance.workdays_per_month
    log = day.log
    assert log is not None, "an API's day carries its request log"
    requests = len(log) * workdays
    out_tokens = float(day.output_tokens) * workdays
    scale = out_tokens / published.output_tokens if published.output_tokens else float(requests)
    kwh = published.wh_per_request * scale / 1000.0 if published.wh_per_request is not None else None
    kg = published.gco2e_per_request * scale / 1000.0 if published.gco2e_per_request is not None else None
    method = f"x output tokens / {published.output_tokens}" if published.output_tokens else "per request"
    return OptionEnergy(
        kwh_per_month=kwh,
        wh_per_1k_output_tokens=kwh * 1e6 / out_tokens if kwh is not None and out_tokens else None,
        kgco2e_per_month=kg,
        kgco2e_embodied_per_month=None,
        grid=None,
        grid_gco2_per_kwh=None,
        source=(
            f"{provider.name if provider else option.provider}'s published figure ({published.source}, {published.as_of}), {method}: "
            f"{published.covers}"
        ),
    )
