"""Prediction intervals: how far a capacity prediction may be off, from how far it was off on public measurements.

Every public row the validation compares (`benchmarks/validate_capacity.py --write-errors`) is kept in the catalog's
`prediction_errors` section as ln(measured / predicted speed), grouped by family: the engine's kernels, the class
of hardware, the metric (decode or prefill) and the batch regime (one stream or several). A point's 80% interval is
the 10th to 90th percentile of its family's ratios, each source weighted alike (a new user's box is a new source,
so the spread between sources is what matters, not how many rows one source printed). A family with too few rows or
sources borrows a wider family's (`LEVELS`: without the model's shape, then without the hardware class, then
without the engine ...), and the output names the family used.

Widening, each stated in the output:
- the percentiles' distance from the median grows by sqrt(1 + 1/k) for a family of k sources (a new observation
  beside a centre estimated from k: the prediction-interval factor of a normal sample);
- a point outside the family's measured range of batch, context or model size widens by `OUTSIDE_WIDEN`
  ("outside the measured range: widened");
- no half-width is below `MIN_HALF_WIDTH` (what one box varies run to run and build to build).
`tokenlane calibrate` adds a family for one hardware id from the user's own rows, which is used first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.memory import count_params
from tokenlane.catalog.models import ErrorFamily, ErrorMetric, ErrorRegime, HeldOutError, Model, ModelShape

COVERAGE = 0.80
"""The share of measurements an interval is meant to hold (its ends are the 10th and 90th percentiles)."""
MIN_ROWS = 6
MIN_SOURCES = 2
"""A family is used on its own when it has at least this many rows from this many sources; else its parent."""
OWN_MIN_ROWS = 3
"""A calibrated box's own family is used from this many rows (one source: the user)."""
MIN_HALF_WIDTH = math.log(1.08)
"""Narrowest half-width, ln units: 8%, the spread of one model on one box between llama.cpp builds and runs in the
public rows (e.g. ggml-org/llama.cpp discussion 4167's repeated entries for one chip)."""
OUTSIDE_WIDEN = 1.5
"""Factor on an interval's half-widths for a point outside its family's measured batch, context or model size
(assumption: no row measures how the error grows there; the validation's coverage check is what holds it)."""
OUTSIDE_MARGIN = 2.0
"""A point is inside the measured range up to this factor beyond the largest (or below the smallest) row."""


def kernel_family(engine_id: str) -> str:
    """The engine whose kernels run: Ollama runs llama.cpp's (its docs: llama.cpp underneath)."""
    return "llama.cpp" if engine_id == "ollama" else engine_id


def hardware_class(dep: Deployment) -> str:
    """vendor-memory kind of the deployment's device, e.g. nvidia-hbm."""
    return f"{dep.hardware.vendor}-{dep.hardware.memory_kind}"


def model_shape(model: Model) -> ModelShape:
    """hybrid (linear-attention layers), moe, or dense."""
    if model.linear_attention is not None:
        return "hybrid"
    return "moe" if model.moe is not None else "dense"


def regime_of(batch: int) -> ErrorRegime:
    return "single" if batch <= 1 else "batched"


def error_row(dep: Deployment, speed_ratio: float, *, source: str, batch: int, context: int) -> HeldOutError:
    """One measurement of `dep` as a prediction error: `speed_ratio` = measured speed / predicted speed (for a time,
    predicted / measured), stored as its log to 4 decimals with the model's shape and size."""
    return HeldOutError(
        log_ratio=round(math.log(speed_ratio), 4),
        source=source,
        shape=model_shape(dep.model),
        batch=batch,
        context=context,
        params_b=round(count_params(dep.model).total / 1e9, 1),
    )


@dataclass(frozen=True)
class Tagged:
    """A row with its family's keys."""

    engine: str
    hardware_class: str
    hardware: str | None
    metric: ErrorMetric
    regime: ErrorRegime
    row: HeldOutError

    @property
    def shape(self) -> ModelShape:
        return self.row.shape


@dataclass(frozen=True)
class SpeedInterval:
    """The 80% interval of a speed, as factors on the prediction (low <= 1 <= high usually; both below 1 when the
    family runs slower than modelled)."""

    low: float
    high: float
    family: str
    """Which rows it rests on, in words."""
    rows: int
    sources: int
    widened: str = ""
    """Why it was widened beyond its family's spread ("" if not)."""

    def speed(self, value: float) -> list[float]:
        """[low, high] of a speed (tok/s) predicted at `value`."""
        return [value * self.low, value * self.high]

    def time(self, value: float) -> list[float]:
        """[low, high] of a time (TTFT) predicted at `value`: a slower box takes longer."""
        return [value / self.high, value / self.low]

    @property
    def words(self) -> str:
        """'llama.cpp, decode, one stream, moe models (33 rows, 4 sources)', and why it was widened."""
        return f"{self.family} ({self.rows} rows, {self.sources} sources)" + (f"; {self.widened}" if self.widened else "")


def tagged_rows(families: Iterable[ErrorFamily]) -> list[Tagged]:
    """Every row of the catalog's families with its keys."""
    return [Tagged(f.engine, f.hardware_class, f.hardware, f.metric, f.regime, row) for f in families for row in f.rows]


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float:
    """The `q` quantile of `values` with `weights` (linear between the midpoints of each value's weight)."""
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(w for _, w in pairs)
    cum = 0.0
    points: list[tuple[float, float]] = []
    for v, w in pairs:
        points.append(((cum + w / 2) / total, v))
        cum += w
    if q <= points[0][0]:
        return points[0][1]
    for (p0, v0), (p1, v1) in itertools.pairwise(points):
        if q <= p1:
            return v0 + (v1 - v0) * (q - p0) / (p1 - p0)
    return points[-1][1]


LEVELS: tuple[tuple[str, ...], ...] = (
    ("engine", "hardware_class", "metric", "regime", "shape"),
    ("engine", "hardware_class", "metric", "regime"),
    ("engine", "metric", "regime", "shape"),
    ("hardware_class", "metric", "regime"),
    ("metric", "regime", "shape"),
    ("metric", "regime"),
    ("metric",),
)
"""The families a point may rest on, most specific first: the keys a row must share with it (after the user's own
rows for the box, which come first)."""


def _words(point: Point, keys: tuple[str, ...]) -> str:
    """A family in words: 'llama.cpp on nvidia-unified, decode, one stream, moe models'."""
    engine = point.engine if "engine" in keys else "any engine"
    where = f" on {point.hardware_class}" if "hardware_class" in keys else ""
    regime = "" if "regime" not in keys else (", one stream" if point.regime == "single" else ", several sequences")
    shape = f", {point.shape} models" if "shape" in keys else ""
    return f"{engine}{where}, {point.metric}{regime}{shape}"


def _outside(rows: list[HeldOutError], batch: int, context: int, params_b: float) -> list[str]:
    """What of the point lies outside the rows' measured range (with `OUTSIDE_MARGIN`)."""
    out = []
    if batch > OUTSIDE_MARGIN * max(r.batch for r in rows):
        out.append(f"batch {batch}")
    if context > OUTSIDE_MARGIN * max(r.context for r in rows):
        out.append(f"context {context:,}")
    sizes = [r.params_b for r in rows]
    if not min(sizes) / OUTSIDE_MARGIN <= params_b <= max(sizes) * OUTSIDE_MARGIN:
        out.append(f"a {params_b:.0f}B model")
    return out


def interval_from(rows: list[HeldOutError], family: str, *, batch: int, context: int, params_b: float) -> SpeedInterval:
    """The interval of a point from its family's rows (see the module docstring)."""
    sources: dict[str, int] = {}
    for r in rows:
        sources[r.source] = sources.get(r.source, 0) + 1
    values = [r.log_ratio for r in rows]
    weights = [1.0 / sources[r.source] for r in rows]
    tail = (1 - COVERAGE) / 2
    centre = weighted_quantile(values, weights, 0.5)
    widen = math.sqrt(1 + 1 / len(sources))
    below = max((centre - weighted_quantile(values, weights, tail)) * widen, MIN_HALF_WIDTH)
    above = max((weighted_quantile(values, weights, 1 - tail) - centre) * widen, MIN_HALF_WIDTH)
    outside = _outside(rows, batch, context, params_b)
    widened = ""
    if outside:
        below, above = below * OUTSIDE_WIDEN, above * OUTSIDE_WIDEN
        widened = f"outside the measured range ({', '.join(outside)}): widened"
    return SpeedInterval(math.exp(centre - below), math.exp(centre + above), family, len(rows), len(sources), widened)


@dataclass(frozen=True)
class Point:
    """What a prediction is of: the keys its family is found by, and where it lies."""

    engine: str
    hardware_class: str
    hardware: str
    metric: ErrorMetric
    regime: ErrorRegime
    shape: ModelShape
    batch: int
    context: int
    params_b: float


def point_of(dep: Deployment, metric: ErrorMetric, *, batch: int, context: int) -> Point:
    """The point of `dep`'s `metric` at `batch` sequences and `context` tokens."""
    params_b = count_params(dep.model).total / 1e9
    engine = kernel_family(dep.engine.id)
    return Point(engine, hardware_class(dep), dep.hardware.id, metric, regime_of(batch), model_shape(dep.model), batch, context, params_b)


def interval_among(tagged: Sequence[Tagged], point: Point) -> SpeedInterval | None:
    """The interval of `point` from the most specific family of `tagged` with enough rows; None if none has."""
    own = [t.row for t in tagged if t.hardware == point.hardware and t.engine == point.engine and t.metric == point.metric]
    if len(own) >= OWN_MIN_ROWS:
        words = f"your own {point.metric} rows on this {point.hardware} ({point.engine})"
        return interval_from(own, words, batch=point.batch, context=point.context, params_b=point.params_b)
    shared = [t for t in tagged if t.hardware is None]
    for keys in LEVELS:
        rows = [t.row for t in shared if all(getattr(t, k) == getattr(point, k) for k in keys)]
        if len(rows) >= MIN_ROWS and len({r.source for r in rows}) >= MIN_SOURCES:
            return interval_from(rows, _words(point, keys), batch=point.batch, context=point.context, params_b=point.params_b)
    return None


def prediction_interval(
    families: Iterable[ErrorFamily], dep: Deployment, metric: ErrorMetric, *, batch: int, context: int
) -> SpeedInterval | None:
    """The 80% interval of `dep`'s `metric` speed at `batch` sequences and `context` tokens; None when the catalog
    holds no rows for the metric at all."""
    return interval_among(tagged_rows(families), point_of(dep, metric, batch=batch, context=context))
