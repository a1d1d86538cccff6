"""Engineering time to run an option, as a continuous function of what is run: a base per deployment for its
serving stack, plus a share per machine for hardware care (bought) or instance care (rented). Nothing doubles
between one machine and two; the scenario may override the whole figure per kind (`finance.engineer_fte`,
`cloud_engineer_fte`, `api_engineer_fte`).

# Source: the defaults are assumptions stated in docs/scenario.md (scenario.FINANCE_SOURCES): a datacenter
# serving stack takes about a day a week, each bought server a few hours a month of repairs, firmware and
# racking; a desk-class box is looked after by its owner.
"""

from __future__ import annotations

import math
from typing import Literal

from tokenlane.capacity import Deployment
from tokenlane.scenario import Finance

MachineClass = Literal["desk", "server"]


def machines(dep: Deployment, replicas: int) -> int:
    """Physical machines `replicas` replicas occupy, packed as a server holds devices: ceil(replicas x devices per
    replica / devices per server), a disaggregated deployment's pools packed together by hardware. Two 2-GPU replicas of a workstation card
    fit one 4-GPU machine."""
    return max(1, sum(math.ceil(replicas * devices / hw.max_devices) for hw, devices in dep.devices_by_hardware().items()))


def machine_class(dep: Deployment) -> MachineClass:
    """desk: unified-memory boxes and workstation cards (GDDR), looked after like a desktop; server: HBM datacenter
    GPUs in racked servers."""
    return "server" if dep.hardware.memory_kind == "hbm" else "desk"


def engineer_fte(kind: str, finance: Finance, dep: Deployment, replicas: int) -> float:
    """Engineer time (FTE) a self_host or cloud_gpu option needs: the scenario's override for its kind when set, else
    bought: stack + machines x per-machine care; rented: stack + machines x the rented share. (An API option's is
    `finance.api_engineer_fte`.)"""
    override = getattr(finance, fte_field(kind))
    if override is not None:
        return float(override)
    cls = machine_class(dep)
    stack = finance.fte_stack_server if cls == "server" else finance.fte_stack_desk
    if kind == "cloud_gpu":
        per_machine = finance.fte_per_rented_server
    else:
        per_machine = finance.fte_per_server if cls == "server" else finance.fte_per_desk_machine
    return stack + per_machine * machines(dep, replicas)


def fte_field(kind: str) -> str:
    """The finance field that overrides the engineer time an option of `kind` needs."""
    return {"self_host": "engineer_fte", "cloud_gpu": "cloud_engineer_fte", "api": "api_engineer_fte"}[kind]


def people_usd(fte: float, finance: Finance) -> float:
    """Monthly cost of `fte` engineers: FTE x loaded yearly cost / 12, USD/month."""
    return fte * finance.engineer_usd_per_year / 12.0
