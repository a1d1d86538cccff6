"""Fit the physical parameters of one (hardware, engine) to measurements, by least squares over the roofline's own
terms: the predictions are `step_seconds` and `prefill_seconds` with the engine's parameters replaced.

Parameters: `bandwidth_utilization` (the share of streaming bandwidth decode reaches), `step_overhead_ms` (fixed
time per step) and `compute_utilization` (the share of dense peak prefill matmuls reach). Each is fitted only when
the data determine it: decode points fit the bandwidth share; the step overhead as well only when the decode points'
memory traffic differs by at least MIN_SPREAD between the lightest and the heaviest (else the two trade off); prefill
points fit the compute share. A fit that lands within two standard errors of the catalog value is not a finding
either: that parameter goes back to the catalog and the others are fitted again. The rest stay at the catalog's
values, and the result says why.

Residuals are relative (log of predicted / measured), so a 10% miss weighs the same on a fast and a slow point;
Levenberg–Marquardt on log-parameters, standard errors from the Jacobian at the optimum.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tokenlane.calibrate.formats import Measurement
from tokenlane.capacity import Deployment, decode_load, prefill_seconds, step_seconds
from tokenlane.catalog.models import Engine

MIN_SPREAD = 1.3
"""Decode points whose bytes per step differ by less than this factor cannot tell bandwidth from fixed overhead."""
BOUNDS = {"bandwidth_utilization": (0.02, 1.0), "compute_utilization": (0.005, 1.0), "step_overhead_ms": (0.001, 200.0)}
SIGNIFICANCE = 2.0
"""A fit within this many standard errors of the catalog value (about 95%, two-sided) leaves the catalog value."""


@dataclass(frozen=True)
class Fitted:
    """One parameter's fit."""

    name: str
    catalog: float
    value: float
    std_error: float | None
    """One standard error (None with as many points as fitted parameters)."""


@dataclass(frozen=True)
class Calibration:
    """What the measurements determined, and the per-point error before and after."""

    engine: Engine
    fitted: list[Fitted]
    kept: dict[str, str]
    """Parameters left at the catalog's value, with why."""
    points: list[tuple[Measurement, float, float]]
    """(measurement, predicted seconds before, after)."""


def predict(dep: Deployment, m: Measurement) -> float:
    """The roofline's seconds for a measurement."""
    if m.kind == "decode":
        return step_seconds(dep, decode_load(dep, m.batch, m.context))
    return prefill_seconds(dep, m.depth + m.prompt, cached_tokens=m.depth)


def _with(dep: Deployment, values: dict[str, float]) -> Deployment:
    return dataclasses.replace(dep, engine=dep.engine.model_copy(update=values))


def _bytes_per_step(dep: Deployment, m: Measurement) -> float:
    """A proxy for a decode point's memory traffic: its predicted step time with no fixed overhead."""
    no_fixed_costs = {"step_overhead_ms": 0.0, "layer_overhead_us": 0.0, "moe_layer_overhead_us": 0.0, "eager_layer_overhead_us": 0.0}
    return step_seconds(_with(dep, no_fixed_costs), decode_load(dep, m.batch, m.context))


def choose(dep: Deployment, points: list[Measurement]) -> tuple[list[str], dict[str, str]]:
    """The parameters the points determine, and why each other one stays at the catalog's value."""
    decode = [m for m in points if m.kind == "decode"]
    prefill = [m for m in points if m.kind == "prefill"]
    names: list[str] = []
    kept: dict[str, str] = {}
    if decode:
        names.append("bandwidth_utilization")
        traffic = [_bytes_per_step(dep, m) for m in decode]
        if len(decode) >= 2 and max(traffic) >= MIN_SPREAD * min(traffic):
            names.append("step_overhead_ms")
        else:
            kept["step_overhead_ms"] = (
                f"the decode points' memory traffic differs by under {MIN_SPREAD:g}x: it trades off against bandwidth"
            )
    else:
        kept["bandwidth_utilization"] = "no decode measurement"
        kept["step_overhead_ms"] = "no decode measurement"
    if prefill:
        names.append("compute_utilization")
    else:
        kept["compute_utilization"] = "no prefill measurement"
    return names, kept


def calibrate(dep: Deployment, points: list[Measurement], *, iterations: int = 60) -> Calibration:
    """Fit the parameters the points determine (see the module docstring). A parameter whose fitted value lies within
    SIGNIFICANCE standard errors of the catalog's is not a finding: it goes back to the catalog value, the rest are
    fitted again without it, and the result says why."""
    names, kept = choose(dep, points)
    fitted = _least_squares(dep, points, names, iterations)
    while weak := [f for f in fitted if f.std_error is not None and abs(f.value - f.catalog) <= SIGNIFICANCE * f.std_error]:
        for f in weak:
            kept[f.name] = (
                f"the fit ({f.value:.4g} ± {f.std_error:.2g}) is within {SIGNIFICANCE:g} standard errors of the catalog value:"
                " the points do not tell them apart"
            )
            names.remove(f.name)
        fitted = _least_squares(dep, points, names, iterations)
    engine = dep.engine.model_copy(update={f.name: f.value for f in fitted})
    after = dataclasses.replace(dep, engine=engine)
    return Calibration(engine, fitted, kept, [(m, predict(dep, m), predict(after, m)) for m in points])


def _least_squares(dep: Deployment, points: list[Measurement], names: list[str], iterations: int) -> list[Fitted]:
    """Levenberg–Marquardt on the log of `names` (within BOUNDS) over the points' log errors; each value with its
    standard error (None with as many points as parameters)."""
    start = {n: float(getattr(dep.engine, n)) for n in names}
    measured = np.log([m.seconds for m in points])

    def residuals(logs: np.ndarray) -> np.ndarray:
        values = {n: float(np.clip(math.exp(v), *BOUNDS[n])) for n, v in zip(names, logs, strict=True)}
        d = _with(dep, values)
        return np.log([predict(d, m) for m in points]) - measured

    lower, upper = np.log([BOUNDS[n][0] for n in names]), np.log([BOUNDS[n][1] for n in names])
    x = np.clip(np.log([max(start[n], BOUNDS[n][0]) for n in names]), lower, upper)
    damping = 1e-3
    r = residuals(x)
    jac = np.zeros((len(points), len(names)))
    for _ in range(iterations if names else 0):
        for j in range(len(names)):
            step = np.zeros_like(x)
            step[j] = -1e-4 if x[j] + 1e-4 > upper[j] else 1e-4  # a value at its upper bound differences inwards
            jac[:, j] = (residuals(x + step) - r) / step[j]
        grad = jac.T @ r
        hess = jac.T @ jac
        delta = np.linalg.solve(hess + damping * np.diag(np.diag(hess) + 1e-12), -grad)
        trial = np.clip(x + delta, lower, upper)
        r_trial = residuals(trial)
        if r_trial @ r_trial < r @ r:
            x, r, damping = trial, r_trial, damping / 3
            if np.max(np.abs(delta)) < 1e-7:
                break
        else:
            damping *= 4
    fitted = []
    dof = len(points) - len(names)
    cov = None
    if names and dof > 0:
        with np.errstate(all="ignore"):
            cov = np.linalg.pinv(jac.T @ jac) * float(r @ r) / dof
    for j, n in enumerate(names):
        value = float(math.exp(x[j]))
        std = float(value * math.sqrt(max(cov[j, j], 0.0))) if cov is not None else None
        fitted.append(Fitted(n, start[n], value, std))
    return fitted
