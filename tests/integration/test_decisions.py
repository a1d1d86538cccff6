"""The decision code against the simulator and against arithmetic done apart from it: a sized fleet passes and one
replica fewer fails on the simulated day; a hybrid split's API part is the API's price of the requests it is sent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from genai_prices import Usage, calc_price

from tokenlane import builtin_catalog, load_scenario, plan_scenario
from tokenlane.cost.api_bill import request_time
from tokenlane.cost.fleet import carries
from tokenlane.simulate import DayRuns

CATALOG = builtin_catalog()

SIZED = """name: a fleet to size
workload: {users: 120, active_hours: 1, requests_per_user_hour: 30, prompt_tokens: {mean: 1500, p90: 3000},
           output_tokens: {mean: 300, p90: 600}, slo: {min_tok_s_per_user: 25, max_ttft_s: 2}}
options:
  - {name: box, kind: self_host, hardware: rtx-4090, model: qwen3-8b, quant: q4_k_m, engine: llama.cpp, max_units: 16}
"""


def test_the_sized_fleet_passes_on_its_day_and_one_replica_fewer_fails(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SIZED)
    scenario = load_scenario(path)
    plan = plan_scenario(scenario, CATALOG, workers=1)
    box = next(o for o in plan.cost.options if o.name == "box")
    assert box.carries_load and box.replicas >= 2
    runs = DayRuns(scenario, CATALOG, keep_logs=False)
    assert carries(runs.day("box", replicas=box.replicas))
    assert not carries(runs.day("box", replicas=box.replicas - 1))


SPLIT = """name: a sensitive share
workload:
  users: 30
  active_hours: 1
  requests_per_user_hour: 12
  prompt_tokens: {mean: 1200, p90: 2500}
  output_tokens: {mean: 300, p90: 600}
  tasks:
    - {name: records, share: 0.3, sensitive: true}
    - {name: other, share: 0.7}
constraints: {data_residency: none, sensitive_residency: on_prem}
options:
  - {name: box, kind: self_host, hardware: rtx-4090, model: qwen3-8b, quant: q4_k_m, engine: llama.cpp}
  - {name: mini, kind: api, provider: openai, model: gpt-5-mini}
"""


def test_a_hybrid_splits_api_part_is_the_apis_price_of_the_rest(tmp_path: Path) -> None:
    """The API part by hand: each interactive request of the API's day priced by genai-prices directly, times the
    share that is not sensitive, times the workdays, plus the API's engineering."""
    path = tmp_path / "s.yaml"
    path.write_text(SPLIT)
    scenario = load_scenario(path)
    plan = plan_scenario(scenario, CATALOG, workers=1)
    split = next(s for s in plan.hybrid if s.local == "box" and s.api == "mini")
    log = next(o for o in plan.cost.options if o.name == "mini").simulation.log
    assert log is not None and log.cached_tokens.sum() == 0  # no shared prefix: no cache reads to price
    at = request_time(scenario.finance.prices_at)
    per_day = sum(
        float(
            calc_price(
                Usage(input_tokens=int(p), output_tokens=int(o)), "gpt-5-mini", provider_id="openai", genai_request_timestamp=at
            ).total_price
        )
        for p, o in zip(log.prompt_tokens[log.job < 0], log.output_tokens[log.job < 0], strict=True)
    )
    finance = scenario.finance
    by_hand = per_day * (1 - 0.3) * finance.workdays_per_month + finance.api_engineer_fte * finance.engineer_usd_per_year / 12
    assert split.api_usd_per_month == pytest.approx(by_hand, rel=1e-6)
    assert split.total_usd_per_month == pytest.approx(split.local_usd_per_month + split.api_usd_per_month)
    assert np.all(log.output_tokens > 0)
