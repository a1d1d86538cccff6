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
- nvidia unified memory, DGX Spark, llama.cpp b6767 CUDA (jetsonhacks.com spark-llamacpp-bench, 2025-10-15):
  gpt-oss-20b MXFP4 pp2048 3610.56 (fit); pp2048 at depth 8192 3147.73 (fits the attention share: its flash
  attention runs on fp16 tensor cores, not int8).
- nvidia discrete (GDDR) card, RTX 4090, llama.cpp CUDA with int8 tensor-core MMQ (ggml-org/llama.cpp pull 7676,
  2024-06-04, its "after" column): Llama 3 8B Q4_0 pp512 with a 512-token microbatch 10358.75 (fit); microbatches of
  16 to 256 tokens 1937.21, 3427.61, 5420.06, 7443.66, 9601.53 (checks of the rows-dependent rate, `dequant_rows`).
On NVIDIA the rate is a share of the int8 tensor-core figure (`block_quant_dtype`: llama.cpp's CUDA kernels run GGUF
weights as int8, which is how the 4090 prefills at 166 TOPS, above its 165 TF bf16 figure). The Spark and the 4090
reach it to very different degrees (an integrated 140 W part against a 450 W card), so each class of device gets its
own value (`memory_kind` in the tuning).
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

BORROWED_ATTENTION = {("nvidia", "gddr"): ("nvidia", "unified")}
"""Classes with no deep-prompt row take the attention share of another class running the same kernels (CUDA)."""
SETTLE_ROUNDS = 6
"""Alternating fits of the compute and attention shares until both rows are met (each round shrinks the gap)."""

# ((vendor, memory kind or None), hardware, model, quant, prompt, depth, microbatch or None, measured pp tok/s, role)
ROWS = [
    (("amd", None), "ryzen-ai-max-395-128gb", "llama-2-7b", "q4_k_m", 512, 0, None, 1074.41, "fit"),
    (("amd", None), "ryzen-ai-max-395-128gb", "qwen3-30b-a3b", "q4_k_m", 512, 0, None, 1141.78, "check"),
    (("apple", None), "apple-m2-ultra-76gpu", "llama-2-7b", "fp16", 512, 0, None, 1265.30, "fit"),
    (("apple", None), "apple-m2-ultra-76gpu", "llama-2-7b", "q4_0", 512, 0, None, 1164.00, "check"),
    (("apple", None), "apple-m2-ultra-76gpu", "llama-2-7b", "q4_k_m", 512, 0, None, 1028.20, "check"),
    (("nvidia", "unified"), "dgx-spark", "gpt-oss-20b", "mxfp4-gguf", 2048, 0, None, 3610.56, "fit"),
    (("nvidia", "unified"), "dgx-spark", "gpt-oss-20b", "mxfp4-gguf", 2048, 8192, None, 3147.73, "fit attention"),
    (("nvidia", "gddr"), "rtx-4090", "llama-3.1-8b", "q4_0", 512, 0, 512, 10358.75, "fit"),
    *[
        (("nvidia", "gddr"), "rtx-4090", "llama-3.1-8b", "q4_0", 512, 0, ub, tok_s, "check")
        for ub, tok_s in ((16, 1937.21), (32, 3427.61), (64, 5420.06), (128, 7443.66), (256, 9601.53))
    ],
]


def predicted(cls: tuple, values: dict | None, hardware: str, model: str, quant: str, prompt: int, depth: int, ub: int | None) -> float:
    """Prompt tok/s with the class's fitted `values` (None: the catalog's tuning), prefilled in `ub`-token chunks."""
    engine = CAT.engines["llama.cpp"]
    if values is not None:
        vendor, kind = cls
        tuning = next((t for t in engine.on_vendor if (t.vendor, t.memory_kind) == cls), None)
        if tuning is not None:  # its other fields (decode costs, CUDA graphs) stay as the catalog has them
            tuning = tuning.model_copy(update=values)
        else:
            dtype = "int8" if vendor == "nvidia" else None  # CUDA's MMQ kernels run GGUF weights on int8 tensor cores
            tuning = EngineTuning(
                vendor=vendor, memory_kind=kind, block_quant_dtype=dtype, **values, source="fit", as_of=dt.date(2026, 11, 28)
            )
        engine = engine.model_copy(update={"on_vendor": (tuning,)})
    if ub is not None:
        engine = engine.model_copy(update={"max_batched_tokens": ub})
    dep = build_deployment(CAT.with_entries("engines", [engine]), hardware=hardware, model=model, quant=quant, engine="llama.cpp")
    return prompt / prefill_seconds(dep, depth + prompt, cached_tokens=depth)


def fit(row: tuple, field: str, known: dict) -> float:
    """The value of `field` (with `known` fixed) at which the row's prediction meets its measurement."""
    cls, hardware, model, quant, prompt, depth, ub, measured, _ = row
    low, high = 0.02, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if predicted(cls, {**known, field: mid}, hardware, model, quant, prompt, depth, ub) > measured:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def fit_all() -> dict[tuple, dict]:
    """Per class: `compute_utilization` from its "fit" row and, where it has a "fit attention" row (a deep prompt),
    `attention_utilization` from that one, the two solved together (each fitted with the other fixed, repeated until
    they settle). On NVIDIA the two are shares of different peaks."""
    fitted: dict[tuple, dict] = {}
    for row in ROWS:
        if row[-1] == "fit":
            fitted[row[0]] = {"compute_utilization": fit(row, "compute_utilization", {})}
    for attention_row in (r for r in ROWS if r[-1] == "fit attention"):
        cls = attention_row[0]
        compute_row = next(r for r in ROWS if r[0] == cls and r[-1] == "fit")
        for _ in range(SETTLE_ROUNDS):
            fitted[cls]["attention_utilization"] = fit(attention_row, "attention_utilization", fitted[cls])
            fitted[cls]["compute_utilization"] = fit(compute_row, "compute_utilization", fitted[cls])
    for cls, source in BORROWED_ATTENTION.items():  # no deep-prompt row: the attention share of the same kernels
        fitted[cls]["attention_utilization"] = fitted[source]["attention_utilization"]
        fitted[cls]["compute_utilization"] = fit(
            next(r for r in ROWS if r[0] == cls and r[-1] == "fit"), "compute_utilization", fitted[cls]
        )
    return fitted


def main() -> None:
    fitted = fit_all()
    print(f"{'class':16} {'row':70} {'measured':>9} {'catalog':>9} {'fitted':>9} {'error':>8}")
    for row in ROWS:
        cls, hw, model, quant, prompt, depth, ub, measured, role = row
        now = predicted(cls, None, hw, model, quant, prompt, depth, ub)
        after = predicted(cls, fitted[cls], hw, model, quant, prompt, depth, ub)
        label = f"{hw} {model} {quant} pp{prompt}@d{depth}" + (f" ub{ub}" if ub else "") + f" ({role})"
        name = "/".join(c for c in cls if c)
        print(f"{name:16} {label:70} {measured:9.1f} {now:9.1f} {after:9.1f} {after / measured - 1:+8.1%}")
    for cls, values in fitted.items():
        print("/".join(c for c in cls if c) + ": " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))


if __name__ == "__main__":
    main()
