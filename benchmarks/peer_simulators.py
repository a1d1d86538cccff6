"""Side by side with a peer fleet simulator: the same 10,000-request Poisson day of Llama-3.1-8B on one H100.

tokenlane makes the day (arrivals and token counts) and simulates it step by step on vLLM's scheduler; the same
requests are written to a file and fed to `vllm-sr-sim` (vLLM Semantic Router's fleet simulator, from the package
index), installed into a temporary virtual environment when this script runs. Each side's CPU time covers its
simulation loop only (not the install, the request generation or the import).

Prints simulated requests per CPU-second for each, the ratio, and both simulators' latencies.

Run: python benchmarks/peer_simulators.py [--requests 10000] [--rate 5]   (needs the package index for the peer)

Why their latencies differ: vllm-sr-sim is request-level — when a request starts it is given a service time from
the batch size and mean context at that moment (decode iteration = W + H x active sequences, prefill as whole
chunks), and that time is not revised as others join or leave; its TTFT is queue wait + ceil(prompt / chunk)
prefill iterations at the current batch. tokenlane steps every engine iteration: each step's time comes from the
per-operator roofline of what that step carries (decoders, prefill chunks packed into the token budget), so a
stream slows down and speeds up as the batch changes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.scenario import TokenDistribution, Workload

PEER = "vllm-sr-sim"
PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from fleet_sim import Fleet, FleetConfig, PoolConfig, Request
from fleet_sim.gpu_profiles import ProfileBuilder, ServingConfig
from fleet_sim.hardware import H100_SXM
from fleet_sim.models import LLAMA_3_1_8B

rows = json.load(open(sys.argv[1]))
serving = ServingConfig(tp=1, dtype_bytes=2, chunk=8192, max_slots=256)
profile = ProfileBuilder().build(hw=H100_SXM, model=LLAMA_3_1_8B, cfg=serving)
fleet = Fleet(FleetConfig(pools=[PoolConfig("h100", profile, 1, max_ctx=131072)], router_type="LeastLoadedRouter"))
arrivals = [(t, Request(i, t, lin, lout)) for i, (t, lin, lout) in enumerate(rows)]
start = time.process_time()
result = fleet.run(arrivals)
cpu = time.process_time() - start
done = [r for r in result.completed if r.first_token_time is not None and r.physical_end_time is not None]
ttft = np.array([r.first_token_time - r.arrival_time for r in done])
spans = [(r.l_out - 1, r.physical_end_time - r.first_token_time) for r in done if r.l_out > 1]
tok_s = np.array([n / s for n, s in spans if s > 0])
print(json.dumps({"requests": len(rows), "completed": len(done), "cpu_s": cpu,
                  "ttft_p50": float(np.percentile(ttft, 50)), "ttft_p95": float(np.percentile(ttft, 95)),
                  "tok_s_p50": float(np.percentile(tok_s, 50)), "tok_s_p95": float(np.percentile(tok_s, 5))}))
"""


def tokenlane_side(requests: int, rate_per_s: float) -> tuple[dict[str, float], list[tuple[float, int, int]]]:
    dep = build_deployment(builtin_catalog(), hardware="h100-sxm", model="llama-3.1-8b", quant="bf16", engine="vllm")
    hours = requests / rate_per_s / 3600
    workload = Workload(
        users=1,
        active_hours=hours,
        arrival="poisson",
        requests_per_user_hour=rate_per_s * 3600,
        prompt_tokens=TokenDistribution(mean=1000, p90=2000),
        output_tokens=TokenDistribution(mean=250, p90=500),
    )
    simulate_day(dep, workload, seed=1)  # warm the step table and imports
    start = time.process_time()
    r = simulate_day(dep, workload, seed=1)
    cpu = time.process_time() - start
    log = r.log
    assert log is not None
    rows = list(zip(log.arrival_s.tolist(), log.prompt_tokens.tolist(), log.output_tokens.tolist(), strict=True))
    summary = {
        "requests": len(log),
        "completed": r.completed,
        "cpu_s": cpu,
        "ttft_p50": r.ttft_s.p50 or float("nan"),
        "ttft_p95": r.ttft_s.p95 or float("nan"),
        "tok_s_p50": r.per_user_tok_s.p50 or float("nan"),
        "tok_s_p95": r.per_user_tok_s.p95 or float("nan"),
    }
    return summary, rows


def peer_side(rows: list[tuple[float, int, int]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        python = env_dir / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER], check=True)
        data = Path(tmp) / "requests.json"
        data.write_text(json.dumps(rows))
        script = Path(tmp) / "peer.py"
        script.write_text(PEER_SCRIPT)
        out = subprocess.run([str(python), str(script), str(data)], check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5.0, help="Poisson arrivals per second")
    args = parser.parse_args()
    ours, rows = tokenlane_side(args.requests, args.rate)
    theirs = peer_side(rows)
    head = f"{'simulator':12} {'requests':>9} {'CPU s':>7} {'req/CPU-s':>10}"
    print(f"{head} {'TTFT p50':>9} {'TTFT p95':>9} {'tok/s p50':>10} {'tok/s p95':>10}")
    for name, row in (("tokenlane", ours), (PEER, theirs)):
        print(
            f"{name:12} {row['requests']:9,d} {row['cpu_s']:7.3f} {row['requests'] / row['cpu_s']:10,.0f} "
            f"{row['ttft_p50']:9.3f} {row['ttft_p95']:9.3f} {row['tok_s_p50']:10.1f} {row['tok_s_p95']:10.1f}"
        )
    ratio = (ours["requests"] / ours["cpu_s"]) / (theirs["requests"] / theirs["cpu_s"])
    print(f"tokenlane simulates {ratio:.1f}x the requests per CPU-second of {PEER} (goal >= 3x), stepping every engine iteration")
    print(
        f"median per-stream speed differs by {np.log(ours['tok_s_p50'] / theirs['tok_s_p50']):+.0%} (log ratio); see the docstring for why"
    )


if __name__ == "__main__":
    main()
