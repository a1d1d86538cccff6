"""The simulator against closed-form answers: the capacity model at steady state, and M/G/1 queueing."""

from __future__ import annotations

import numpy as np
import pytest

from tokenlane import build_deployment, builtin_catalog, decode_load, step_seconds
from tokenlane.capacity import kv_cache
from tokenlane.scenario import BatchJob, TokenDistribution, Workload
from tokenlane.simulate import simulate_day
from tokenlane.simulate.entities import Seq
from tokenlane.simulate.log import DiscardLog
from tokenlane.simulate.replica import Replica
from tokenlane.simulate.schedulers import scheduler_for

CATALOG = builtin_catalog()


@pytest.mark.parametrize(
    ("hardware", "model", "quant", "engine", "users"),
    [
        ("h100-sxm", "llama-3.1-8b", "bf16", "vllm", 16),
        ("ryzen-ai-max-395-128gb", "qwen3-30b-a3b", "q4_k_m", "llama.cpp", 4),
        ("h200", "gpt-oss-120b", "mxfp4", "sglang", 32),
    ],
)
def test_always_busy_users_get_the_capacity_models_speed(hardware: str, model: str, quant: str, engine: str, users: int) -> None:
    dep = build_deployment(CATALOG, hardware=hardware, model=model, quant=quant, engine=engine)
    prompt, output = 16, 1000
    workload = Workload(
        users=users,
        active_hours=0.25,
        think_time_s=0,
        prompt_tokens=TokenDistribution(mean=prompt),
        output_tokens=TokenDistribution(mean=output),
    )
    result = simulate_day(dep, workload, seed=3)
    expected = 1.0 / step_seconds(dep, decode_load(dep, users, prompt + output / 2))
    assert result.per_user_tok_s.p50 == pytest.approx(expected, rel=0.03)


def test_serial_engine_matches_pollaczek_khinchine() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="q8_0", engine="ollama")
    out = TokenDistribution(values=[20, 60, 150, 300], weights=[4, 3, 2, 1])
    base = Workload(users=1, active_hours=12, arrival="poisson", prompt_tokens=TokenDistribution(mean=64), output_tokens=out)
    s1, s2 = _service_moments(dep, base, out)
    lam = 0.5 / s1  # utilisation 0.5
    workload = base.model_copy(update={"requests_per_user_hour": lam * 3600})
    result = simulate_day(dep, workload, seed=7)
    assert result.requests > 30000
    lam_seen = result.requests / (workload.active_hours * 3600)
    pk_wait = lam_seen * s2 / (2 * (1 - lam_seen * s1))  # Pollaczek-Khinchine mean wait in queue, M/G/1
    assert result.queue_wait_s.mean == pytest.approx(pk_wait, rel=0.05)


def _service_moments(dep, workload: Workload, out: TokenDistribution) -> tuple[float, float]:
    """E[S] and E[S^2] of the service time per output length, from the capacity model's prefill and decode steps."""
    from tokenlane import prefill_seconds

    values = np.asarray(out.values, dtype=float)
    weights = np.asarray(out.weights, dtype=float) / sum(out.weights)
    prompt = int(workload.prompt_tokens.expected)
    times = []
    for n in out.values:
        t = prefill_seconds(dep, prompt)
        t += sum(step_seconds(dep, decode_load(dep, 1, prompt + j)) for j in range(n - 1))
        times.append(t)
    times_a = np.asarray(times)
    assert len(times_a) == len(values)
    return float(weights @ times_a), float(weights @ times_a**2)


def test_same_seed_same_numbers() -> None:
    dep = build_deployment(CATALOG, hardware="dgx-spark", model="gpt-oss-20b", quant="mxfp4-gguf", engine="llama.cpp")
    workload = Workload(users=30, active_hours=1)
    assert simulate_day(dep, workload, seed=5) == simulate_day(dep, workload, seed=5)
    assert simulate_day(dep, workload, seed=5) != simulate_day(dep, workload, seed=6)


def test_overload_still_finishes_and_misses_the_slo() -> None:
    dep = build_deployment(CATALOG, hardware="ryzen-ai-max-395-128gb", model="qwen3-235b-a22b", quant="ud-q3_k_xl", engine="llama.cpp")
    workload = Workload(users=200, active_hours=1)
    result = simulate_day(dep, workload, seed=1)
    assert not result.meets_slo
    assert result.ttft_s.p95 > 60
    assert result.completed + result.unfinished + result.rejected >= result.requests


def test_batch_job_reports_completion_against_its_window() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="fp8", engine="vllm")
    workload = Workload.model_validate(
        {
            "users": 5,
            "active_hours": 1,
            "batch_jobs": [{"name": "nightly", "requests": 2000, "prompt_tokens": 800, "output_tokens": 20, "window_hours": 8}],
        }
    )
    job = simulate_day(dep, workload, seed=2).batch_jobs[0]
    assert job.completed == 2000 and job.met_window and 0 < job.completion_hours < 1


@pytest.mark.parametrize("engine", ["sglang", "vllm"])
def test_a_hybrid_model_s_linear_attention_state_counts_against_the_kv_cache(engine: str) -> None:
    """Qwen3.5-27B keeps a fixed linear-attention state per sequence (1,197 full-attention slots in FP8 on an H100)
    besides its full-attention KV. A KV-bound batch of 4,000-token prompts runs no more sequences than the cache holds
    with their states (126 on SGLang, 131 on vLLM), and fills it; with the states left out, 164 and 168 ran."""
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="qwen3.5-27b", quant="fp8", engine=engine)
    kv = kv_cache(dep)
    assert kv.state_tokens > 1000
    job = BatchJob(name="long", requests=3000, prompt_tokens=4000, output_tokens=200, window_hours=8)
    day = simulate_day(dep, Workload(users=1, requests_per_user_hour=0, active_hours=1, batch_jobs=[job]))
    held = kv.capacity_tokens // int(kv.tokens_held(4001))
    assert held < kv.running_cap  # the cache, not the engine's cap, is what binds
    assert 0.9 * held <= day.peak_concurrency <= held


@pytest.mark.parametrize(("engine", "model"), [("vllm", "llama-3.1-8b"), ("vllm", "qwen3.5-27b"), ("tensorrt-llm", "llama-3.1-8b")])
def test_the_kv_a_replica_counts_is_what_each_decoder_holds(engine: str, model: str) -> None:
    """The exact KV a replica's decoders hold, kept as running counts (blocks and residues) as decoders join and
    leave, equals KvCache.tokens_held summed over them at any step ahead (16- and 32-token blocks, a model with a
    linear-attention state)."""
    dep = build_deployment(CATALOG, hardware="h100-sxm", model=model, quant="fp8", engine=engine)
    replica = Replica(dep, scheduler_for(dep), DiscardLog())
    kv = replica.kv
    rng = np.random.default_rng(7)
    joined: list[Seq] = []
    for step in range(300):
        if joined and (rng.random() < 0.4 or len(joined) >= replica.cap):
            replica._remove_running(joined.pop(int(rng.integers(len(joined)))))
        else:
            seq = Seq(step, prompt=int(rng.integers(1, 5000)), output=100, cached=0, arrival_s=0.0, job=-1)
            replica.running[seq] = None
            replica._running_by_job[-1] = replica._running_by_job.get(-1, 0) + 1
            replica._join_decoders(seq)
            joined.append(seq)
        replica.v += int(rng.integers(0, 40))
        ahead = int(rng.integers(0, 20))
        held = sum(int(kv.tokens_held(s.ctx_join + replica.v + ahead - s.join_v)) for s in joined)
        assert replica._kv_used(exact=True, ahead=ahead) == held
