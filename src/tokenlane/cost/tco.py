"""Monthly cost of owning or renting the hardware that runs a deployment, with the people who run it."""

from __future__ import annotations

import math
from typing import NoReturn

from pydantic import BaseModel, ConfigDict

from tokenlane.capacity import Deployment
from tokenlane.cost.finetune import finetune_usd_per_month, owned_usd_per_gpu_hour
from tokenlane.cost.people import engineer_fte, people_usd
from tokenlane.scenario import Finance, Option
from tokenlane.simulate.scaling import ScalingResult
from tokenlane.units import HOURS_PER_MONTH, W_PER_KW

DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0


class MonthlyCost(BaseModel):
    """A month's cost by line, USD."""

    model_config = ConfigDict(frozen=True)

    hardware_usd: float = 0.0
    """Purchase amortised: price x (1 - residual) / months of amortisation."""
    power_usd: float = 0.0
    hosting_usd: float = 0.0
    rental_usd: float = 0.0
    people_usd: float = 0.0
    api_usd: float = 0.0
    finetune_usd: float = 0.0
    """A fine-tuning program (training, labelling, evaluation, ML team) spread per month (cost/finetune.py)."""

    @property
    def total_usd(self) -> float:
        """Sum of every line, USD/month."""
        return self.hardware_usd + self.power_usd + self.hosting_usd + self.rental_usd + self.people_usd + self.api_usd + self.finetune_usd


def hardware_units(dep: Deployment, replicas: int) -> int:
    """Purchasable units (boxes, servers) for `replicas` replicas: ceil(devices / devices per unit), a disaggregated
    deployment's pools packed together by hardware."""
    return sum(math.ceil(replicas * devices / hw.num_devices) for hw, devices in dep.devices_by_hardware().items())


def device_price(dep: Deployment, option: Option) -> float:
    """What one device costs the option: its rental rate per device-hour (cloud_gpu: the option's own, else the
    catalog's quotes on its `cloud_price` basis) or its purchase price (self_host); InputError naming the option's
    field when the catalog has none."""
    if option.kind == "cloud_gpu":
        rate = option.usd_per_gpu_hour
        if rate is None:
            rate = dep.hardware.rental_usd_per_gpu_hour(option.cloud_price)
        if rate is None:
            term = "reserved" if option.cloud_price == "reserved" else "on-demand"
            raise_missing(option, "usd_per_gpu_hour", f"{dep.hardware.id} has no {term} rental price in the catalog; give usd_per_gpu_hour")
        return float(rate)
    if dep.hardware.purchase_usd is None:
        raise_missing(option, "hardware", f"{dep.hardware.id} has no purchase price; use kind: cloud_gpu or a catalog entry with one")
    return float(dep.hardware.purchase_usd)


def held_fraction(option: Option, finance: Finance, scaling: ScalingResult | None, *, billed: bool) -> float:
    """Share of the month a replica is held on average: rented (cloud_gpu, `billed` rounding each held stretch as the
    provider does) or powered (self_host). A fixed fleet: `rented_hours_per_day` / 24. An autoscaled one: its simulated
    day's replica-hours on each of the month's workdays and its minimum replicas on the other days, over its maximum
    replicas held all month."""
    if option.autoscale is None or scaling is None:
        return option.rented_hours_per_day / 24.0
    day_hours = scaling.billed_replica_hours if billed else scaling.replica_hours
    idle_days = max(0.0, DAYS_PER_MONTH - finance.workdays_per_month)
    month_hours = finance.workdays_per_month * day_hours + idle_days * 24.0 * scaling.min_replicas
    return month_hours / (scaling.max_replicas * HOURS_PER_MONTH)


def flat_kwh_per_month(dep: Deployment, option: Option, finance: Finance, *, replicas: int, scaling: ScalingResult | None) -> float | None:
    """With a flat `finance.utilization`: devices x rated W x utilisation x PUE x the hours held a month / 1000, kWh;
    None without one (the energy model of `cost.energy` then gives the kWh)."""
    if finance.utilization is None:
        return None
    hours = held_fraction(option, finance, scaling, billed=False) * HOURS_PER_MONTH
    return replicas * dep.unit_power_w * finance.utilization * finance.pue * hours / W_PER_KW


def hardware_cost(
    dep: Deployment,
    option: Option,
    finance: Finance,
    *,
    replicas: int,
    scaling: ScalingResult | None = None,
    kwh_per_replica_month: float | None = None,
) -> MonthlyCost:
    """Monthly cost of `replicas` replicas of `dep` for a self_host or cloud_gpu option (`scaling`: the day of an
    autoscaled fleet, which holds them part of the time, `held_fraction`; `kwh_per_replica_month`: a replica's
    electricity from its simulated day, `cost.energy`).

    A disaggregated deployment's replica is a unit of its two pools, each device at its own hardware's price.

    self_host: amortisation = devices x price x (1 - residual) / (12 x years); power = replicas x kWh per replica x
    $/kWh (with a flat `finance.utilization`: devices x W x utilisation x PUE x 730 h x held fraction / 1000; with
    neither, no power: a lower bound); hosting per unit; people (`cost.people`). cloud_gpu: devices x $/GPU-h x 730 h
    x held fraction; people (the electricity is in the rate).
    # Source: straight-line depreciation (IRS Publication 946, ch. 4); PUE definition, The Green Grid WP#49.
    """
    people = people_usd(engineer_fte(option.kind, finance, dep, replicas), finance)
    price = device_price(dep, option)
    devices_usd = replicas * sum(n * pool.num_devices * device_price(pool, option) for pool, n in dep.pools)
    """Every device's price (a disaggregated deployment's pools may run on different hardware)."""
    if option.kind == "cloud_gpu":
        hours = held_fraction(option, finance, scaling, billed=True) * HOURS_PER_MONTH
        finetune = finetune_usd_per_month(dep, option, finance, usd_per_gpu_hour=price)
        return MonthlyCost(rental_usd=devices_usd * hours, people_usd=people, finetune_usd=finetune)
    months = finance.amortization_years * 12.0
    hardware = devices_usd * (1.0 - finance.residual_fraction) / months
    flat = flat_kwh_per_month(dep, option, finance, replicas=replicas, scaling=scaling)
    kwh = flat if flat is not None else replicas * (kwh_per_replica_month or 0.0)
    finetune = finetune_usd_per_month(dep, option, finance, usd_per_gpu_hour=owned_usd_per_gpu_hour(dep, finance))
    return MonthlyCost(
        hardware_usd=hardware,
        power_usd=kwh * finance.electricity_usd_per_kwh,
        hosting_usd=hardware_units(dep, replicas) * finance.hosting_usd_per_month,
        people_usd=people,
        finetune_usd=finetune,
    )


def raise_missing(option: Option, field: str, why: str) -> NoReturn:
    """Raise the input error for an option that cannot be priced."""
    from tokenlane.errors import InputError

    raise InputError(why, field=f"options[{option.name}].{field}")
