"""Derive the engines' `moe_layer_overhead_us` from one public serving row that the validation set does not contain,
then score rows it was not fitted on.

A big MoE model on many GPUs reads little per GPU per step, so at small batches its step is set by fixed costs, and
an MoE layer runs more of them than a dense one (router GEMM, top-k, token sort/align, grouped expert GEMMs, the
weighted combine). The roofline with only the dense `layer_overhead_us` put DeepSeek-R1 on 8x H200 at 8.4 ms per
token at 8 users where SGLang measures 12.8 ms. Each row is simulated as the closed loop the benchmark ran
(`validate_capacity._closed_loop`: N users, fixed prompt and output lengths, the engine's queue and KV admission).

Rows (TPOT = mean time per output token after the first, ms):
- fit: DeepSeek-R1-0528 FP8, SGLang v0.5.7, TP8 on 8x H200, 1024 in / 1024 out, 8 users: 12.8
  (github.com/SemiAnalysisAI/InferenceX issue 870, concurrency sweep, 2026-03-05).
- checks, same sweep: 16 users 17.2, 32 users 25.6, 64 users 34.6.
- check, another lab and version: DeepSeek-R1-0528, SGLang over InfiniBand on 16x H100 (two servers, tensor
  parallel 16), 128 in / 128 out, 1 user: 23.1 (github.com/tenstorrent/tt-inference-server issue 356, 2025-07-09).
The checks are also rows of `benchmarks/data/public-moe-servers.csv`, which the validation reads.
Run: python benchmarks/moe_overhead_tuning.py
"""

from __future__ import annotations

from tokenlane import build_deployment, builtin_catalog
from validate_capacity import _closed_loop

CATALOG = builtin_catalog()

# (hardware, gpus, cross_server, users, prompt, output, measured TPOT ms, role)
ROWS = [
    ("h200", 8, "pipeline", 8, 1024, 1024, 12.8, "fit"),
    ("h200", 8, "pipeline", 16, 1024, 1024, 17.2, "check"),
    ("h200", 8, "pipeline", 32, 1024, 1024, 25.6, "check"),
    ("h200", 8, "pipeline", 64, 1024, 1024, 34.6, "check"),
    ("h100-sxm", 16, "tensor", 1, 128, 128, 23.1, "check"),
]


def tpot_ms(overhead_us: float | None, hardware: str, gpus: int, cross: str, users: int, prompt: int, out: int) -> float:
    """Simulated TPOT of SGLang serving DeepSeek-R1 FP8 with `overhead_us` per MoE layer (None: the catalog's)."""
    engine = CATALOG.engines["sglang"]
    if overhead_us is not None:
        engine = engine.model_copy(update={"moe_layer_overhead_us": overhead_us})
    catalog = CATALOG.with_entries("engines", [engine])
    dep = build_deployment(catalog, hardware=hardware, model="deepseek-r1", quant="fp8", engine="sglang", gpus=gpus, cross_server=cross)
    return _closed_loop(dep, users, prompt, out)[1] * 1e3


def fit(row: tuple) -> float:
    hardware, gpus, cross, users, prompt, out, measured, _ = row
    low, high = 0.0, 1000.0
    for _ in range(30):
        mid = (low + high) / 2
        if tpot_ms(mid, hardware, gpus, cross, users, prompt, out) > measured:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def main() -> None:
    fitted = fit(next(r for r in ROWS if r[-1] == "fit"))
    print(f"fitted moe_layer_overhead_us = {fitted:.1f}\n")
    print(f"{'row':44} {'measured':>9} {'without':>9} {'fitted':>9} {'error':>8}")
    for hardware, gpus, cross, users, prompt, out, measured, role in ROWS:
        before = tpot_ms(0.0, hardware, gpus, cross, users, prompt, out)
        after = tpot_ms(fitted, hardware, gpus, cross, users, prompt, out)
        label = f"{role}: {gpus}x {hardware} {users} users {prompt}/{out}"
        print(f"{label:44} {measured:9.1f} {before:9.1f} {after:9.1f} {(after / measured - 1) * 100:+7.1f}%")


if __name__ == "__main__":
    main()
