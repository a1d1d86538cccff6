"""Disaggregated serving and expert parallelism: the KV transfer by hand, each pool's limits held in the day, a
layout with a free link and equal pools reducing to an aggregated replica, the all-to-all by hand, and the costs of
both pools."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import (
    Disaggregation,
    decode_load,
    kv_transfer_bytes,
    kv_transfer_s,
    layout_words,
    prefill_load,
    step_seconds,
)
from tokenlane.capacity.roofline import ALL_TO_ALL_EFFICIENCY_NVLINK, DISPATCH_BYTES_PER_ELEMENT, compute_step_time
from tokenlane.catalog.models import Link
from tokenlane.cost.tco import hardware_cost, hardware_units
from tokenlane.errors import InputError
from tokenlane.scenario import Finance, Option, TokenDistribution, Workload
from tokenlane.simulate import simulate_day

CATALOG = builtin_catalog()
COMMON = {"hardware": "h200", "model": "llama-3.3-70b", "quant": "fp8", "engine": "vllm"}
FREE = Link(id="free", name="an infinitely fast link", gb_per_s=1e12, latency_us=0.0, source="test", as_of="2026-12-03")


def _layout(prefill: int, decode: int, *, link: Link | None = None, prefill_gpus: int = 2, **decode_changes: object):
    pre = build_deployment(CATALOG, gpus=prefill_gpus, **COMMON)
    dec = build_deployment(CATALOG, gpus=2, **COMMON)
    dec = dataclasses.replace(dec, **decode_changes) if decode_changes else dec
    return dataclasses.replace(dec, disaggregation=Disaggregation(pre, prefill, decode, link or CATALOG.link_by_id("infiniband")))


def _steady(users: int, rate_per_user_hour: float, *, prompt: int = 4000, output: int = 200, hours: float = 1.0) -> Workload:
    return Workload(
        users=users,
        active_hours=hours,
        requests_per_user_hour=rate_per_user_hour,
        prompt_tokens=TokenDistribution(mean=prompt, p90=prompt),
        output_tokens=TokenDistribution(mean=output, p90=output),
        cache_hit_rate=0.0,
        arrival="poisson",
    )


def test_kv_transfer_time_by_hand() -> None:
    """Llama 3.3 70B caches 80 layers x 2 (K, V) x 8 KV heads x 128 dims x 2 bytes (bf16) = 327,680 bytes a token;
    8,000 tokens over 2 lanes of the infiniband link (42 GB/s each, 1,530 us a transfer)."""
    dep = _layout(3, 5)
    per_token = 80 * 2 * 8 * 128 * 2
    assert kv_transfer_bytes(dep.disaggregation.prefill, 8000) == per_token * 8000
    assert kv_transfer_s(dep, 8000) == pytest.approx(1530e-6 + per_token * 8000 / (42e9 * 2), rel=1e-12)
    assert kv_transfer_s(build_deployment(CATALOG, gpus=2, **COMMON), 8000) == 0.0  # aggregated: nothing moves


def test_kv_heads_replicated_over_a_wider_group_are_each_sent() -> None:
    """Qwen3-235B-A22B has 4 KV heads: at TP8 each is held twice, and both copies move (Mooncake's 12.62 GB for 32k
    tokens, twice the 6.3 GB of KV)."""
    tp4 = build_deployment(CATALOG, hardware="h200", model="qwen3-235b-a22b", quant="fp8", gpus=4)
    tp8 = build_deployment(CATALOG, hardware="h200", model="qwen3-235b-a22b", quant="fp8", gpus=8)
    assert kv_transfer_bytes(tp8, 32768) == 2 * kv_transfer_bytes(tp4, 32768)
    assert kv_transfer_bytes(tp8, 32768) / 1e9 == pytest.approx(12.62, rel=0.01)


def test_each_pool_holds_its_running_cap() -> None:
    """Decode replicas capped at 3 sequences: never more than 2 x 3 requests decode at once (first token to last), and
    the cap binds; prefill replicas capped at 1: one prompt at a time on each of the 2, so of any 3 consecutive
    admissions into the prefill pool the last comes at least one prefill after the first."""
    dep = _layout(2, 2, max_running_seqs=3)
    prefill = dataclasses.replace(dep.disaggregation.prefill, max_running_seqs=1)
    dep = dataclasses.replace(dep, disaggregation=dataclasses.replace(dep.disaggregation, prefill=prefill))
    day = simulate_day(dep, _steady(300, 30.0))
    log = day.log
    assert log is not None and day.completed > 1000
    served = log.served
    events = sorted([(t, 1) for t in log.first_token_s[served]] + [(t, -1) for t in log.finished_s[served]], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2 * 3
    admitted = np.sort(log.admitted_s[served])
    one_prefill = step_seconds(prefill, prefill_load(prefill, 4000, 0, samples=True))
    assert np.min(admitted[2:] - admitted[:-2]) >= 0.999 * one_prefill


def test_ttft_includes_the_transfer() -> None:
    """The same light day with the KV moved over a slow link: every first token comes at least the transfer later."""
    slow = Link(id="slow", name="slow", gb_per_s=0.5, latency_us=0.0, source="test", as_of="2026-12-03")
    fast_day = simulate_day(_layout(1, 1, link=FREE), _steady(4, 6.0))
    slow_day = simulate_day(_layout(1, 1, link=slow), _steady(4, 6.0))
    transfer = kv_transfer_s(_layout(1, 1, link=slow), 4000)
    assert transfer > 1.0
    assert slow_day.ttft_s.p50 >= fast_day.ttft_s.p50 + 0.99 * transfer


def test_free_link_and_equal_pools_reduce_to_aggregated() -> None:
    """At a load where requests rarely meet, a 1P1D layout over an infinitely fast link serves each request as one
    aggregated replica does: the same requests and tokens, the first token as the prompt's prefill ends (the decode
    replica samples it as it admits the cache), the same stream speed."""
    light = _steady(2, 6.0, hours=2.0)
    agg = simulate_day(build_deployment(CATALOG, gpus=2, **COMMON), light)
    dis = simulate_day(_layout(1, 1, link=FREE), light)
    assert (dis.requests, dis.completed, dis.output_tokens) == (agg.requests, agg.completed, agg.output_tokens)
    assert dis.ttft_s.p50 == pytest.approx(agg.ttft_s.p50, rel=0.02)
    assert dis.per_user_tok_s.p50 == pytest.approx(agg.per_user_tok_s.p50, rel=0.02)


def test_a_unit_counts_both_pools() -> None:
    """Devices, servers and money of a 3P5D layout of 2-GPU replicas: 16 devices, each at the H200's price."""
    dep = _layout(3, 5)
    assert dep.unit_devices == 16
    option = Option(name="x", kind="cloud_gpu", usd_per_gpu_hour=3.0, **COMMON)
    cost = hardware_cost(dep, option, Finance(), replicas=2)
    plain = hardware_cost(build_deployment(CATALOG, gpus=2, **COMMON), option, Finance(), replicas=16)
    assert cost.rental_usd == pytest.approx(plain.rental_usd)
    assert hardware_units(dep, 2) == 32
    assert layout_words(dep) == "3 prefill replicas of 2x h200 + 5 decode replicas of 2x h200, KV cache over infiniband"


def test_all_to_all_by_hand() -> None:
    """Qwen3-30B-A3B (48 MoE layers, hidden 2,048, top 8 of 128) over EP8 in one H200 server: a step of 64 tokens
    sends each device's 8 tokens' 8 x 7/8 copies, FP8 out and BF16 back, at 77% of 450 GB/s, plus two link latencies
    a layer; with uniform routing only the busiest device's share above the mean adds to it."""
    dep = build_deployment(CATALOG, hardware="h200", model="qwen3-30b-a3b", quant="bf16", gpus=8, expert_parallel=8, routing_skew=0.0)
    step = compute_step_time(dep, decode_load(dep, 64, 1000))
    per_token = 48 * 2048 * (DISPATCH_BYTES_PER_ELEMENT + 2.0) * (8 * 7 / 8) / (450e9 * ALL_TO_ALL_EFFICIENCY_NVLINK)
    latency = 2 * 48 * 8e-6
    even = per_token * 64 / 8 + latency
    assert step.all_to_all_s >= even
    assert step.all_to_all_s < even + per_token * 64 / 8 * 2  # the busiest device takes under 3x the mean at 512 pairs
    dense_tp = build_deployment(CATALOG, hardware="h200", model="qwen3-30b-a3b", quant="bf16", gpus=8)
    assert compute_step_time(dense_tp, decode_load(dense_tp, 64, 1000)).all_to_all_s == 0.0


def test_skewed_routing_slows_expert_parallel_experts() -> None:
    """The same EP8 replica with skewed routing: hot experts on one device make it the straggler."""
    uniform = build_deployment(CATALOG, hardware="h200", model="qwen3-30b-a3b", quant="bf16", gpus=8, expert_parallel=8, routing_skew=0.0)
    skewed = dataclasses.replace(uniform, routing_skew=0.8)
    load = decode_load(uniform, 256, 1000)
    assert compute_step_time(skewed, load).experts_s > compute_step_time(uniform, load).experts_s


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"model": "llama-3.3-70b", "expert_parallel": 8}, "parallel.ep"),
        ({"model": "qwen3-30b-a3b", "expert_parallel": 3}, "parallel.ep"),
        ({"model": "qwen3-30b-a3b", "dp_attention": 3}, "parallel.dp_attention"),
    ],
)
def test_impossible_parallelism_is_refused(changes: dict[str, object], field: str) -> None:
    model = changes.pop("model")
    with pytest.raises(InputError) as err:
        build_deployment(CATALOG, hardware="h200", model=model, quant="bf16", gpus=8, **changes)  # type: ignore[arg-type]
    assert err.value.field == field


def test_prefill_pool_must_serve_the_same_model() -> None:
    other = build_deployment(CATALOG, hardware="h200", model="qwen3-32b", quant="fp8", gpus=2)
    with pytest.raises(InputError, match=r"decode pool.s model"):
        dataclasses.replace(build_deployment(CATALOG, gpus=2, **COMMON), disaggregation=Disaggregation(other, 1, 1, FREE))


def test_same_seed_same_day() -> None:
    a = simulate_day(_layout(2, 3), _steady(30, 20.0), seed=3)
    b = simulate_day(_layout(2, 3), _steady(30, 20.0), seed=3)
    assert a.log is not None and b.log is not None
    assert np.array_equal(a.log.finished_s, b.log.finished_s)
