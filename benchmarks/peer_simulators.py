"""Side by side with a peer fleet simulator: the same Poisson day of Llama-3.1-8B on one H100 (50,000 requests).

tokenlane makes the day (arrivals and token counts) and simulates it step by step on vLLM's scheduler; the same
requests are written to a file and fed to `vllm-sr-sim` (vLLM Semantic Router's fleet simulator, from the package
index), installed into a temporary virtual environment when this script runs. Two measures of CPU time each:

- loop: the simulation loop only (not the install, the request generation or the import);
- whole process, import included (issue 29): `tokenlane simulate --json` on a scenario replaying the requests as a
  Mooncake trace (scenario and catalog loaded, every request simulated, the summary printed), against the peer's script
  reading the same requests and running its fleet; the CPU time of each child process (user + system, `getrusage`).

Prints simulated requests per CPU-second for each, the ratios, and both simulators' latencies.

Run: python benchmarks/peer_simulators.py [--requests 50000] [--rate 5]   (needs the package index for the peer)

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
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.scenario import TokenDistribution, Workload
from tokenlane.traces import write_mooncake

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
OUR_SCENARIO = """name: the peer comparison's requests replayed
workload:
  users: 1
  trace: {path: requests.jsonl, format: mooncake}
  slo: {min_tok_s_per_user: 10, max_ttft_s: 5, percentile: 95}
options:
  - {name: h100, kind: self_host, hardware: h100-sxm, model: llama-3.1-8b, quant: bf16, engine: vllm}
"""


def child_cpu_s(command: list[str]) -> tuple[float, str]:
    """(user + system CPU seconds of the child process, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def tokenlane_process(rows: list[tuple[float, int, int]], folder: Path) -> tuple[float, int]:
    """(CPU s, requests) of `tokenlane simulate --json` replaying `rows` as a whole process."""
    arrival, prompt, output = (np.array(c) for c in zip(*rows, strict=True))
    write_mooncake(folder / "requests.jsonl", arrival, prompt, np.zeros(len(rows), dtype=np.int64), output)
    (folder / "scenario.yaml").write_text(OUR_SCENARIO)
    command = [sys.executable, "-c", "from tokenlane.cli.app import main; main()", "simulate", str(folder / "scenario.yaml"), "--json"]
    cpu, out = child_cpu_s(command)
    return cpu, json.loads(out)["requests"]


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


def peer_side(rows: list[tuple[float, int, int]], folder: Path) -> dict[str, float]:
    """The peer's summary, with `process_cpu_s`: its whole process's CPU time."""
    env_dir = folder / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", PEER], check=True)
    data = folder / "requests.json"
    data.write_text(json.dumps(rows))
    script = folder / "peer.py"
    script.write_text(PEER_SCRIPT)
    cpu, out = child_cpu_s([str(python), str(script), str(data)])
    return {**json.loads(out.strip().splitlines()[-1]), "process_cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=5.0, help="Poisson arrivals per second")
    args = parser.parse_args()
    ours, rows = tokenlane_side(args.requests, args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        ours["process_cpu_s"], replayed = tokenlane_process(rows, Path(tmp))
        theirs = peer_side(rows, Path(tmp))
    assert replayed == len(rows), (replayed, len(rows))
    head = f"{'simulator':12} {'requests':>9} {'loop CPU s':>10} {'req/CPU-s':>10} {'process CPU s':>13} {'req/CPU-s':>10}"
    print(f"{head} {'TTFT p50':>9} {'TTFT p95':>9} {'tok/s p50':>10} {'tok/s p95':>10}")
    for name, row in (("tokenlane", ours), (PEER, theirs)):
        print(
            f"{name:12} {row['requests']:9,d} {row['cpu_s']:10.3f} {row['requests'] / row['cpu_s']:10,.0f} "
            f"{row['process_cpu_s']:13.3f} {row['requests'] / row['process_cpu_s']:10,.0f} "
            f"{row['ttft_p50']:9.3f} {row['ttft_p95']:9.3f} {row['tok_s_p50']:10.1f} {row['tok_s_p95']:10.1f}"
        )
    for what, key in (("its loop", "cpu_s"), ("whole processes, import included", "process_cpu_s")):
        ratio = theirs[key] / ours[key]
        print(f"tokenlane simulates {ratio:.2f}x the requests per CPU-second of {PEER}, {what} (goal >= 3x)")
    print(
        f"median per-stream speed differs by {np.log(ours['tok_s_p50'] / theirs['tok_s_p50']):+.0%} (log ratio); see the docstring for why"
    )


if __name__ == "__main__":
    main()
