"""Autoscaled rented fleets as a user meets them: bad `autoscale` input refused with one line, the spillover API billed
for exactly the requests it took, and an office-hours fleet priced for the hours it is held."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import builtin_catalog, load_scenario
from tokenlane.plan.days import price_scenario

OFFICE = """
name: office hours on rented 2xH100
workload:
  users: {users}
  active_hours: 9
  requests_per_user_hour: 6
  prompt_tokens: {{mean: 1500, p90: 4000}}
  output_tokens: {{mean: 400, p90: 900}}
  difficulty: narrow
  slo: {{min_tok_s_per_user: 15, max_ttft_s: 3, percentile: 95}}
options:
  - name: fixed
    kind: cloud_gpu
    hardware: h100-sxm
    gpus: 2
    model: llama-3.3-70b
    quant: fp8
  - name: scaled
    kind: cloud_gpu
    hardware: h100-sxm
    gpus: 2
    model: llama-3.3-70b
    quant: fp8
    autoscale: {autoscale}
  - name: api
    kind: api
    model: some-model
    price: {{input_usd_per_mtok: 3, output_usd_per_mtok: 15}}
"""


def _write(tmp_path: Path, *, users: int = 150, autoscale: str = "{min_replicas: 0}") -> Path:
    path = tmp_path / "office.yaml"
    path.write_text(OFFICE.format(users=users, autoscale=autoscale))
    return path


@pytest.mark.parametrize(
    ("autoscale", "needles"),
    [
        ("{min_replicas: 3, max_replicas: 2}", ["line 24", "options[scaled].autoscale", "min_replicas (3) is more than max_replicas (2)"]),
        ("{cold_start_s: -5}", ["options[scaled].autoscale.cold_start_s", "greater than or equal to 0"]),
        ("{spillover: fixed}", ["options[scaled].autoscale.spillover", "'fixed' names no api option", "api options: api"]),
        ("{spillover: nowhere}", ["options[scaled].autoscale.spillover", "'nowhere' names no api option"]),
        ("{policy: sometimes}", ["options[scaled].autoscale.policy"]),
        ("{schedule: [1, 2]}", ["`schedule` applies to policy: scheduled"]),
    ],
)
def test_bad_autoscale_input_exits_2_with_one_line(tmp_path: Path, autoscale: str, needles: list[str]) -> None:
    path = _write(tmp_path, autoscale=autoscale)
    assert_user_error(invoke("plan", str(path), "--no-report"), str(path), *needles)


def test_a_fixed_count_with_autoscale_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "count.yaml"
    path.write_text(OFFICE.format(users=10, autoscale="{min_replicas: 0}\n    count: 2"))
    assert_user_error(invoke("plan", str(path), "--no-report"), "options[scaled]", "`count` holds a fixed fleet")


def test_spillover_bills_the_api_for_exactly_the_requests_it_took(tmp_path: Path) -> None:
    """Scale from zero with spillover: the requests that came while no replica served went to the API, and the
    option's API line is their tokens at the API's prices (hand-checked: $3 and $15 per million tokens), every
    workday."""
    spec = load_scenario(_write(tmp_path, users=20, autoscale="{min_replicas: 0, spillover: api}"))
    report = price_scenario(spec, builtin_catalog(), workers=1)
    scaled = next(o for o in report.options if o.name == "scaled")
    assert scaled.simulation is not None and scaled.simulation.scaling is not None and scaled.breakdown is not None
    spilled = scaled.simulation.scaling.spilled_log
    assert spilled is not None and 0 < len(spilled) < scaled.simulation.requests
    assert not np.any(spilled.cached_tokens) and not np.any(spilled.cache_write_tokens)
    per_day = (3.0 * int(spilled.prompt_tokens.sum()) + 15.0 * int(spilled.output_tokens.sum())) / 1e6
    assert scaled.breakdown.api_usd == pytest.approx(per_day * spec.finance.workdays_per_month, rel=1e-9)
    fixed = next(o for o in report.options if o.name == "fixed")
    assert fixed.breakdown is not None and fixed.breakdown.api_usd == 0.0


def test_an_office_hours_fleet_scaled_to_the_day_costs_far_less_to_rent_and_meets_the_slo(tmp_path: Path) -> None:
    """150 office-hours users on rented 2xH100 replicas: the autoscaled fleet meets the SLO, with its cold starts
    counted and seen in TTFT, at no more than 0.6x the fixed fleet's rental (the fixed fleet is rented all day)."""
    spec = load_scenario(_write(tmp_path))
    report = price_scenario(spec, builtin_catalog(), workers=1)
    fixed, scaled = (next(o for o in report.options if o.name == n) for n in ("fixed", "scaled"))
    assert fixed.carries_load and scaled.carries_load
    assert fixed.breakdown is not None and scaled.breakdown is not None
    assert scaled.breakdown.rental_usd <= 0.6 * fixed.breakdown.rental_usd
    day = scaled.simulation
    assert day is not None and day.scaling is not None
    assert day.scaling.cold_starts >= 1 and day.scaling.waited_requests >= 1
    assert day.ttft_s.p99 is not None and day.e2e_s.p99 is not None
    log_ttft = day.ttft_histogram.edges[-1]
    assert log_ttft >= day.scaling.cold_start_s, "the requests that waited for a cold start show it in their TTFT"


def test_plan_names_a_scaled_fleet_in_its_verdict(tmp_path: Path) -> None:
    """Without an API in the running, the scaled fleet wins on cost and the verdict says it follows the day."""
    path = tmp_path / "no-api.yaml"
    path.write_text(OFFICE.format(users=150, autoscale="{min_replicas: 0}").split("  - name: api")[0])
    doc = invoke("plan", str(path), "--json", "--no-report").json()
    verdict = doc["verdict"]
    assert verdict["option"] == "scaled" and verdict["scaled"] is True
    assert any("scaled follows the day" in reason and "cold start" in reason for reason in verdict["reasons"])
    out = invoke("plan", str(path), "--no-report")
    assert "private cloud, scaled to the day — scaled" in out.stdout


def test_search_proposes_rented_fleets_scaled_to_the_day_when_asked(tmp_path: Path) -> None:
    """`--kinds cloud_gpu_scaled`: every rented configuration is proposed scaled to the day (an autoscale section
    with its defaults), keyed apart from the same GPUs rented all day; an unknown kind is refused."""
    from tokenlane.search import Bounds, enumerate_configs

    catalog = builtin_catalog()
    bounds = Bounds(models=("llama-3.3-70b",), hardware=("h100-sxm",), kinds=("cloud_gpu", "cloud_gpu_scaled"), quants=("fp8",))
    configs = list(enumerate_configs(catalog, bounds))
    scaled = [c for c in configs if c.scaled]
    assert scaled and len(scaled) == len(configs) - len(scaled)
    assert all(c.kind == "cloud_gpu" and c.key.endswith("cloud_gpu scaled") for c in scaled)
    assert all(c.option().autoscale is not None for c in scaled) and all(c.option().autoscale is None for c in configs if not c.scaled)
    assert len({c.key for c in configs}) == len(configs)
    path = _write(tmp_path)
    assert_user_error(invoke("search", str(path), "--kinds", "rented", "--no-report"), "--kinds", "cloud_gpu_scaled")
