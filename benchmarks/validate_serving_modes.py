"""Compare expert-parallel and disaggregated serving as tokenlane models them with public results, and print the
error table (rows and sources in benchmarks/data/serving-modes.yaml).

Three kinds of rows:
- phase: one phase (prefill or decode) of a large expert-parallel deployment at a stated load per device; predicted
  from the capacity model's step time at that load (`capacity.step_seconds`), tokens per second per node;
- concurrency: one unit (a replica, or a disaggregated layout) held at the source's concurrency by a closed loop of
  clients, output tokens per second per GPU (and mean TTFT and TPOT beside the source's), by a simulated day;
- transfer: a prompt's KV cache moved from a prefill to a decode replica (`capacity.kv_transfer_s`).
Nothing in the capacity model was fitted to the phase and concurrency rows (the expert-parallel constants come from DeepEP's
README, the links from Mooncake's tables): every such row is held out. The catalog's `infiniband` link was fitted to
two transfer rows, marked `fitted`; the held-out medians leave them out.
Run: python benchmarks/validate_serving_modes.py [--rows]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

import yaml

from tokenlane import build_deployment, builtin_catalog, decode_load, prefill_load, step_seconds
from tokenlane.capacity import Disaggregation, kv_transfer_s
from tokenlane.capacity.roofline import StepLoad
from tokenlane.catalog.models import Link
from tokenlane.scenario import TokenDistribution, Workload
from tokenlane.simulate import simulate_day
from tokenlane.units import S_PER_HOUR

HERE = Path(__file__).resolve().parent
ROWS = HERE / "data" / "serving-modes.yaml"
DEVICES_PER_NODE = 8
CONCURRENCY_HOURS = 0.1
"""Length of a held-concurrency day: about 1,500 requests at these rates, the tail draining after it."""
INFINIBAND_LINE_GB_PER_S = 50.0
"""The NDR 400 Gb/s NIC per GPU the catalog's `infiniband` entry is measured against (its source)."""


def _scaled(load: StepLoad, n: float) -> StepLoad:
    return StepLoad(*(n * v for v in dataclasses.astuple(load)))


def phase_prediction(row: dict, catalog) -> float:
    """Tokens per second per node of one phase at the row's load per device."""
    devices = row["devices"]
    dep = build_deployment(
        catalog,
        hardware=row["hardware"],
        model=row["model"],
        quant=row["quant"],
        engine=row["engine"],
        gpus=devices,
        cross_server="tensor",
        expert_parallel=devices,
        dp_attention=devices,
    )
    if row["phase"] == "prefill":
        tokens = row["tokens_per_device"] * devices
        load = _scaled(prefill_load(dep, row["prompt_tokens"], 0, samples=True), tokens / row["prompt_tokens"])
        return row["tokens_per_device"] * DEVICES_PER_NODE / step_seconds(dep, load)
    seqs = row["seqs_per_device"] * devices
    return row["seqs_per_device"] * DEVICES_PER_NODE / step_seconds(dep, decode_load(dep, seqs, row["context_tokens"]))


def concurrency_prediction(row: dict, catalog) -> float:
    """Output tokens per second per GPU of one unit held at the row's concurrency (printing the mean TTFT and TPOT)."""
    common = {k: row[k] for k in ("hardware", "model", "quant", "engine", "kv_dtype")}
    dep = build_deployment(catalog, gpus=row["gpus"], **common)
    if "prefill" in row:
        prefill = build_deployment(catalog, gpus=row["prefill"]["gpus"], **common)
        link = catalog.link_by_id(row["kv_link"])
        dep = dataclasses.replace(dep, disaggregation=Disaggregation(prefill, row["prefill"]["count"], row["decode_count"], link))
    workload = Workload(
        users=row["concurrency_per_unit"],
        active_hours=CONCURRENCY_HOURS,
        prompt_tokens=TokenDistribution(mean=row["prompt_tokens"], p90=row["prompt_tokens"]),
        output_tokens=TokenDistribution(mean=row["output_tokens"], p90=row["output_tokens"]),
        cache_hit_rate=0.0,
        arrival="closed_loop",
        think_time_s=0.0,
    )
    day = simulate_day(dep, workload)
    ttft_ms, tpot_ms = (day.ttft_s.mean or 0.0) * 1000.0, day.tpot_ms.mean or 0.0
    print(
        f"    {row['id']}: mean TTFT {ttft_ms:.0f} ms (published {row['measured_ttft_ms']:g}), "
        f"mean TPOT {tpot_ms:.2f} ms (published {row['measured_tpot_ms']:g})"
    )
    return day.output_tokens / (day.simulated_hours * S_PER_HOUR) / dep.unit_devices


def transfer_prediction(row: dict, catalog) -> float:
    """Milliseconds to move the row's prompt's cache from a TP-n prefill replica to a TP-n decode replica."""
    infiniband = catalog.link_by_id("infiniband")
    efficiency = infiniband.gb_per_s / INFINIBAND_LINE_GB_PER_S
    link = Link(
        id="testbed",
        name="the row's testbed",
        gb_per_s=row["nic_gb_per_s_per_gpu"] * efficiency,
        latency_us=infiniband.latency_us,
        source="the row's NIC line rate x the infiniband entry's efficiency",
        as_of=infiniband.as_of,
    )
    dep = build_deployment(catalog, hardware="h100-sxm", model=row["model"], quant="bf16", kv_dtype=row["kv_dtype"], gpus=row["devices"])
    dep = dataclasses.replace(dep, disaggregation=Disaggregation(dep, 1, 1, link))
    return kv_transfer_s(dep, row["prompt_tokens"]) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="print every row's source too")
    args = parser.parse_args()
    data = yaml.safe_load(ROWS.read_text())
    catalog = builtin_catalog()
    groups: dict[str, list[tuple[str, float, float, bool, str]]] = {}
    for kind, key, predict, unit in (
        ("phase", "measured_tok_s_per_node", phase_prediction, "tok/s/node"),
        ("concurrency", "measured_tok_s_per_gpu", concurrency_prediction, "tok/s/GPU"),
        ("transfer", "measured_ms", transfer_prediction, "ms"),
    ):
        for row in data[f"{kind}_rows"]:
            source = row.get("source") or data["transfer_tables"][row["table"]]
            groups.setdefault(kind, []).append((row["id"], row[key], predict(row, catalog), bool(row.get("fitted")), f"{unit}; {source}"))
    print(f"\n{'row':36} {'measured':>10} {'predicted':>10} {'error':>8}")
    for kind, rows in groups.items():
        print(f"-- {kind}")
        for name, measured, predicted, fitted, source in rows:
            mark = " (fitted)" if fitted else ""
            print(f"{name:36} {measured:10,.2f} {predicted:10,.2f} {predicted / measured - 1:+8.1%}{mark}")
            if args.rows:
                print(f"    {source}")
    print()
    print(f"{'group':10} {'rows':>5} {'held out':>9} {'median |error| held out':>24} {'worst':>8}")
    for kind, rows in groups.items():
        held = [abs(p / m - 1) for _, m, p, fitted, _ in rows if not fitted]
        print(f"{kind:10} {len(rows):5} {len(held):9} {statistics.median(held):24.1%} {max(held):8.1%}")
    agg, dis = (next(p for n, _, p, _, _ in groups["concurrency"] if n.endswith(s)) for s in ("-agg", "-disagg"))
    print(f"\naiconfigurator's disaggregated / aggregated ratio: published 1.70x, modelled {dis / agg:.2f}x")
    print("not compared:", *(f"  - {why}" for why in data["not_compared"]), sep="\n")


if __name__ == "__main__":
    main()
