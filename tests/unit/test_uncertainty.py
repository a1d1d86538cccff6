"""Prediction intervals (`capacity.uncertainty`): quantiles by hand, the family a point rests on, widening, the
user's own rows first, the speed scale's one home, and coverage on held-out folds of the shipped error rows."""

from __future__ import annotations

import dataclasses
import math
import statistics

import pytest

from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity.roofline import decode_load, prefill_load, step_seconds
from tokenlane.capacity.uncertainty import (
    MIN_HALF_WIDTH,
    OUTSIDE_WIDEN,
    Point,
    Tagged,
    interval_among,
    interval_from,
    prediction_interval,
    tagged_rows,
    weighted_quantile,
)
from tokenlane.catalog.models import HeldOutError

CATALOG = builtin_catalog()


def _row(ratio: float, source: str, *, batch: int = 1, context: int = 1000, params_b: float = 8.0, shape: str = "dense") -> HeldOutError:
    return HeldOutError(log_ratio=math.log(ratio), source=source, shape=shape, batch=batch, context=context, params_b=params_b)  # type: ignore[arg-type]


def test_weighted_quantile_by_hand() -> None:
    # Equal weights on 1..4: the midpoints sit at 1/8, 3/8, 5/8, 7/8; the median is halfway between 2 and 3.
    assert weighted_quantile([4, 1, 3, 2], [1, 1, 1, 1], 0.5) == pytest.approx(2.5)
    assert weighted_quantile([1, 2, 3, 4], [1, 1, 1, 1], 0.25) == pytest.approx(1.5)
    assert weighted_quantile([1, 2, 3, 4], [1, 1, 1, 1], 0.05) == 1  # below the first midpoint: the smallest
    # A heavy value pulls the median onto itself.
    assert weighted_quantile([1, 2, 3], [1, 10, 1], 0.5) == pytest.approx(2.0)


def test_interval_by_hand_each_source_weighted_alike() -> None:
    """Source a has three rows at ln 0.8, b one at ln 1.2: weights 1/3 each and 1; the midpoints of the cumulative
    weight (total 2) are 1/12, 3/12, 5/12 for a's rows and 3/4 for b's. The median (q 0.5) lies between 5/12 and 3/4:
    ln0.8 + (ln1.2 - ln0.8) x (0.5 - 5/12) / (3/4 - 5/12) = ln0.8 + 0.25 x ln1.5; q 0.1 is below a's first midpoint
    (ln 0.8) and q 0.9 above b's (ln 1.2)."""
    rows = [_row(0.8, "a"), _row(0.8, "a"), _row(0.8, "a"), _row(1.2, "b")]
    iv = interval_from(rows, "test", batch=1, context=1000, params_b=8)
    centre = math.log(0.8) + 0.25 * math.log(1.5)
    q10, q90 = math.log(0.8), math.log(1.2)
    widen = math.sqrt(1 + 1 / 2)
    assert iv.low == pytest.approx(math.exp(centre - max((centre - q10) * widen, MIN_HALF_WIDTH)))
    assert iv.high == pytest.approx(math.exp(centre + max((q90 - centre) * widen, MIN_HALF_WIDTH)))
    assert (iv.rows, iv.sources, iv.widened) == (4, 2, "")
    assert iv.speed(10.0) == pytest.approx([10 * iv.low, 10 * iv.high])
    assert iv.time(100.0) == pytest.approx([100 / iv.high, 100 / iv.low])


def test_a_tight_family_keeps_the_floor_width() -> None:
    rows = [_row(1.0, s) for s in "abcdef"]
    iv = interval_from(rows, "test", batch=1, context=1000, params_b=8)
    assert iv.low == pytest.approx(math.exp(-MIN_HALF_WIDTH)) and iv.high == pytest.approx(math.exp(MIN_HALF_WIDTH))


def test_outside_the_measured_range_widens_and_says_so() -> None:
    rows = [_row(r, s, batch=4, context=4000, params_b=8) for r, s in zip((0.9, 0.95, 1.0, 1.05, 1.1, 1.0), "abcabc", strict=True)]
    inside = interval_from(rows, "test", batch=4, context=4000, params_b=8)
    outside = interval_from(rows, "test", batch=64, context=4000, params_b=8)
    assert not inside.widened and outside.widened == "outside the measured range (batch 64): widened"
    assert math.log(outside.high) == pytest.approx(math.log(inside.high) * OUTSIDE_WIDEN)
    assert math.log(outside.low) == pytest.approx(math.log(inside.low) * OUTSIDE_WIDEN)
    assert "a 400B model" in interval_from(rows, "t", batch=4, context=4000, params_b=400).widened


def _tag(engine: str, hw_class: str, row: HeldOutError, hardware: str | None = None) -> Tagged:
    return Tagged(engine, hw_class, hardware, "decode", "single", row)


def test_a_family_with_too_few_sources_borrows_its_parents_rows() -> None:
    point = Point("llama.cpp", "amd-unified", "ryzen-ai-max-395-128gb", "decode", "single", "dense", 1, 1000, 8.0)
    one_source = [_tag("llama.cpp", "amd-unified", _row(0.9, "a")) for _ in range(8)]
    elsewhere = [_tag("llama.cpp", "apple-unified", _row(1.1, s)) for s in "bcdefg"]
    iv = interval_among(one_source + elsewhere, point)
    assert iv is not None and iv.family == "llama.cpp, decode, one stream, dense models" and iv.sources == 7
    two_sources = [*one_source, _tag("llama.cpp", "amd-unified", _row(0.85, "z"))]
    iv = interval_among(two_sources + elsewhere, point)
    assert iv is not None and iv.family == "llama.cpp on amd-unified, decode, one stream, dense models" and iv.rows == 9


def test_the_users_own_rows_for_the_box_come_first() -> None:
    point = Point("llama.cpp", "amd-unified", "ryzen-ai-max-395-128gb", "decode", "single", "dense", 1, 1000, 8.0)
    shared = [_tag("llama.cpp", "amd-unified", _row(0.6 + 0.1 * i, s)) for i, s in enumerate("abcdef")]
    own = [_tag("llama.cpp", "amd-unified", _row(r, "me"), hardware="ryzen-ai-max-395-128gb") for r in (0.97, 1.0, 1.02)]
    wide = interval_among(shared, point)
    narrow = interval_among(shared + own, point)
    assert wide is not None and narrow is not None
    assert narrow.family.startswith("your own decode rows") and narrow.high - narrow.low < wide.high - wide.low
    other_box = dataclasses.replace(point, hardware="dgx-spark")
    assert interval_among(shared + own, other_box) == wide  # another box is not narrowed by them


def test_every_catalog_point_gets_an_interval_that_holds_the_prediction_or_says_the_family_is_biased() -> None:
    dep = build_deployment(CATALOG, hardware="dgx-spark", model="llama-3.1-8b", quant="q4_k_m", engine="llama.cpp")
    families = list(CATALOG.prediction_errors.values())
    for metric in ("decode", "prefill"):
        iv = prediction_interval(families, dep, metric, batch=1, context=2048)
        assert iv is not None and 0 < iv.low < iv.high and iv.rows >= 6 and iv.sources >= 2


def test_speed_scale_divides_every_step_time() -> None:
    """One home: a box k times as fast takes 1/k of the time on every kind of step (decode, a prefill chunk, tensor
    parallel with its all-reduces)."""
    for kwargs in ({"hardware": "dgx-spark", "engine": "llama.cpp"}, {"hardware": "h100-sxm", "engine": "vllm", "gpus": 2}):
        dep = build_deployment(CATALOG, model="qwen3-30b-a3b", quant="fp8" if kwargs["engine"] == "vllm" else "q4_k_m", **kwargs)  # type: ignore[arg-type]
        fast = dataclasses.replace(dep, speed_scale=2.5)
        for load in (decode_load(dep, 1, 2000), decode_load(dep, 16, 8000), prefill_load(dep, 512, 1000, samples=True)):
            assert step_seconds(fast, load) == pytest.approx(step_seconds(dep, load) / 2.5, rel=1e-12)


def _held_out(rows: list[Tagged]) -> list[tuple[Tagged, float, float]]:
    out = []
    for t in rows:
        r = t.row
        point = Point(t.engine, t.hardware_class, "-", t.metric, t.regime, r.shape, r.batch, r.context, r.params_b)
        iv = interval_among([o for o in rows if o.row.source != r.source], point)
        if iv is not None:
            out.append((t, iv.low, iv.high))
    return out


def test_intervals_cover_the_held_out_folds_of_the_shipped_rows() -> None:
    """Leave one source out over the catalog's own error rows: each row's interval is built without its source.
    At least 70% of one-stream decode rows fall inside it, with a median half-width of at most 35%; over every
    row, at least 70% (docs/capacity.md prints the table: `python benchmarks/validate_capacity.py`)."""
    rows = tagged_rows(CATALOG.prediction_errors.values())
    found = _held_out(rows)
    assert len(found) >= 0.9 * len(rows)

    def inside(items: list[tuple[Tagged, float, float]]) -> float:
        return sum(lo <= math.exp(t.row.log_ratio) <= hi for t, lo, hi in items) / len(items)

    single = [f for f in found if f[0].metric == "decode" and f[0].regime == "single"]
    assert len(single) >= 30
    assert inside(single) >= 0.70
    assert statistics.median((hi - lo) / 2 for _, lo, hi in single) <= 0.35
    assert inside(found) >= 0.70
