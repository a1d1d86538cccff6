"""The capacity model's documented error bounds, guarded: the validation on the project's own public rows
(benchmarks/data, no ../shared needed) must keep every goal group's median error within the bound docs/capacity.md
states, so an accuracy regression fails CI instead of going unnoticed."""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def validation():
    spec = importlib.util.spec_from_file_location("validate_capacity", BENCHMARKS / "validate_capacity.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_every_goal_group_stays_within_its_documented_bound(validation) -> None:
    rows, skipped = validation.collect(validation.LOCAL)
    assert len(rows) > 150 and len(skipped) <= 2
    groups = validation.grouped(rows)
    checked = 0
    for name, group in sorted(groups.items()):
        bound = validation.goal_of(name)
        if bound is None or len(group) < 3:  # one or two rows make no median worth bounding
            continue
        median = statistics.median(r.ape for r in group)
        assert median <= bound, f"{name}: median {median:.1f}% over {len(group)} rows exceeds the documented {bound:g}%"
        checked += 1
    assert checked >= 6


def test_a_calibration_on_public_rows_of_one_model_transfers_to_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calibrate on rows the model did not generate: each model's public llama-bench rows on a box (benchmarks/data)
    fit the engine, and the fit is judged on the box's other models' rows only. Over every fit the median error stays
    within the calibration goal (8%, docs/capacity.md) and no more than 1.5 points worse than the catalog's values."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import calibration_transfer
    import validate_capacity

    results = calibration_transfer.transfer(calibration_transfer.boxes_of(validate_capacity.LOCAL))
    before = [e for _, _, b, _ in results for e in b]
    after = [e for _, _, _, a in results for e in a]
    assert len(results) >= 4 and len(after) >= 100
    assert statistics.median(after) <= 8.0
    assert statistics.median(after) <= statistics.median(before) + 1.5
