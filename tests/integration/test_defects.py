"""Defects found from outside, each pinned: people cost without a step between machines, the hybrid's local part sized
for what stays local, sensitive batch work, batch windows as deadlines, break-even that agrees with carrying the
load, limits on a scenario's values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog, load_scenario, plan_scenario
from tokenlane.cost.fleet import carries, size_fleet
from tokenlane.cost.tco import hardware_units
from tokenlane.simulate import BatchJobResult

CATALOG = builtin_catalog()

HOSPITAL = """name: hospital, 80 users, on premises
workload: {users: 80, active_hours: 2, think_time_s: 6, prompt_tokens: {mean: 3000, p90: 7000}, output_tokens: {mean: 350, p90: 800},
           shared_prefix_tokens: 1500, slo: {min_tok_s_per_user: 10, max_ttft_s: 4, percentile: 90}}
constraints: {data_residency: on_prem}
options:
  - {name: h100-half-node, kind: self_host, hardware: h100-sxm-8x, gpus: 4, model: gpt-oss-120b, quant: mxfp4, engine: vllm}
  - {name: pro6000-pair, kind: self_host, hardware: rtx-pro-6000, gpus: 2, model: gpt-oss-120b, quant: mxfp4, engine: vllm}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_two_workstation_pairs_are_not_a_rack_and_the_cheaper_pair_wins(tmp_path: Path) -> None:
    """The 80-user hospital: a 2-GPU workstation replica counted as two units, so 'a rack' (0.5 FTE), against the
    half-node's one server (0.25), and the H100 half-node won on people cost alone."""
    plan = plan_scenario(load_scenario(_write(tmp_path, HOSPITAL)), CATALOG, workers=1)
    pair = next(o for o in plan.options if o.name == "pro6000-pair")
    half = next(o for o in plan.options if o.name == "h100-half-node")
    assert pair.units == 2 and pair.people_fte < half.people_fte
    assert pair.people_fte == pytest.approx(0.05 + 0.01 * 1)  # the desk-class stack and one workstation
    assert plan.verdict.option == "pro6000-pair"
    assert not any(r.startswith("People cost decides") for r in plan.verdict.reasons)


SENSITIVE_BATCH = """name: claims team with a sensitive nightly batch
workload:
  users: 60
  active_hours: 9
  requests_per_user_hour: 6
  prompt_tokens: {mean: 1500, p90: 4000}
  output_tokens: {mean: 400, p90: 900}
  batch_jobs:
    - {name: nightly-claims, requests: 4000, prompt_tokens: 2000, output_tokens: 200, window_hours: 8, sensitive: true}
constraints: {data_residency: none, sensitive_residency: on_prem}
options:
  - {name: box, kind: self_host, hardware: h100-sxm, gpus: 4, model: llama-3.3-70b, quant: fp8, engine: vllm, count: 2}
  - {name: mini, kind: api, provider: openai, model: gpt-5.4-mini}
"""


def test_sensitive_batch_work_lands_on_a_hybrid_whose_local_part_is_sized_for_the_batch(tmp_path: Path) -> None:
    plan = plan_scenario(load_scenario(_write(tmp_path, SENSITIVE_BATCH)), CATALOG, workers=1)
    mini = next(o for o in plan.options if o.name == "mini")
    assert not mini.eligible and not mini.sensitive_ok and mini.eligible_for_rest
    assert any("sensitive work may not run there" in i for i in mini.issues)
    assert plan.verdict.recommendation == "hybrid" and plan.verdict.option == "box"
    split = next(s for s in plan.hybrid if s.local == "box" and s.api == "mini")
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.3-70b", quant="fp8", engine="vllm", gpus=4)
    assert split.local_units == hardware_units(dep, 1)  # one replica carries 4,000 documents in 8 h; count: 2 is for all traffic
    assert split.local_carries


def test_a_batch_window_is_a_deadline_sizing_keeps_going_while_unfinished_jobs_progress() -> None:
    """Two fleets that both leave a big job unfinished by the end of the day both 'take' infinitely long: sizing must
    not read that as 'more replicas stopped helping' while the larger fleet served more of it."""
    from tests.unit.test_fleet_sizing import day_with_job

    def day(replicas: int):
        done = min(5_000_000, replicas * 1_000_000)
        hours = math.inf if done < 5_000_000 else 8.0 * 5 / replicas
        return day_with_job(
            BatchJobResult(
                name="docs", requests=5_000_000, completed=done, completion_hours=hours, window_hours=8.0, met_window=hours <= 8.0
            )
        )

    found = size_fleet(day, min_replicas=1, max_replicas=64)
    assert found.passes and found.value == 5 and carries(day(5)) and not carries(day(4))


def test_a_job_past_its_window_is_said_so(tmp_path: Path) -> None:
    text = """name: late
workload: {users: 1, active_hours: 1, requests_per_user_hour: 0,
           batch_jobs: [{name: nightly-docs, requests: 20000, prompt_tokens: 1200, output_tokens: 80, window_hours: 0.05}]}
options:
  - {name: box, kind: self_host, hardware: rtx-4090, model: llama-3.1-8b, quant: q4_k_m, engine: llama.cpp, max_units: 1}
  - {name: mini, kind: api, provider: openai, model: gpt-5.4-mini, batch_api: true}
"""
    plan = plan_scenario(load_scenario(_write(tmp_path, text)), CATALOG, workers=1)
    box = next(o for o in plan.options if o.name == "box")
    assert not box.meets_slo and not box.eligible
    said = " ".join(plan.verdict.reasons)
    assert "past its 0.05 h window" in said or "did not finish" in said
    assert "finished in" not in said or "past its" in said
    assert plan.verdict.option != "box"


def test_break_even_is_not_reachable_for_an_option_that_misses_the_slo_at_any_size(tmp_path: Path) -> None:
    text = """name: slow box
workload: {users: 5, active_hours: 1, prompt_tokens: 60000, output_tokens: 200, slo: {min_tok_s_per_user: 5, max_ttft_s: 2}}
options:
  - {name: box, kind: self_host, hardware: ryzen-ai-max-395-128gb, model: llama-3.3-70b, quant: q4_k_m, engine: llama.cpp, max_units: 4}
  - {name: mini, kind: api, provider: openai, model: gpt-5.4-mini}
"""
    plan = plan_scenario(load_scenario(_write(tmp_path, text)), CATALOG, workers=1)
    box = next(c for c in plan.cost.options if c.name == "box")
    assert not box.carries_load and "SLO out of reach at any fleet size" in box.note
    for be in plan.cost.breakeven:
        assert not be.reachable
        assert be.batch_only == (be.tokens_per_day is not None)
    claim = next(c for c in plan.claims if c.claim.startswith("box is cheaper than mini"))
    assert not claim.holds and ("batch work only" in claim.finding or "every volume" in claim.finding)


def test_context_above_the_models_own_limit_is_refused(tmp_path: Path) -> None:
    text = """name: limits
workload: {users: 1}
options:
  - {name: box, kind: self_host, hardware: h100-sxm, model: llama-3.1-8b, quant: fp8, context_tokens: 1000000000000}
"""
    assert_user_error(invoke("plan", str(_write(tmp_path, text)), "--no-report"), "options[box].context_tokens", "131,072")


def test_a_jurisdiction_as_data_location_points_to_processes_in(tmp_path: Path) -> None:
    text = """name: place
workload: {users: 1}
options:
  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-6, data_location: eu}
"""
    assert_user_error(invoke("plan", str(_write(tmp_path, text)), "--no-report"), "options[sonnet].data_location", "processes_in: eu")
