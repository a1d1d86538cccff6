"""A day sharded by replica is the day simulated in one process, request for request, on local processes and on
Ray; routers that read no replica's load assign as they say; a day past one process is refused with `--ray` named,
and with `--ray` refused only where it cannot be sharded, each refusal naming its line and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.errors import ScenarioError
from tokenlane.scenario import Workload, parse_scenario
from tokenlane.simulate import DayRuns
from tokenlane.simulate.routers import ROUTERS
from tokenlane.simulate.runs import local_shards
from tokenlane.simulate.shard import sharded_day

CATALOG = builtin_catalog()
DEP = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="fp8", engine="vllm")
BUSY = Workload(
    users=2400,
    requests_per_user_hour=60,
    active_hours=0.05,
    prompt_tokens={"mean": 1500, "p90": 4000},
    output_tokens={"mean": 300, "p90": 800},
    turns_per_session=3,
    shared_prefix_tokens=400,
    cache_hit_rate=0.6,
)
"""About 7,000 requests in 3 minutes on 3 replicas, overloaded (batches of over 100, queues of seconds), with multi-turn
sessions and a shared prefix (prefix-cache hits)."""


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_a_sharded_day_is_the_day_in_one_process(router: str) -> None:
    whole = simulate_day(DEP, BUSY, replicas=3, router=router, option="x", seed=3)
    assert whole.requests > 6000 and whole.peak_concurrency > 100 and whole.queue_wait_s.p95 > 1 and whole.cached_tokens > 0
    for workers in (1, 2):
        shards = local_shards(workers)
        split = sharded_day(DEP, BUSY, replicas=3, router=router, shards=shards, option="x", seed=3)
        assert split.model_dump() == whole.model_dump()
        assert split.log == whole.log


def test_a_stateless_router_differs_from_least_outstanding_but_assigns_as_it_says() -> None:
    least = simulate_day(DEP, BUSY, replicas=3, seed=3)
    robin = simulate_day(DEP, BUSY, replicas=3, seed=3, router="round_robin")
    assert least.log is not None and robin.log is not None
    assert np.array_equal(least.log.arrival_s, robin.log.arrival_s)  # the same requests, served differently
    assert not np.array_equal(least.log.finished_s, robin.log.finished_s)
    arrivals, users = np.arange(10), np.array([7, 7, 3, 0, 5, 7, 1, 2, 3, 9])
    assert ROUTERS["round_robin"].choose(4, arrivals, users).tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert ROUTERS["session"].choose(4, arrivals, users).tolist() == [3, 3, 3, 0, 1, 3, 1, 2, 3, 1]
    assert ROUTERS["session"].choose(4, 5, 7) == 3


SCENARIO = """name: sharding
workload: {{users: {users}, requests_per_user_hour: 40, active_hours: 0.5, prompt_tokens: 1500, output_tokens: 300{extra}}}
options:
  - {{name: api, kind: api, provider: openai, model: gpt-5.4-mini}}
  - {{name: fleet, kind: cloud_gpu, hardware: h100-sxm, model: llama-3.1-8b, quant: fp8, engine: vllm, count: 3{router}}}
"""


def _scenario(users: int = 120, router: str = ", router: round_robin", extra: str = "") -> str:
    return SCENARIO.format(users=users, router=router, extra=extra)


def test_day_runs_shard_only_the_days_that_can_be() -> None:
    calls: list[int] = []

    def counting(fn, items, shared):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        return local_shards(1)(fn, items, shared)

    sharded = DayRuns(parse_scenario(_scenario()), CATALOG, shards=counting)
    plain = DayRuns(parse_scenario(_scenario()), CATALOG)
    assert sharded.day("fleet").model_dump() == plain.day("fleet").model_dump()
    assert calls == [3]
    sharded.day("api")
    sharded.day("fleet", replicas=1)
    assert calls == [3]  # an API's day and one replica's are not sharded
    DayRuns(parse_scenario(_scenario(router="")), CATALOG, shards=counting).day("fleet")
    assert calls == [3]  # the least-outstanding router is not


def test_a_day_past_one_process_names_ray_and_what_keeps_it_from_shards() -> None:
    big = _scenario(users=200_000)  # 4,000,000 requests
    with pytest.raises(ScenarioError, match=r"line 2: workload: .*4,000,000 interactive .*--ray"):
        parse_scenario(big, "big.yaml")
    assert parse_scenario(big, "big.yaml", sharded=True).option("fleet").router == "round_robin"
    with pytest.raises(ScenarioError, match=r"line 5: options\[fleet\]\.router: .*least-outstanding router reads"):
        parse_scenario(_scenario(users=200_000, router=""), "big.yaml", sharded=True)
    batch = ", batch_jobs: [{name: n, requests: 10, prompt_tokens: 10, output_tokens: 10, window_hours: 1}]"
    with pytest.raises(ScenarioError, match=r"workload\.batch_jobs: .*spread over the replicas"):
        parse_scenario(_scenario(users=200_000, extra=batch), "big.yaml", sharded=True)
    with pytest.raises(ScenarioError, match="`router` applies to a fixed fleet"):
        parse_scenario(_scenario(router=", router: session, autoscale: {max_replicas: 4}").replace(", count: 3", ""))
    with pytest.raises(ScenarioError, match="`router` does not apply to an api option"):
        parse_scenario(_scenario().replace("gpt-5.4-mini}", "gpt-5.4-mini, router: session}"))


def test_simulate_on_ray_prints_the_day_in_one_process(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path = tmp_path / "s.yaml"
    path.write_text(_scenario(users=60))
    here = invoke("simulate", str(path), "--option", "fleet", "--json")
    assert here.exit_code == 0, here.stderr
    there = invoke("simulate", str(path), "--option", "fleet", "--json", "--ray", "local")
    assert there.exit_code == 0, there.stderr
    assert json.loads(there.stdout) == json.loads(here.stdout)
    assert_user_error(invoke("simulate", str(path), "--ray", "127.0.0.1:1"), "--ray", "cannot reach")
