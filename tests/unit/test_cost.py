"""Cost arithmetic: TCO by hand, API bills against genai-prices directly, break-even on both sides, routing."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from genai_prices import Usage, calc_price

from tokenlane import build_deployment, builtin_catalog
from tokenlane.cost import (
    TokenBatch,
    break_even_volume,
    cost_per_success,
    hardware_cost,
    price_requests,
    route_tasks,
    self_host_usd_per_day,
)
from tokenlane.cost.api_bill import request_time
from tokenlane.cost.people import engineer_fte
from tokenlane.cost.people import machines as count_machines
from tokenlane.errors import InputError
from tokenlane.scenario import PRICES_AT_DEFAULT, CustomPrice, Finance, Option, Task

CATALOG = builtin_catalog()
FIN = Finance()

PRICES_AT = PRICES_AT_DEFAULT


def test_self_host_tco_by_hand() -> None:
    """With a flat `utilization` (the override of the energy model) power is rated W x utilisation x PUE x 730 h; with
    a replica's kWh from its simulated day, that times the price."""
    dep = build_deployment(CATALOG, hardware="dgx-spark", model="gpt-oss-120b", quant="mxfp4-gguf", engine="llama.cpp")
    option = Option(name="spark", kind="self_host", hardware="dgx-spark", model="gpt-oss-120b")
    cost = hardware_cost(dep, option, FIN.model_copy(update={"utilization": 0.6}), replicas=2)
    assert cost.hardware_usd == pytest.approx(2 * 4699 * 0.75 / 36)
    assert cost.power_usd == pytest.approx(2 * 90 * 0.6 * 1.4 * 730 / 1000 * 0.15)
    from_day = hardware_cost(dep, option, FIN, replicas=2, kwh_per_replica_month=40.0)
    assert from_day.power_usd == pytest.approx(2 * 40.0 * 0.15)
    assert cost.people_usd == pytest.approx((0.05 + 2 * 0.01) * 250000 / 12)  # desk stack + two desk machines
    assert cost.total_usd == pytest.approx(cost.hardware_usd + cost.power_usd + cost.people_usd)


def test_cloud_rental_by_hand() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", gpus=2)
    option = Option(
        name="rent", kind="cloud_gpu", hardware="h100-sxm", model="llama-3.1-70b", usd_per_gpu_hour=2.0, rented_hours_per_day=12
    )
    cost = hardware_cost(dep, option, FIN, replicas=3)
    assert cost.rental_usd == pytest.approx(3 * 2 * 2.0 * 365)
    assert cost.people_usd == pytest.approx((0.2 + 0.01) * 250000 / 12)  # six GPUs in one server, rented


def test_the_catalog_rate_is_the_median_on_demand_quote_unless_the_option_says_otherwise() -> None:
    dep = build_deployment(CATALOG, hardware="mi300x", model="llama-3.1-70b", quant="fp8")
    quotes = sorted(q.usd_per_gpu_hour for q in dep.hardware.cloud_prices)
    assert quotes == [1.50, 1.85, 1.99, 6.00, 6.00]  # five providers: the two hyperscalers at 3-4x the neoclouds
    typical = Option(name="rent", kind="cloud_gpu", hardware="mi300x", model="llama-3.1-70b", quant="fp8")
    assert hardware_cost(dep, typical, FIN, replicas=1).rental_usd == pytest.approx(1.99 * 730)  # the median
    low = typical.model_copy(update={"cloud_price": "low"})
    assert hardware_cost(dep, low, FIN, replicas=1).rental_usd == pytest.approx(1.50 * 730)
    h100 = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", gpus=2)
    assert h100.hardware.rental_usd_per_gpu_hour() == pytest.approx((3.49 + 3.78) / 2)  # an even count: the middle two
    reserved = Option(name="r", kind="cloud_gpu", hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", cloud_price="reserved")
    assert hardware_cost(h100, reserved, FIN, replicas=1).rental_usd == pytest.approx(2 * 2.35 * 730)  # three 1-year quotes
    h200 = build_deployment(CATALOG, hardware="h200", model="llama-3.1-70b", quant="fp8")
    with pytest.raises(InputError, match="no reserved rental price") as err:
        hardware_cost(h200, reserved.model_copy(update={"hardware": "h200"}), FIN, replicas=1)
    assert err.value.field == "options[r].usd_per_gpu_hour"


@pytest.mark.parametrize(
    ("provider", "model"), [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-5-mini"), ("google", "gemini-2.5-pro")]
)
def test_bill_equals_calc_price_request_by_request(provider: str, model: str) -> None:
    rng = np.random.default_rng(1)
    n = 60
    inputs = np.concatenate([rng.integers(100, 20000, n - 3), [200000, 200001, 350000]])
    read = (inputs * rng.uniform(0, 0.5, n)).astype(np.int64)
    write = np.where(read == 0, 0, (inputs * 0.1).astype(np.int64))
    outputs = rng.integers(1, 3000, n)
    tokens = TokenBatch(inputs, outputs, read, write, np.zeros(n, dtype=bool))
    bill = price_requests(Option(name="api", kind="api", provider=provider, model=model), tokens, prices_at=PRICES_AT)
    direct = sum(
        float(
            calc_price(
                Usage(input_tokens=int(i), output_tokens=int(o), cache_read_tokens=int(r), cache_write_tokens=int(w)),
                model,
                provider_id=provider,
                genai_request_timestamp=request_time(PRICES_AT),
            ).total_price
        )
        for i, o, r, w in zip(inputs, outputs, read, write, strict=True)
    )
    assert bill.total_usd == pytest.approx(direct, rel=1e-9)


def test_custom_price_and_batch_discount() -> None:
    option = Option(
        name="mine",
        kind="api",
        model="my-model",
        batch_api=True,
        batch_discount=0.5,
        price=CustomPrice(input_usd_per_mtok=2, output_usd_per_mtok=8, cache_read_usd_per_mtok=0.2),
    )
    tokens = TokenBatch(
        np.array([1_000_000, 1_000_000]), np.array([100_000, 100_000]), np.array([500_000, 0]), np.array([0, 0]), np.array([False, True])
    )
    bill = price_requests(option, tokens, prices_at=PRICES_AT)
    first = 0.5 * 2 + 0.5 * 0.2 + 0.1 * 8
    second = (1.0 * 2 + 0.1 * 8) * 0.5
    assert bill.total_usd == pytest.approx(first + second)


def test_break_even_is_where_the_curves_cross() -> None:
    kw = {"fixed_usd_per_day": 320.0, "replica_usd_per_day": 150.0, "capacity_per_replica": 5e7}
    api_rate = 4e-6
    volume, replicas, reachable = break_even_volume(api_usd_per_token=api_rate, max_replicas=8, **kw)
    assert volume is not None and reachable and replicas is not None
    below, above = volume * 0.999, volume * 1.001
    assert self_host_usd_per_day(below, **kw) > api_rate * below
    assert self_host_usd_per_day(above, **kw) <= api_rate * above
    assert replicas == 7 and volume == pytest.approx((320 + 7 * 150) / api_rate)


def test_unreachable_break_even() -> None:
    volume, _, reachable = break_even_volume(
        api_usd_per_token=1e-9, fixed_usd_per_day=400, replica_usd_per_day=150, capacity_per_replica=1e6, max_replicas=4
    )
    assert volume is None and not reachable


def test_routing_picks_cheapest_success_that_clears_the_bar() -> None:
    tasks = [
        Task(name="extract", share=0.7, pass_rates={"small": 0.95, "frontier": 0.99}),
        Task(name="reason", share=0.3, pass_rates={"small": 0.5, "frontier": 0.9}),
    ]
    costs = {"extract": {"small": 0.001, "frontier": 0.02}, "reason": {"small": 0.002, "frontier": 0.03}}
    table = route_tasks(tasks, costs, frontier_option="frontier", requests_per_month=1000)
    assert [r.option for r in table.routes] == ["small", "frontier"]
    assert table.routes[0].usd_per_success == pytest.approx(cost_per_success(0.001, 0.95))
    routed = 700 * 0.001 / 0.95 + 300 * 0.03 / 0.9
    baseline = 700 * 0.02 / 0.99 + 300 * 0.03 / 0.9
    assert table.routed_usd_per_month == pytest.approx(routed)
    assert table.savings_usd_per_month == pytest.approx(baseline - routed)


def test_one_hour_cache_writes_bill_at_their_own_rate() -> None:
    tokens = TokenBatch(np.array([10000]), np.array([100]), np.array([0]), np.array([8000]), np.array([False]))
    five = price_requests(
        Option(name="a", kind="api", provider="anthropic", model="claude-sonnet-4-5"), tokens, prices_at=PRICES_AT
    ).total_usd
    hour = price_requests(
        Option(name="a", kind="api", provider="anthropic", model="claude-sonnet-4-5", cache_ttl="1h"), tokens, prices_at=PRICES_AT
    ).total_usd
    usage = Usage(input_tokens=10000, output_tokens=100, cache_write_tokens=8000, cache_write_1h_tokens=8000)
    direct = float(
        calc_price(usage, "claude-sonnet-4-5", provider_id="anthropic", genai_request_timestamp=request_time(PRICES_AT)).total_price
    )
    assert hour == pytest.approx(direct) and hour > five


def test_prices_are_read_at_the_scenario_date_not_the_clock() -> None:
    """claude-opus-4-6 changed price on 2026-03-13 in genai-prices' data: the bill follows `prices_at`."""
    option = Option(name="a", kind="api", provider="anthropic", model="claude-opus-4-6")
    zero = np.array([0])
    tokens = TokenBatch(np.array([300_000]), np.array([1000]), zero, zero, np.array([False]))
    before = price_requests(option, tokens, prices_at=date(2026, 3, 12)).total_usd
    after = price_requests(option, tokens, prices_at=date(2026, 3, 14)).total_usd
    usage = Usage(input_tokens=300_000, output_tokens=1000)
    direct = float(
        calc_price(usage, "claude-opus-4-6", provider_id="anthropic", genai_request_timestamp=request_time(date(2026, 3, 14))).total_price
    )
    assert before != after
    assert after == pytest.approx(direct, rel=1e-9)


@pytest.mark.parametrize(
    ("hardware", "gpus", "replicas", "machines", "bought_fte", "rented_fte"),
    [
        # desk class: 0.05 stack + 0.01 per machine; rented: 0.05 + 0.01 per machine
        ("dgx-spark", None, 1, 1, 0.06, 0.06),
        ("dgx-spark", None, 2, 2, 0.07, 0.07),
        ("dgx-spark", None, 8, 8, 0.13, 0.13),
        # two 2-GPU workstation replicas share one machine (8 cards a chassis): no step to "a rack"
        ("rtx-pro-6000", 2, 1, 1, 0.06, 0.06),
        ("rtx-pro-6000", 2, 2, 1, 0.06, 0.06),
        ("rtx-pro-6000", 2, 8, 2, 0.07, 0.07),
        # server class: 0.2 stack + 0.05 per bought server, 0.01 per rented one
        ("h100-sxm-8x", None, 1, 1, 0.25, 0.21),
        ("h100-sxm-8x", None, 2, 2, 0.30, 0.22),
        ("h100-sxm-8x", None, 8, 8, 0.60, 0.28),
        ("h100-sxm", 4, 1, 1, 0.25, 0.21),
        ("h100-sxm", 4, 2, 1, 0.25, 0.21),
        ("h100-sxm", 4, 3, 2, 0.30, 0.22),
    ],
)
def test_people_cost_is_a_stack_plus_a_share_per_machine(
    hardware: str, gpus: int | None, replicas: int, machines: int, bought_fte: float, rented_fte: float
) -> None:
    """Worked by hand from the finance defaults (docs/scenario.md); nothing doubles between one machine and two."""
    dep = build_deployment(CATALOG, hardware=hardware, model="qwen3-8b", quant="bf16", engine="vllm", gpus=gpus)
    bought = Option(name="b", kind="self_host", hardware=hardware, model="qwen3-8b")
    rented = Option(name="r", kind="cloud_gpu", hardware=hardware, model="qwen3-8b", usd_per_gpu_hour=2.0)
    assert count_machines(dep, replicas) == machines
    assert engineer_fte("self_host", FIN, dep, replicas) == pytest.approx(bought_fte)
    assert hardware_cost(dep, bought, FIN, replicas=replicas).people_usd == pytest.approx(bought_fte * 250000 / 12)
    assert hardware_cost(dep, rented, FIN, replicas=replicas).people_usd == pytest.approx(rented_fte * 250000 / 12)
    fixed = Finance(engineer_fte=0.7)
    assert hardware_cost(dep, bought, fixed, replicas=replicas).people_usd == pytest.approx(0.7 * 250000 / 12)


def test_people_cost_never_jumps_between_one_machine_and_two() -> None:
    """The step between machines is one machine's care, whatever the class: far below the old one-server-to-a-rack
    doubling (0.25 -> 0.5 FTE)."""
    for hardware, gpus in (("rtx-pro-6000", 2), ("h100-sxm-8x", None), ("ryzen-ai-max-395-128gb", None)):
        dep = build_deployment(
            CATALOG,
            hardware=hardware,
            model="qwen3-8b",
            quant="q4_k_m" if "ryzen" in hardware else "bf16",
            engine="llama.cpp" if "ryzen" in hardware else "vllm",
            gpus=gpus,
        )
        steps = [engineer_fte("self_host", FIN, dep, n + 1) - engineer_fte("self_host", FIN, dep, n) for n in range(1, 20)]
        assert all(0.0 <= s <= FIN.fte_per_server + 1e-12 for s in steps)
