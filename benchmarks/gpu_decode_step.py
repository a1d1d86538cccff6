"""Measure real decode step times on an NVIDIA GPU with PyTorch, for validating the roofline.

A Llama-3.1-8B-shaped decoder (random bf16 weights, GQA 32/8 heads, SwiGLU, untied LM head) decodes one token for
B sequences whose KV caches hold C tokens; the step is captured in a CUDA graph so launch overhead is gone, and timed
with CUDA events. Also measures copy bandwidth (device-to-device) and dense bf16 GEMM throughput, the two hardware
constants the catalog carries (memory_efficiency, bf16_tflops). Needs torch with CUDA; not used by tests or CI.

Run: python benchmarks/gpu_decode_step.py --hardware h100-sxm --out benchmarks/data/gpu-decode-pytorch.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import torch
import torch.nn.functional as F

from gpu_timing import time_graph, write_rows

LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 32, 4096, 32, 8, 128, 14336, 128256


def copy_bandwidth_gbps() -> float:
    n = 2 * 1024**3 // 2
    a = torch.empty(n, dtype=torch.bfloat16, device="cuda")
    b = torch.empty_like(a)
    seconds = time_graph(lambda: b.copy_(a), iters=20)
    return 2 * a.numel() * 2 / seconds / 1e9


def gemm_tflops() -> float:
    m = 8192
    a = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    b = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    c = torch.empty(m, m, dtype=torch.bfloat16, device="cuda")
    seconds = time_graph(lambda: torch.matmul(a, b, out=c), iters=20)
    return 2 * m**3 / seconds / 1e12


def decode_step_s(batch: int, context: int) -> float:
    dev, dt_ = "cuda", torch.bfloat16
    w = {
        "qkv": torch.randn(LAYERS, (HEADS + 2 * KV_HEADS) * HEAD_DIM, HIDDEN, dtype=dt_, device=dev) * 0.02,
        "o": torch.randn(LAYERS, HIDDEN, HEADS * HEAD_DIM, dtype=dt_, device=dev) * 0.02,
        "gate_up": torch.randn(LAYERS, 2 * FFN, HIDDEN, dtype=dt_, device=dev) * 0.02,
        "down": torch.randn(LAYERS, HIDDEN, FFN, dtype=dt_, device=dev) * 0.02,
    }
    lm_head = torch.randn(VOCAB, HIDDEN, dtype=dt_, device=dev) * 0.02
    k_cache = torch.randn(LAYERS, batch, KV_HEADS, context, HEAD_DIM, dtype=dt_, device=dev)
    v_cache = torch.randn_like(k_cache)
    x0 = torch.randn(batch, HIDDEN, dtype=dt_, device=dev)
    out = torch.empty(batch, VOCAB, dtype=dt_, device=dev)

    def step() -> None:
        x = x0
        for i in range(LAYERS):
            qkv = x @ w["qkv"][i].T
            q = qkv[:, : HEADS * HEAD_DIM].view(batch, HEADS, 1, HEAD_DIM)
            attn = F.scaled_dot_product_attention(q, k_cache[i], v_cache[i], enable_gqa=True)
            x = x + attn.reshape(batch, HEADS * HEAD_DIM) @ w["o"][i].T
            gu = x @ w["gate_up"][i].T
            x = x + (F.silu(gu[:, :FFN]) * gu[:, FFN:]) @ w["down"][i].T
        torch.matmul(x, lm_head.T, out=out)

    return time_graph(step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hardware", required=True, help="catalog id of the GPU measured")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    name = torch.cuda.get_device_name()
    bw, tf = copy_bandwidth_gbps(), gemm_tflops()
    print(f"{name}: copy bandwidth {bw:.0f} GB/s, bf16 GEMM {tf:.0f} TFLOP/s", flush=True)
    source = f"tokenlane benchmarks/gpu_decode_step.py on {name} ({dt.date.today()}, torch {torch.__version__})"
    rows = []
    for context in (1024, 4096):
        for batch in (1, 4, 16, 32, 64, 128):
            if batch * context * LAYERS * KV_HEADS * HEAD_DIM * 2 * 2 > 40e9:
                continue
            s = decode_step_s(batch, context)
            torch.cuda.empty_cache()
            print(f"context {context:5d} batch {batch:4d}: step {s * 1e3:7.3f} ms  aggregate {batch / s:8.0f} tok/s", flush=True)
            rows.append(
                [
                    source,
                    args.hardware,
                    "pytorch cuda-graph (no scheduler)",
                    "llama-3.1-8b",
                    "BF16",
                    "",
                    "decode_batched",
                    batch,
                    context,
                    0,
                    1,
                    "aggregate_tok_s",
                    f"{batch / s:.2f}",
                    "tok/s",
                    "random weights, Llama-3.1-8B shapes",
                ]
            )
    rows.append(
        [source, args.hardware, "pytorch", "-", "-", "", "copy_bandwidth", "", "", "", "", "gbps", f"{bw:.1f}", "GB/s", "2 GiB d2d copy"]
    )
    rows.append([source, args.hardware, "pytorch", "-", "BF16", "", "gemm", "", "", "", "", "tflops", f"{tf:.1f}", "TFLOP/s", "8192^3"])
    write_rows(args.out, rows)


if __name__ == "__main__":
    sys.exit(main())
