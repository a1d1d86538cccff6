"""Search by bounds finds what an exhaustive search finds: the same pick and the same Pareto front on every example
(within narrow search bounds, a handful of configurations each, to keep the suite quick; a wider search of one example
checks the skipped ones, and `benchmarks/search_speed.py --bounds` compares a 17,608-configuration search), skipping
only configurations dominated on paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenlane import builtin_catalog, load_scenario
from tokenlane.catalog.for_scenario import catalog_for_scenario
from tokenlane.errors import InputError
from tokenlane.search import Bounds, SearchReport, load_results, run_search
from tokenlane.search.bounds import DOMINATED, axes

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
KINDS = ("self_host",)
"""Bought only, on every example (rented twins share their days and would double the search for no new case)."""
CATALOG = builtin_catalog()


def _both(path: Path, **bounds: object) -> tuple[SearchReport, SearchReport] | str:
    spec, catalog = catalog_for_scenario(load_scenario(path), [], path.parent)
    models = tuple(dict.fromkeys(o.model for o in spec.options if o.kind != "api" and o.model in catalog.models))[:1] or ("qwen3-8b",)
    b = Bounds(models=models, **bounds)  # type: ignore[arg-type]
    try:
        exhaustive = run_search(spec, catalog, b, backend="serial", exhaustive=True)
    except InputError as exc:
        with pytest.raises(InputError) as again:
            run_search(spec, catalog, b, backend="serial")
        assert again.value.message == exc.message
        return exc.message
    return exhaustive, run_search(spec, catalog, b, backend="serial")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_same_pick_and_front_on_every_example(path: Path) -> None:
    narrow = {"hardware": ("h100-sxm",), "quants": ("fp8", "bf16", "q4_k_m"), "engines": ("vllm", "llama.cpp")}
    found = _both(path, max_gpus=1, kinds=KINDS, **narrow)
    if isinstance(found, str):
        return  # the model fits nothing searched: both say so alike
    exhaustive, bounded = found
    assert (bounded.cheapest, bounded.cheapest_meeting_slo) == (exhaustive.cheapest, exhaustive.cheapest_meeting_slo)
    assert bounded.pareto == exhaustive.pareto
    assert bounded.configurations == exhaustive.configurations and bounded.simulated <= exhaustive.simulated


def test_skipped_configurations_are_dominated_by_what_was_simulated(tmp_path: Path) -> None:
    """On a wider search the walk skips some; each one's real day (simulated here) is beaten by the configuration its
    reason names, on every Pareto axis."""
    path = next(p for p in EXAMPLES if p.stem == "regulated-on-prem")
    spec, catalog = catalog_for_scenario(load_scenario(path), [], path.parent)
    bounds = Bounds(models=("qwen3-8b",), hardware=("rtx-4090", "dgx-spark", "h100-sxm"), max_gpus=2, quants=("fp8", "q4_k_m", "bf16"))
    full, walked = tmp_path / "full.jsonl", tmp_path / "walked.jsonl"
    exhaustive = run_search(spec, catalog, bounds, backend="serial", exhaustive=True, results_path=full)
    bounded = run_search(spec, catalog, bounds, backend="serial", results_path=walked)
    assert (bounded.cheapest, bounded.pareto) == (exhaustive.cheapest, exhaustive.pareto)
    real, seen = load_results(full), load_results(walked)
    skipped = [r for r in seen.values() if (r.reason or "").startswith(DOMINATED)]
    assert skipped and bounded.simulated < exhaustive.simulated
    for r in skipped:
        by = seen[r.reason.removeprefix(f"{DOMINATED} ").split(":")[0]]  # type: ignore[union-attr]
        mine = real[r.key]
        if mine.status in ("eligible", "ineligible"):
            assert all(x <= y for x, y in zip(axes(by), axes(mine), strict=True)), r.key
    resumed = run_search(spec, catalog, bounds, backend="serial", exhaustive=True, results_path=walked)
    assert resumed.pareto == exhaustive.pareto and resumed.simulated == exhaustive.simulated  # judged again when asked


def test_when_nothing_can_be_eligible_the_walk_still_skips_and_finds_the_same(tmp_path: Path) -> None:
    """Hard, varied work with no quality bar: every self-hosted configuration carries a quality risk whatever its day,
    so none is eligible and the pick is the cheapest meeting the SLO. The walk may skip what a simulated configuration
    beats on every axis (it can be neither pick); it finds the same pick and front as the exhaustive search."""
    spec = load_scenario(EXAMPLES[0].parents[1] / "src" / "tokenlane" / "scenarios" / "team-assistant.yaml")
    assert spec.workload.difficulty == "hard" and not spec.workload.has_quality_bar
    bounds = Bounds(
        models=("qwen3-235b-a22b-instruct-2507",),
        hardware=("a100-80gb", "mi325x"),
        max_gpus=2,
        kinds=("cloud_gpu",),
        quants=("int4-awq", "int4-gptq"),
        engines=("sglang", "vllm"),
    )
    exhaustive = run_search(spec, CATALOG, bounds, backend="serial", exhaustive=True)
    bounded = run_search(spec, CATALOG, bounds, backend="serial")
    assert exhaustive.cheapest is None and exhaustive.cheapest_meeting_slo is not None
    assert (bounded.cheapest, bounded.cheapest_meeting_slo, bounded.pareto) == (None, exhaustive.cheapest_meeting_slo, exhaustive.pareto)
    assert bounded.simulated < exhaustive.simulated
