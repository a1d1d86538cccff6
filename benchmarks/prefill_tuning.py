"""Derive llama.cpp's large-matmul rate per accelerator vendor from public llama-bench prefill rows that the
validation set does not contain, then score the same model on rows of the same machines it was not fitted on.

Each vendor's `compute_utilization` is the value at which the roofline (with each quant's `dequant_rows`) reproduces
one dense row; the check rows (an MoE model, another size) are predicted with it untouched. The values printed are
the ones `engines.yaml` carries under llama.cpp's `on_vendor`.

Rows (pp = prompt tokens per second at the given prompt length):
- amd, Ryzen AI Max+ 395, llama.cpp b8038 Vulkan RADV, 120 W (github.com/visorcraft/strix-halo-llm-perf BENCHMARKS.md,
  2026-02-13): Llama 2 7B Q4_K_M pp512 1074.41 (fit); Qwen3 30B-A3B Q4_K_M pp512 1141.78 (check).
- apple, M2 Ultra 76-core GPU, Metal (ggml-org/llama.cpp pull 3084, 2023-09-09): LLaMA 7B F16 pp512 1265.30 (fit),
  Q4_0 1164.00 and Q4_K_M 1028.20 (checks of dequant_rows, which were derived from the same table). The M2 Ultra is
  not in the catalog: 76 cores at the apple-m2-max-32gb entry's per-core rate and 800 GB/s.
- nvidia, DGX Spark, llama.cpp b6767 CUDA (jetsonhacks.com spark-llamacpp-bench, 2025-10-15): gpt-oss-20b MXFP4
  pp2048 3610.56 (fit); pp2048 at depth 8192 3147.73 (check).
"""

from __future__ import annotations

import datetime as dt

from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import prefill_seconds
from tokenlane.catalog.models import EngineTuning

CATALOG = builtin_catalog()
M2_MAX = CATALOG.hardware["apple-m2-max-32gb"]
M2_ULTRA = M2_MAX.model_copy(
    update={
        "id": "apple-m2-ultra-76gpu",
        "name": "Apple M2 Ultra, 76-core GPU",
        "bf16_tflops": M2_MAX.bf16_tflops / 30 * 76,
        "memory_bandwidth_gbps": 800,
        "memory_gib": 192,
        "usable_memory_gib": 144,
    }
)
CAT = CATALOG.with_entries("hardware", [M2_ULTRA])

# (vendor, hardware, model, quant, prompt, depth, measured pp tok/s, role)
ROWS = [
    ("amd", "ryzen-ai-max-395-128gb", "llama-2-7b", "q4_k_m", 512, 0, 1074.41, "fit"),
    ("amd", "ryzen-ai-max-395-128gb", "qwen3-30b-a3b", "q4_k_m", 512, 0, 1141.78, "check"),
    ("apple", "apple-m2-ultra-76gpu", "llama-2-7b", "fp16", 512, 0, 1265.30, "fit"),
    ("apple", "apple-m2-ultra-76gpu", "llama-2-7b", "q4_0", 512, 0, 1164.00, "check"),
    ("apple", "apple-m2-ultra-76gpu", "llama-2-7b", "q4_k_m", 512, 0, 1028.20, "check"),
    ("nvidia", "dgx-spark", "gpt-oss-20b", "mxfp4-gguf", 2048, 0, 3610.56, "fit"),
    ("nvidia", "dgx-spark", "gpt-oss-20b", "mxfp4-gguf", 2048, 8192, 3147.73, "check"),
]


def predicted(vendor: str, utilization: float | None, hardware: str, model: str, quant: str, prompt: int, depth: int) -> float:
    tunings = ()  # None: the engine-wide value, no vendor's tuning
    if utilization is not None:
        tunings = (EngineTuning(vendor=vendor, compute_utilization=utilization, source="fit", as_of=dt.date(2026, 11, 28)),)  # type: ignore[arg-type]
    engine = CAT.engines["llama.cpp"].model_copy(update={"on_vendor": tunings})
    dep = build_deployment(CAT.with_entries("engines", [engine]), hardware=hardware, model=model, quant=quant, engine="llama.cpp")
    return prompt / prefill_seconds(dep, depth + prompt, cached_tokens=depth)


def fit(vendor: str, hardware: str, model: str, quant: str, prompt: int, depth: int, measured: float) -> float:
    low, high = 0.02, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if predicted(vendor, mid, hardware, model, quant, prompt, depth) > measured:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def main() -> None:
    fitted: dict[str, float] = {}
    for vendor, hw, model, quant, prompt, depth, measured, role in ROWS:
        if role == "fit":
            fitted[vendor] = fit(vendor, hw, model, quant, prompt, depth, measured)
    print(f"{'vendor':7} {'row':58} {'measured':>9} {'untuned':>9} {'tuned':>9} {'error':>9}")
    for vendor, hw, model, quant, prompt, depth, measured, role in ROWS:
        before = predicted(vendor, None, hw, model, quant, prompt, depth)
        after = predicted(vendor, fitted[vendor], hw, model, quant, prompt, depth)
        row = f"{hw} {model} {quant} pp{prompt}@d{depth} ({role})"
        print(f"{vendor:7} {row:58} {measured:9.1f} {before:9.1f} {after:9.1f} {after / measured - 1:+9.1%}")
    print("llama.cpp compute_utilization by vendor: " + ", ".join(f"{v} {u:.3f}" for v, u in fitted.items()))


if __name__ == "__main__":
    main()
