"""Where the catalog's quantization recovery figures (`Quant.recovery`) come from: public measurements in
`benchmarks/data/quality/quant-recovery.csv`, one figure per (quant, size class).

Two kinds of rows:
- recovery: a benchmark score at the quant over the same benchmark at bf16 (auto-round, Aider, mlx-lm, NVIDIA
  Model-Optimizer, arXiv 2411.02355's abstract);
- kld: llama.cpp's mean KL divergence of the quant's next-token distribution against FP16 (tools/perplexity).

A KL divergence is mapped to a score share by loss = k x KLD, k fitted by least squares through the origin on the
quants that have both a KLD and a benchmark figure in the same size class (Llama-3-8B's KLD against 8B-class
benchmark recoveries). Each (quant, class) then takes the lowest of its figures (the cautious one). A class with none
borrows in the catalog (plan.quality.recovery_for). Run: python benchmarks/quant_recovery_fit.py
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "quality" / "quant-recovery.csv"
CLASSES = ("small", "medium", "large")


@dataclass(frozen=True)
class Figure:
    fraction: float
    basis: str
    """benchmark or kld."""
    detail: str


def read_rows(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def fit_kld_slope(rows: list[dict[str, str]]) -> tuple[float, list[tuple[str, float, float]]]:
    """k in loss = k x KLD, least squares through the origin, and the (quant, KLD, lowest benchmark loss) anchors: the
    small class only, where llama.cpp's KLD model (Llama-3-8B) and the benchmarked models (Llama-3.1-8B, Qwen3-8B)
    are of one kind; the large class's KLD is of a dense 70B and its only Q2 benchmark of an MoE, too unlike to pair."""
    kld = {(r["quant"], r["size_class"]): float(r["value"]) for r in rows if r["metric"] == "kld" and r["size_class"] == "small"}
    worst: dict[tuple[str, str], float] = {}
    for r in rows:
        if r["metric"] == "recovery" and r["size_class"] == "small":
            key = (r["quant"], r["size_class"])
            worst[key] = min(worst.get(key, 1.0), float(r["value"]))
    anchors = [(q, kld[(q, c)], 1.0 - worst[(q, c)]) for (q, c) in sorted(kld) if (q, c) in worst]
    sxy = sum(x * y for _, x, y in anchors)
    sxx = sum(x * x for _, x, _ in anchors)
    return sxy / sxx, anchors


def recovery_table(rows: list[dict[str, str]] | None = None) -> dict[tuple[str, str], Figure]:
    """The catalog's figure for every (quant, size class) the data covers: the lowest of its benchmark recoveries and
    its KLD mapped by the fitted slope."""
    rows = read_rows() if rows is None else rows
    k, _ = fit_kld_slope(rows)
    found: dict[tuple[str, str], list[Figure]] = defaultdict(list)
    for r in rows:
        classes = CLASSES if r["size_class"] == "all" else (r["size_class"],)
        for c in classes:
            if r["metric"] == "kld":
                value = float(r["value"])
                figure = Figure(round(1.0 - k * value, 4), "kld", f"KLD {value:g} on {r['model']} ({r['source']}), loss = {k:.4f} x KLD")
            else:
                figure = Figure(min(1.0, float(r["value"])), "benchmark", f"{r['model']}: {r['benchmark']} ({r['source']}, {r['licence']})")
            found[(r["quant"], c)].append(figure)
    return {key: min(figures, key=lambda f: f.fraction) for key, figures in found.items()}


def main() -> None:
    rows = read_rows()
    k, anchors = fit_kld_slope(rows)
    print(f"loss = k x KLD, k = {k:.4f} (least squares through the origin on {len(anchors)} anchors)")
    for quant, kld, loss in anchors:
        print(f"  {quant:8s} KLD {kld:.4f}  benchmark loss {loss:.4f}  mapped {k * kld:.4f}  residual {k * kld - loss:+.4f}")
    print(f"\n{'quant':10s} {'class':7s} {'kept':>7s}  basis      from")
    for (quant, cls), figure in sorted(recovery_table(rows).items()):
        print(f"{quant:10s} {cls:7s} {figure.fraction:7.4f}  {figure.basis:9s}  {figure.detail}")


if __name__ == "__main__":
    main()
