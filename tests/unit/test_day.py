"""The one simulated day: every request made once and accounted for, events in the documented order, rejections as
outcomes, closed and open loops billed alike, one home for "how many sequences fit", bulk = exact."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tokenlane import ApiServing, build_deployment, builtin_catalog, max_concurrent_sequences
from tokenlane.capacity import kv_cache
from tokenlane.cost import api_tokens, price_requests
from tokenlane.scenario import PRICES_AT_DEFAULT, BatchJob, CustomPrice, Option, TokenDistribution, Workload
from tokenlane.simulate import OUTCOMES, SCHEDULERS, simulate_day
from tokenlane.simulate.run import water_fill

CATALOG = builtin_catalog()
SPARK = build_deployment(CATALOG, hardware="dgx-spark", model="qwen3-30b-a3b", quant="q8_0", engine="llama.cpp")


def test_closed_loop_user_carries_on_after_a_rejection() -> None:
    """Multi-turn contexts outgrow a llama.cpp slot: the request is rejected with its cause, the conversation starts
    over and the user keeps sending requests until the day ends."""
    dep = build_deployment(CATALOG, hardware="dgx-spark", model="qwen3-30b-a3b", quant="q8_0", engine="llama.cpp", context_tokens=16384)
    workload = Workload(
        users=2,
        active_hours=2,
        think_time_s=30,
        prompt_tokens=TokenDistribution(mean=1500),
        output_tokens=TokenDistribution(mean=300),
        turns_per_session=10,
    )
    r = simulate_day(dep, workload, seed=1)
    assert r.rejected_by_reason.get("rejected_context", 0) > 0
    log = r.log
    assert log is not None
    first_rejection = float(log.arrival_s[log.outcome == OUTCOMES.index("rejected_context")].min())
    assert np.sum(log.arrival_s > first_rejection) > 10
    assert float(log.arrival_s.max()) > 0.9 * workload.active_hours * 3600


def test_every_request_and_token_is_accounted_for() -> None:
    dep = build_deployment(CATALOG, hardware="ryzen-ai-max-395-128gb", model="qwen3-235b-a22b", quant="ud-q3_k_xl", engine="llama.cpp")
    workload = Workload(
        users=40,
        active_hours=1,
        prompt_tokens=TokenDistribution(mean=3000, p90=7000),
        turns_per_session=3,
        batch_jobs=[BatchJob(name="b", requests=50, prompt_tokens=900, output_tokens=40, window_hours=1, start_hour=0.5)],
    )
    r = simulate_day(dep, workload, seed=4)
    log = r.log
    assert log is not None
    counts = log.counts()
    assert sum(counts.values()) == len(log) == r.requests + r.batch_requests
    served = log.served
    rejected = np.isin(log.outcome, [OUTCOMES.index(n) for n in OUTCOMES if n.startswith("rejected")])
    unfinished = log.outcome == OUTCOMES.index("unfinished")
    assert np.all(served | rejected | unfinished)
    assert np.all(log.generated_tokens[rejected] == 0)
    assert np.all(
        log.generated_tokens[log.outcome == OUTCOMES.index("served")] == log.output_tokens[log.outcome == OUTCOMES.index("served")]
    )
    assert np.all(log.generated_tokens <= log.output_tokens)
    assert r.output_tokens == int(log.generated_tokens[served].sum())
    assert r.unfinished == counts["unfinished"] and r.rejected == sum(r.rejected_by_reason.values())


def test_arrivals_at_one_instant_are_served_in_the_documented_order() -> None:
    """Users who all start at t = 0 are routed before a batch job submitted at t = 0 (arrivals before batch jobs),
    and, on a one-at-a-time engine, in user order."""
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="q8_0", engine="ollama")
    workload = Workload(
        users=3,
        active_hours=0.2,
        think_time_s=0,
        prompt_tokens=TokenDistribution(mean=100),
        output_tokens=TokenDistribution(mean=20),
        batch_jobs=[BatchJob(name="b", requests=5, prompt_tokens=100, output_tokens=20, window_hours=1, start_hour=0)],
    )
    log = simulate_day(dep, workload, seed=0).log
    assert log is not None
    first_round = np.flatnonzero(log.job < 0)[:3]
    assert log.user[first_round].tolist() == [0, 1, 2]
    assert np.all(np.diff(log.admitted_s[first_round]) > 0)
    assert log.admitted_s[first_round].max() < log.admitted_s[log.job >= 0].min()


@pytest.mark.parametrize("outstanding", [[0], [3, 0, 1], [5, 5, 5, 5], [0, 10, 2, 7]])
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_water_fill_is_what_one_routing_decision_at_a_time_gives(outstanding: list[int], n: int) -> None:
    seq = list(outstanding)
    for _ in range(n):
        seq[min(range(len(seq)), key=lambda k: seq[k])] += 1
    assert [o + s for o, s in zip(outstanding, water_fill(outstanding, n), strict=True)] == seq


def test_closed_and_open_loop_with_the_same_rate_bill_within_five_percent() -> None:
    """A closed-loop user sends one request per (think time + response time); an open-loop user at that rate makes the
    same day, so the API bills agree."""
    api = ApiServing(ttft_s=1.8, tok_s=63.0)
    prompt, output = TokenDistribution(mean=1000, p90=2000), TokenDistribution(mean=300)
    think = 300.0
    cycle_s = think + api.ttft_s + (300 - 1) / api.tok_s
    closed = Workload(users=200, active_hours=8, think_time_s=think, prompt_tokens=prompt, output_tokens=output)
    opened = closed.model_copy(update={"think_time_s": None, "arrival": "poisson", "requests_per_user_hour": 3600 / cycle_s})
    option = Option(name="api", kind="api", model="m", price=CustomPrice(input_usd_per_mtok=3, output_usd_per_mtok=15))
    bills = []
    for workload in (closed, opened):
        log = simulate_day(api, workload, seed=2).log
        assert log is not None
        bills.append(price_requests(option, api_tokens(log, caching=True), prices_at=PRICES_AT_DEFAULT).total_usd)
    assert bills[0] == pytest.approx(bills[1], rel=0.05)


def test_how_many_sequences_fit_has_one_home() -> None:
    """gpt-oss-120b on one H100 (sliding-window layers, 16-token blocks): the capacity report, the KV cache and the
    simulator agree on how many 1,900-token sequences run together."""
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="gpt-oss-120b", quant="mxfp4", engine="vllm")
    fit = kv_cache(dep).max_sequences(1900)
    assert max_concurrent_sequences(dep, 1900) == fit
    workload = Workload(
        users=2 * fit,
        active_hours=0.1,
        think_time_s=0,
        prompt_tokens=TokenDistribution(mean=1400),
        output_tokens=TokenDistribution(mean=500),
    )
    peak = simulate_day(dep, workload, seed=0).peak_concurrency
    assert fit <= peak <= kv_cache(dep).max_sequences(1400 + 1)


def test_interactive_first_policy_shields_people_from_a_batch_job() -> None:
    assert {"continuous", "slots", "serial", "priority"} <= set(SCHEDULERS)
    dep = build_deployment(CATALOG, hardware="rtx-pro-6000", model="qwen3-30b-a3b", quant="fp8", engine="vllm")
    workload = Workload(
        users=30,
        active_hours=1,
        requests_per_user_hour=30,
        batch_jobs=[BatchJob(name="b", requests=20000, prompt_tokens=3000, output_tokens=50, window_hours=8, start_hour=0)],
    )
    fcfs = simulate_day(dep, workload, seed=1)
    first = simulate_day(dep, workload, seed=1, scheduler="priority")
    assert first.ttft_s.p95 is not None and fcfs.ttft_s.p95 is not None
    assert first.ttft_s.p95 < fcfs.ttft_s.p95 / 2
    assert first.batch_jobs[0].completed == fcfs.batch_jobs[0].completed == 20000


def test_deployment_hash_survives_another_process() -> None:
    """String hashes differ between processes: an unpickled Deployment must hash like one built there."""
    code = (
        "import pickle, sys\n"
        "from tokenlane import build_deployment, builtin_catalog\n"
        "dep = pickle.loads(sys.stdin.buffer.read())\n"
        "fresh = build_deployment(builtin_catalog(), hardware='dgx-spark', model='qwen3-30b-a3b', quant='q8_0', engine='llama.cpp')\n"
        "assert hash(dep) == hash(fresh) and {fresh: 1}[dep] == 1\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(SPARK), env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
