"""Derive how fast llama.cpp's decode streams weights, per accelerator vendor, from public llama-bench `tg` rows that
the validation set does not contain.

One token's decode time is weights and KV bytes / (spec bandwidth x streaming share) + a fixed step cost + a cost per
layer (kernel launches and synchronisation, which no byte count explains). Per vendor the script finds the streaming
share and the per-layer cost that meet its rows best (least squares on log errors; a vendor with a single row keeps
the engine's per-layer cost and fits the share alone). Rows that give a weights file's size are sized by
`file_sized_quant` (the named format's mix of bits scaled to the file).

Rows (tg = generated tokens per second, one stream):
- amd, Ryzen AI Max+ 395, llama.cpp b8038 Vulkan RADV, 120 W, `llama-bench -p 512 -n 128`
  (github.com/visorcraft/strix-halo-llm-perf BENCHMARKS.md, 2026-02-13): Llama 2 7B Q4_K_M 3.80 GiB 47.25; Qwen2.5
  Coder 7B Q6_K 5.82 GiB 36.71; Qwen3 30B-A3B Q4_K_M 17.28 GiB 86.07; Llama 3.1 70B Q4_K_M 39.59 GiB 5.10; Qwen3
  235B-A22B Q3_K_M 104.72 GiB 17.21. Layers from 28 to 94 and dense beside MoE separate the two parameters.
- apple, llama.cpp Metal, LLaMA 7B tg128 (ggml-org/llama.cpp discussion 4167, the community table): M4 Max 40-core
  F16 31.64 and Q4_0 83.06; M2 Ultra 76-core F16 41.02 and Q4_0 94.27 (files 12.55 and 3.56 GiB). Two formats of one
  model per machine separate bytes from fixed costs. The M2 Ultra is not in the catalog: 800 GB/s and 76 cores at
  the apple-m2-max-32gb entry's per-core rate, as in prefill_tuning.py.
- nvidia, RTX 4090, llama.cpp CUDA, Llama 3 8B BF16 at microbatch 1, 65.2 tok/s (ggml-org/llama.cpp pull 15131):
  one row, so only the share is fitted; the 4090's `memory_efficiency` was itself read from this row.

Then, on NVIDIA, the cost of steps that carry more than one token: llama.cpp's CUDA backend replays a captured CUDA
graph only for one-token steps ("disable CUDA graphs for batch size > 1", ggml/src/ggml-cuda/ggml-cuda.cu), so a
batched step launches each kernel itself. Its extra per-layer cost (`eager_layer_overhead_us`, with
`graph_max_tokens` 1) is fitted to llama-batched-bench's gemma-3-4b Q4_0 rows at 2 to 32 sequences after a 512-token
prompt on a DGX Spark (ggml-org/llama.cpp benches/dgx-spark.md, build 6918) and checked on the same table's dense
Qwen2.5-Coder-7B Q8_0 rows (both tables are also in the validation, where the Qwen rows are the independent check).

The printed streaming share is of the spec bandwidth; in the catalog it is the device's `memory_efficiency` times
llama.cpp's `bandwidth_utilization` (capped at 1: where the share is above a class default efficiency, the
efficiency was too low). Run: python benchmarks/decode_tuning.py
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from prefill_tuning import CAT  # the catalog with prefill_tuning.py's M2 Ultra (not a catalog entry)
from tokenlane import build_deployment, count_params
from tokenlane.capacity import decode_load, step_seconds
from tokenlane.capacity.memory import file_sized_quant
from tokenlane.units import BITS_PER_BYTE, gib_to_bytes

CONTEXT_TOKENS = 64
"""llama-bench's tg128 runs from an empty cache: the mean context over its 128 tokens."""
SHARES = np.arange(0.50, 1.20, 0.005)
LAYER_US = np.arange(0.0, 300.0, 2.5)

# vendor: [(hardware, model, quant, weights file GiB or None, measured tg tok/s)]
ROWS = {
    "amd": [
        ("ryzen-ai-max-395-128gb", "llama-2-7b", "q4_k_m", 3.80, 47.25),
        ("ryzen-ai-max-395-128gb", "qwen2.5-coder-7b", "q6_k", 5.82, 36.71),
        ("ryzen-ai-max-395-128gb", "qwen3-30b-a3b", "q4_k_m", 17.28, 86.07),
        ("ryzen-ai-max-395-128gb", "llama-3.1-70b", "q4_k_m", 39.59, 5.10),
        ("ryzen-ai-max-395-128gb", "qwen3-235b-a22b", "q3_k_m", 104.72, 17.21),
    ],
    "apple": [
        ("m4-max-128gb", "llama-2-7b", "fp16", 12.55, 31.64),
        ("m4-max-128gb", "llama-2-7b", "q4_0", 3.56, 83.06),
        ("apple-m2-ultra-76gpu", "llama-2-7b", "fp16", 12.55, 41.02),
        ("apple-m2-ultra-76gpu", "llama-2-7b", "q4_0", 3.56, 94.27),
    ],
    "nvidia": [("rtx-4090", "llama-3.1-8b", "bf16", None, 65.2)],
}


# (model, quant, weights file GiB, sequences, measured aggregate tok/s, role): DGX Spark, 512-token prompts, 32 tokens
EAGER_ROWS = [
    *[("gemma-3-4b", "q4_0", 2.35, b, tok_s, "fit") for b, tok_s in ((2, 126.21), (4, 231.11), (8, 369.93), (16, 550.47), (32, 801.81))],
    *[
        ("qwen2.5-coder-7b", "q8_0", 7.54, b, tok_s, "check")
        for b, tok_s in ((2, 54.46), (4, 104.33), (8, 195.67), (16, 335.01), (32, 593.27))
    ],
]
EAGER_CONTEXT_TOKENS = 512 + 16
"""The 512-token prompt plus half of the 32 generated tokens."""


def deployment(row: tuple, share: float | None, layer_us: float | None):
    """The row's deployment under llama.cpp; with `share` and `layer_us` the engine streams at that share of the spec
    bandwidth and pays that per layer (None: the catalog's values)."""
    hardware, model_id, quant_id, file_gib, _ = row
    catalog = CAT
    quant = catalog.quants[quant_id]
    if file_gib is not None:
        model = catalog.model_by_id(model_id)
        bits = gib_to_bytes(file_gib) * BITS_PER_BYTE / count_params(model).total
        quant = file_sized_quant(model, quant, bits, id=f"file-{bits:.2f}", name="weights file", source="row", as_of="2026-11-28")
        catalog = catalog.with_entries("quants", [quant])
    if share is not None:
        engine = catalog.engines["llama.cpp"]
        efficiency = catalog.hardware[hardware].memory_efficiency
        tuned = {"bandwidth_utilization": share / efficiency, "layer_overhead_us": layer_us, "on_vendor": ()}
        catalog = catalog.with_entries("engines", [engine.model_copy(update=tuned)])  # a share above 1 is allowed here
    return build_deployment(catalog, hardware=hardware, model=model_id, quant=quant.id, engine="llama.cpp")


def predicted(row: tuple, share: float | None = None, layer_us: float | None = None) -> float:
    dep = deployment(row, share, layer_us)
    return 1.0 / step_seconds(dep, decode_load(dep, 1, CONTEXT_TOKENS))


def fit(rows: list[tuple]) -> tuple[float, float]:
    """(streaming share of spec, per-layer cost in µs) with the least sum of squared log errors over `rows`."""
    engine_layer_us = CAT.engines["llama.cpp"].layer_overhead_us
    layers = LAYER_US if len(rows) > 1 else [engine_layer_us]
    best = min((sum(math.log(predicted(r, s, u) / r[-1]) ** 2 for r in rows), s, u) for s in SHARES for u in layers)
    return best[1], best[2]


def batched(row: tuple, eager_us: float | None) -> float:
    """Aggregate decode tok/s of the row's sequences on the DGX Spark; with `eager_us` the step of more than one token
    pays that per layer (None: the catalog's tuning)."""
    model, quant, file_gib, seqs, _, _ = row
    dep = deployment(("dgx-spark", model, quant, file_gib, 0.0), None, None)
    if eager_us is not None:
        engine = dep.engine.model_copy(update={"graph_max_tokens": 1, "eager_layer_overhead_us": eager_us})
        dep = dataclasses.replace(dep, engine=engine)
    return seqs / step_seconds(dep, decode_load(dep, seqs, EAGER_CONTEXT_TOKENS))


def fit_eager() -> float:
    """The per-layer cost of an eager (un-captured) step that meets the "fit" rows best (least squared log errors)."""
    fit_rows = [r for r in EAGER_ROWS if r[-1] == "fit"]
    return min((sum(math.log(batched(r, u) / r[4]) ** 2 for r in fit_rows), u) for u in LAYER_US)[1]


def main() -> None:
    print("in-sample: the fit to every row of the vendor; held out: the row predicted by a fit to the vendor's other rows")
    print(f"{'vendor':7} {'row':52} {'measured':>9} {'catalog':>9} {'fitted':>9} {'in-sample':>9} {'held out':>9}")
    for vendor, rows in ROWS.items():
        share, layer_us = fit(rows)
        for i, row in enumerate(rows):
            hardware, model, quant, file_gib, measured = row
            label = f"{hardware} {model} {quant}" + (f" {file_gib} GiB" if file_gib else "")
            after = predicted(row, share, layer_us)
            held = "—"
            if len(rows) > 2:  # two other rows at least, so the fit without this one still has both parameters
                held = f"{predicted(row, *fit(rows[:i] + rows[i + 1 :])) / measured - 1:+9.1%}"
            print(f"{vendor:7} {label:52} {measured:9.2f} {predicted(row):9.2f} {after:9.2f} {after / measured - 1:+9.1%} {held:>9}")
        print(f"{vendor}: streaming share {share:.3f} of spec, per-layer cost {layer_us:.1f} µs")
    eager_us = fit_eager()
    print("\nfit: the rows the per-layer cost is fitted to (in-sample); check: rows it was not fitted to (held out)")
    print(f"{'role':6} {'row (DGX Spark, llama-batched-bench)':44} {'measured':>9} {'catalog':>9} {'fitted':>9} {'error':>8}")
    for row in EAGER_ROWS:
        model, quant, _, seqs, measured, role = row
        after = batched(row, eager_us)
        print(
            f"{role:6} {f'{model} {quant} B={seqs}':44} {measured:9.2f} {batched(row, None):9.2f} {after:9.2f} {after / measured - 1:+8.1%}"
        )
    print(f"nvidia: a step of more than one token pays {eager_us:.1f} µs more per layer (no CUDA graph)")


if __name__ == "__main__":
    main()
