"""Measure MoE decode step times on an NVIDIA GPU: does step time follow the distinct experts a batch touches?

A Qwen3-30B-A3B-shaped decoder (random bf16 weights; 48 layers, GQA 32/4 x 128, 128 experts of width 768, top-8,
untied LM head) decodes one token for B sequences with 1,024 tokens of KV each. Routing is real top-8 over a random
router's logits (uniform in expectation); the experts a batch touches run as ONE batched matmul over exactly those
experts' weights (a contiguous slice of the stacked weights, so no copy: which experts are touched does not change
the bytes, only how many), tokens grouped per expert and padded. The step is captured in a CUDA graph.

Writes CSV rows (same columns as reference-measurements.csv): aggregate tok/s per batch, and the mean number of
distinct experts per layer the routing touched, to compare with E(1 - (1 - k/E)^B).
Run: python benchmarks/gpu_moe_step.py --hardware h100-sxm --out benchmarks/data/gpu-moe-pytorch.csv
"""

from __future__ import annotations

import argparse
import datetime as dt

import torch
import torch.nn.functional as F

from gpu_timing import time_graph, write_rows

LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 48, 2048, 32, 4, 128, 151936
EXPERTS, TOP_K, EXPERT_WIDTH, CONTEXT = 128, 8, 768, 1024


def build_weights(dev: str = "cuda") -> dict[str, torch.Tensor]:
    dt_ = torch.bfloat16
    return {
        "qkv": torch.randn(LAYERS, (HEADS + 2 * KV_HEADS) * HEAD_DIM, HIDDEN, dtype=dt_, device=dev) * 0.02,
        "o": torch.randn(LAYERS, HIDDEN, HEADS * HEAD_DIM, dtype=dt_, device=dev) * 0.02,
        "router": torch.randn(LAYERS, EXPERTS, HIDDEN, dtype=dt_, device=dev) * 0.02,
        "gate_up": torch.randn(LAYERS, EXPERTS, HIDDEN, 2 * EXPERT_WIDTH, dtype=dt_, device=dev) * 0.02,
        "down": torch.randn(LAYERS, EXPERTS, EXPERT_WIDTH, HIDDEN, dtype=dt_, device=dev) * 0.02,
        "lm_head": torch.randn(VOCAB, HIDDEN, dtype=dt_, device=dev) * 0.02,
    }


def routing_plan(batch: int, gen: torch.Generator) -> tuple[list[torch.Tensor], list[torch.Tensor], float]:
    """Per layer: token index per (touched expert, slot) padded, and a mask; plus mean distinct experts per layer."""
    idx_per_layer, mask_per_layer, distinct = [], [], []
    for _ in range(LAYERS):
        logits = torch.randn(batch, EXPERTS, generator=gen)
        top = logits.topk(TOP_K, dim=1).indices  # (B, k), uniform routing in expectation
        experts = torch.unique(top)
        distinct.append(len(experts))
        groups = [(top == e).any(dim=1).nonzero().flatten() for e in experts]
        width = max(len(g) for g in groups)
        idx = torch.zeros(len(groups), width, dtype=torch.long)
        mask = torch.zeros(len(groups), width, 1)
        for j, g in enumerate(groups):
            idx[j, : len(g)] = g
            idx[j, len(g) :] = g[0]
            mask[j, : len(g)] = 1.0
        idx_per_layer.append(idx.cuda())
        mask_per_layer.append(mask.to(torch.bfloat16).cuda())
    return idx_per_layer, mask_per_layer, sum(distinct) / len(distinct)


def moe_step_s(w: dict[str, torch.Tensor], batch: int, gen: torch.Generator) -> tuple[float, float]:
    idx_l, mask_l, distinct = routing_plan(batch, gen)
    k_cache = torch.randn(LAYERS, batch, KV_HEADS, CONTEXT, HEAD_DIM, dtype=torch.bfloat16, device="cuda")
    v_cache = torch.randn_like(k_cache)
    x0 = torch.randn(batch, HIDDEN, dtype=torch.bfloat16, device="cuda")
    logits_out = torch.empty(batch, VOCAB, dtype=torch.bfloat16, device="cuda")

    def step() -> None:
        x = x0
        for i in range(LAYERS):
            qkv = x @ w["qkv"][i].T
            q = qkv[:, : HEADS * HEAD_DIM].view(batch, HEADS, 1, HEAD_DIM)
            attn = F.scaled_dot_product_attention(q, k_cache[i], v_cache[i], enable_gqa=True)
            x = x + attn.reshape(batch, HEADS * HEAD_DIM) @ w["o"][i].T
            _ = x @ w["router"][i].T  # the router matmul (its choice is fixed in the plan)
            idx, mask = idx_l[i], mask_l[i]
            n = idx.shape[0]
            grouped = x[idx]  # (n, m, d)
            gu = torch.bmm(grouped, w["gate_up"][i, :n])  # reads exactly n experts' weights
            h = F.silu(gu[..., :EXPERT_WIDTH]) * gu[..., EXPERT_WIDTH:]
            y = torch.bmm(h, w["down"][i, :n]) * mask
            x = x.index_add(0, idx.flatten(), y.reshape(-1, HIDDEN), alpha=1.0 / TOP_K)
        torch.matmul(x, w["lm_head"].T, out=logits_out)

    return time_graph(step), distinct


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hardware", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    name = torch.cuda.get_device_name()
    source = f"tokenlane benchmarks/gpu_moe_step.py on {name} ({dt.date.today()}, torch {torch.__version__})"
    w = build_weights()
    gen = torch.Generator().manual_seed(0)
    rows = []
    for batch in (1, 2, 4, 8, 16, 32, 64, 128):
        seconds, distinct = moe_step_s(w, batch, gen)
        torch.cuda.empty_cache()
        formula = EXPERTS * (1 - (1 - TOP_K / EXPERTS) ** batch)
        print(
            f"batch {batch:4d}: step {seconds * 1e3:7.3f} ms  aggregate {batch / seconds:8.0f} tok/s  "
            f"distinct experts {distinct:6.1f} (formula {formula:6.1f})",
            flush=True,
        )
        common = [
            source,
            args.hardware,
            "pytorch cuda-graph (no scheduler)",
            "qwen3-30b-a3b",
            "BF16",
            "",
            "decode_batched",
            batch,
            CONTEXT,
            0,
            1,
        ]
        rows.append([*common, "aggregate_tok_s", f"{batch / seconds:.2f}", "tok/s", "random weights and uniform top-8 routing"])
        rows.append(
            [
                *common[:6],
                "moe_distinct_experts",
                batch,
                "",
                "",
                "",
                "distinct_experts",
                f"{distinct:.2f}",
                "experts",
                "mean over 48 layers of one routing draw",
            ]
        )
    write_rows(args.out, rows)


if __name__ == "__main__":
    main()
