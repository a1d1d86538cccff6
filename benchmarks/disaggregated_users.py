"""How many users 16 H200s carry on long-prompt Q&A, aggregated or disaggregated: the most users whose day meets the
SLO (`simulate --find-max-users`), for eight aggregated 2-GPU replicas and for every split of the same 16 GPUs into
2-GPU prefill and decode replicas (KV caches over InfiniBand), printed with the ratio to the aggregated fleet.

The workload is the issue's case: 8,000-token prompts, 300-token answers, 40 tok/s per user and a 2 s TTFT for 95% of
requests, six requests per user-hour over a nine-hour day. Nothing is fitted here; it shows what the simulator says.
Run: python benchmarks/disaggregated_users.py [--model llama-3.3-70b] [--quant bf16] (several minutes on two cores)
"""

from __future__ import annotations

import argparse
import time

import yaml

from tokenlane import builtin_catalog
from tokenlane.scenario import Scenario
from tokenlane.simulate import simulate_scenario

TOTAL_GPUS = 16
REPLICA_GPUS = 2


def scenario(model: str, quant: str) -> Scenario:
    """Eight aggregated 2-GPU replicas and every xPyD split of 16 GPUs into 2-GPU replicas."""
    replicas = TOTAL_GPUS // REPLICA_GPUS
    options = [{"name": "aggregated", "kind": "cloud_gpu", "hardware": "h200", "model": model, "quant": quant, "gpus": 2, "count": 8}]
    for prefill in range(1, replicas):
        layout = {"prefill": {"gpus": REPLICA_GPUS, "count": prefill}, "decode": {"gpus": REPLICA_GPUS, "count": replicas - prefill}}
        name = f"{prefill}P{replicas - prefill}D"
        options.append({"name": name, "kind": "cloud_gpu", "hardware": "h200", "model": model, "quant": quant, "disaggregated": layout})
    text = {
        "name": "long-prompt Q&A on 16 H200s",
        "workload": {"users": 100, "prompt_tokens": 8000, "output_tokens": 300, "slo": {"min_tok_s_per_user": 40, "max_ttft_s": 2}},
        "options": options,
    }
    return Scenario.model_validate(yaml.safe_load(yaml.safe_dump(text)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llama-3.3-70b")
    parser.add_argument("--quant", default="bf16")
    args = parser.parse_args()
    spec, catalog = scenario(args.model, args.quant), builtin_catalog()
    print(f"{args.model} {args.quant} on 16 H200s: 8,000 + 300 tokens, 40 tok/s, TTFT 2 s for 95%")
    print(f"{'layout':12} {'most users':>10} {'vs aggregated':>14} {'seconds':>8}")
    base = None
    for option in spec.options:
        start = time.perf_counter()
        found = simulate_scenario(spec, catalog, option=option.name, find_max=True).max_users_by_option[option.name]
        base = base or found
        print(f"{option.name:12} {found:10,} {found / base:13.2f}x {time.perf_counter() - start:8.0f}")


if __name__ == "__main__":
    main()
