"""Compare the capacity model's predictions with public measurements and print the error table.

Reads ../shared/data/reference-measurements.csv and benchmarks/data/*.csv (same columns); a missing shared file is an
error (exit 2, one line) unless --without-shared says to validate on benchmarks/data alone. Every row read is either
compared or listed at the end with why it was skipped.
Run: python benchmarks/validate_capacity.py [--rows] [--without-shared] [--write-errors]
(--rows also prints every row; --write-errors rewrites the catalog's prediction_errors.yaml from the rows compared).
Where a row gives the weights file size (GGUF mixes), bits/weight = file bytes x 8 / parameters, applied
uniformly and the named format's kernels; otherwise the row's quant maps to a catalog quant. Serving rows (a closed
loop of N users) run through `simulate_day`, queue and KV admission included. Nothing here is fitted to these rows,
except those `FITTED` names (a tuning script's rows), which are marked in-sample and kept out of the held-out figures.

Held out: each row's 80% prediction interval is built from the rows of every *other* source
(`tokenlane.capacity.uncertainty`, leave one source out), and the second table prints, per group, how many measured
values fall inside it and how wide it is. These are the figures docs/capacity.md quotes.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from tokenlane import (
    build_deployment,
    builtin_catalog,
    count_params,
    decode_load,
    expected_distinct_experts,
    max_concurrent_sequences,
    prefill_seconds,
    step_seconds,
)
from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.memory import file_sized_quant
from tokenlane.capacity.uncertainty import Point, Tagged, error_row, hardware_class, interval_among, kernel_family, regime_of
from tokenlane.catalog.gguf_file import format_quant
from tokenlane.catalog.models import HeldOutError, Quant
from tokenlane.scenario import Workload
from tokenlane.simulate import simulate_day
from tokenlane.units import BITS_PER_BYTE, gib_to_bytes

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "reference-measurements.csv"
LOCAL = sorted((HERE / "data").glob("*.csv"))
ERRORS_YAML = HERE.parent / "src" / "tokenlane" / "catalog" / "data" / "prediction_errors.yaml"
FITTED = (
    ("benches/dgx-spark.md", "gemma-3-4b", "decode_batched"),
    *(
        ("visorcraft/strix-halo-llm-perf", m, "decode")
        for m in ("llama 2 7b", "qwen2.5-coder 7b", "qwen3-30b-a3b", "llama-3.1-70b", "qwen3-235b-a22b")
    ),
)
"""(source, model, test) of rows a tuning script fitted a catalog value to (benchmarks/decode_tuning.py: llama.cpp's
eager per-layer cost on CUDA, and its AMD streaming share and per-layer cost): in-sample, so kept out of the held-out
figures and of the prediction errors."""

HARDWARE = {
    "apple-m1-ultra-48gpu-800gbs": "apple-m1-ultra-64gb",
    "apple-m2-max-30gpu-400gbs": "apple-m2-max-32gb",
    "apple-m1-8gpu-68gbs": "apple-m1-16gb",
}
MODELS = {
    "qwen3-235b-a22b-instruct-2507": "qwen3-235b-a22b",
    "glm-4.5-air": "glm-4.5-air",
    "gpt-oss-120b": "gpt-oss-120b",
    "gpt-oss-20b": "gpt-oss-20b",
    "qwen3-30b-a3b": "qwen3-30b-a3b",
    "qwen3-coder-30b-a3b": "qwen3-30b-a3b",
    "llama-2-7b": "llama-2-7b",
    "qwen2.5-coder-7b": "qwen2.5-coder-7b",
    "gemma-3-4b": "gemma-3-4b",
    "llama-3.3-70b-instruct": "llama-3.3-70b",
    "llama-2-70b": "llama-2-70b",
    "llama-3.1-8b-instruct": "llama-3.1-8b",
    "llama-3.1-8b": "llama-3.1-8b",
    "qwen3.6-35b-a3b": "qwen3.5-35b-a3b",  # the same architecture (its model card)
    "deepseek-r1-0528": "deepseek-r1",  # an update of the same weights' architecture (its model card)
    "qwen3.5-122b-a10b": "qwen3.5-122b-a10b",
    "qwen3-235b-a22b": "qwen3-235b-a22b",
    "qwen3-next-80b-a3b": "qwen3-next-80b-a3b",
    "qwen3-next-80b-a3b-instruct": "qwen3-next-80b-a3b",
    "qwen3-coder-next-80b-a3b": "qwen3-next-80b-a3b",  # Qwen3-Next's architecture (its model card: 80B-A3B, hybrid)
    "qwen3.5-27b": "qwen3.5-27b",
    "llama-3.1-70b": "llama-3.1-70b",
    "hermes-4-70b (llama 70b)": "llama-3.1-70b",  # a Llama-3.1-70B fine-tune: the same architecture
    "qwen3-8b": "qwen3-8b",
}
QUANTS = {
    "f16": "fp16",
    "bf16": "bf16",
    "q8_0": "q8_0",
    "q4_0": "q4_0",
    "mxfp4": "mxfp4-gguf",
    "fp8": "fp8",
    "fp8 (per submission)": "fp8",
    "int4 (autoround)": "int4-gptq",
}
SERVING_CYCLES = 12
MAX_GOAL_BATCH = 32
"""Batched-aggregate errors are also printed per batch size up to this one (issue 12's goal holds at each)."""
"""A closed-loop serving row is simulated for this many request cycles of its users."""
MLPERF_PROMPT_TOKENS, MLPERF_OUTPUT_TOKENS = 1024, 290  # OpenOrca subset means, MLPerf llama2-70b rules page


@dataclass
class Row:
    dataset: str
    label: str
    metric: str
    measured: float
    predicted: float
    low_load: bool = False
    """A prompt processed with no other request in flight (llama-bench pp, serving TTFT at concurrency 1)."""
    batch: int | None = None
    """Sequences (or closed-loop users) running together, where the row gives them."""
    error: HeldOutError | None = None
    """The row as a prediction error of its family (None: not a deployment's speed, or in-sample)."""
    family: tuple[str, str, str, str] | None = None
    """(engine kernels, hardware class, metric, regime) of `error`."""
    in_sample: bool = False

    @property
    def ape(self) -> float:
        return abs(self.predicted - self.measured) / self.measured * 100


def _engine(name: str) -> str:
    name = name.lower()
    if "pytorch" in name:
        return "pytorch"
    if "mlx" in name:  # mlx_lm.server and the servers built on MLX's kernels (Rapid-MLX)
        return "mlx"
    if "llama.cpp" in name:
        return "llama.cpp"
    if "tensorrt" in name or "nim" in name:
        return "tensorrt-llm"
    if "vllm" in name:
        return "vllm"
    if "sglang" in name:
        return "sglang"
    return "llama.cpp"


def _named_quant(catalog, quant_text: str, *, by_family: bool) -> Quant | None:
    """The catalog quant a row's quant name denotes: the table above, the catalog id itself, or (`by_family`, for rows
    whose file size gives the bits) the GGUF block type an unsloth dynamic mix ("UD-Q4_K_XL") is built on."""
    quant_id = QUANTS.get(quant_text) or (quant_text if quant_text in catalog.quants else None)
    if quant_id is not None:
        return catalog.quants[quant_id]
    block_type = re.match(r"(?:ud-)?(i?q\d_(?:k|\d))", quant_text)
    return format_quant(catalog.quants, block_type.group(1)) if block_type and by_family else None


class Unmapped(Exception):
    """A row the comparison cannot use, with why."""


def _deployment(rec: dict[str, str]):
    catalog = builtin_catalog()
    hw_text = rec["hardware"].strip()
    hw_id, _, rest = hw_text.partition(" x")
    gpus = int(rest.split()[0]) if rest else 1
    hw_id = HARDWARE.get(hw_id, hw_id)
    model_id = MODELS.get(rec["model"].strip().lower())
    if model_id is None:
        raise Unmapped(f"model '{rec['model']}' maps to no catalog model")
    if hw_id not in catalog.hardware:
        raise Unmapped(f"hardware '{hw_text}' maps to no catalog hardware")
    quant_text = rec["quant"].strip().lower()
    engine = _engine(rec["engine"])
    base = _named_quant(catalog, quant_text, by_family=bool(rec.get("model_file_gib")))
    if rec.get("model_file_gib"):
        model = catalog.model_by_id(model_id)
        bits = gib_to_bytes(float(rec["model_file_gib"])) * BITS_PER_BYTE / count_params(model).total
        # The file's size sets the bytes; the named format keeps its mix of bits by tensor class and its kernels.
        quant = file_sized_quant(
            model, base, bits, id=f"file-{bits:.2f}", name=f"{rec['quant']} from file size", source=rec["source"], as_of="2026-11-01"
        )
        catalog = catalog.with_entries("quants", [quant])
        quant_id = quant.id
    elif base is None:
        raise Unmapped(f"quant '{rec['quant']}' maps to no catalog quant and the row gives no file size")
    else:
        quant_id = base.id
    if engine == "pytorch":
        # A bare CUDA-graph decode loop: vLLM's kernels' efficiency, no scheduler or launch overhead.
        no_overheads = {"step_overhead_ms": 0.0, "layer_overhead_us": 0.0, "moe_layer_overhead_us": 0.0}
        bare = catalog.engine_by_id("vllm").model_copy(update={"id": "pytorch", **no_overheads})
        catalog = catalog.with_entries("engines", [bare])
    cross = "tensor" if f"(TP{gpus})" in hw_text else "pipeline"  # "x16 (TP16)": one tensor-parallel group over servers
    skew = 0.0 if engine == "pytorch" else None  # our own loop routes with a random router: uniform by construction
    return build_deployment(
        catalog, hardware=hw_id, model=model_id, quant=quant_id, engine=engine, gpus=gpus, cross_server=cross, routing_skew=skew
    )


def _predict(rec: dict[str, str]) -> tuple[str, float, Deployment | None]:
    """(what is compared, the predicted value, the deployment predicted; None for a hardware or routing row)."""
    if rec["test"] == "moe_distinct_experts":
        model = builtin_catalog().model_by_id(MODELS[rec["model"].strip().lower()])
        assert model.moe is not None
        return (
            "MoE distinct experts",
            expected_distinct_experts(model.moe.num_experts, model.moe.experts_per_token, int(rec["batch"])),
            None,
        )
    if rec["test"] in ("copy_bandwidth", "gemm"):
        hw = builtin_catalog().hardware_by_id(rec["hardware"])
        if rec["test"] == "copy_bandwidth":
            return "hardware streaming GB/s", hw.memory_bandwidth_gbps * hw.memory_efficiency, None
        return "hardware bf16 TFLOP/s", hw.bf16_tflops, None
    dep = _deployment(rec)
    test, metric = rec["test"], rec["metric"]
    batch = int(rec["batch"] or 1)
    prompt = int(rec["prompt_tokens"] or 0)
    depth = int(rec["context_depth"] or 0)
    out = int(rec["output_tokens"] or 0)
    if test == "decode":
        step = step_seconds(dep, decode_load(dep, 1, depth + prompt + out / 2))
        return "single-stream decode", step * 1e3 if metric == "itl_ms" else 1.0 / step, dep
    if test == "prefill":
        return "prefill", prompt / prefill_seconds(dep, depth + prompt, cached_tokens=depth), dep
    if test == "decode_batched":
        return "batched aggregate", batch / step_seconds(dep, decode_load(dep, batch, prompt + out / 2)), dep
    if test == "serving":
        ttft_s, itl_s, tok_s = _closed_loop(_fp8_kv(dep), batch, prompt, out)
        if metric in ("itl_ms", "tpot_ms"):  # per-request TPOT is the mean inter-token latency
            return "serving ITL", itl_s * 1e3, dep
        if metric == "ttft_ms":
            return "serving TTFT", ttft_s * 1e3, dep
        if metric == "aggregate_tok_s":
            return "batched aggregate", tok_s, dep
        raise Unmapped(f"serving metric '{metric}' has no prediction")
    if test in ("offline", "server"):
        # Four TP2 replicas with an fp8 KV cache (the TensorRT-LLM submission's setting), each running as many
        # sequences as KV memory holds; per batch: every prompt prefilled, then the outputs decoded together.
        tp = 2
        replica = build_deployment(
            builtin_catalog(),
            hardware=dep.hardware.id,
            model=dep.model.id,
            quant=dep.quant.id,
            engine=dep.engine.id,
            gpus=tp,
            kv_dtype="fp8",
        )
        b = max_concurrent_sequences(replica, MLPERF_PROMPT_TOKENS + MLPERF_OUTPUT_TOKENS)
        step = step_seconds(replica, decode_load(replica, b, MLPERF_PROMPT_TOKENS + MLPERF_OUTPUT_TOKENS / 2))
        per_batch_s = MLPERF_OUTPUT_TOKENS * step + b * prefill_seconds(replica, MLPERF_PROMPT_TOKENS)
        return "batched aggregate", dep.num_devices // tp * b * MLPERF_OUTPUT_TOKENS / per_batch_s, replica
    raise Unmapped(f"test '{test}' has no prediction")


def _fp8_kv(dep: Deployment) -> Deployment:
    """TensorRT-LLM serving an FP8 checkpoint keeps its KV cache in FP8: NVIDIA's Model Optimizer writes
    `kv_cache_quant_algo: FP8` into the FP8 checkpoints it exports (its hf_quant_config.json, e.g. the example in
    its `convert_hf_quant_config_format` docstring), and TensorRT-LLM follows the checkpoint."""
    if dep.engine.id != "tensorrt-llm" or dep.quant.compute_dtype != "fp8":
        return dep
    return dataclasses.replace(dep, kv_dtype=builtin_catalog().kv_dtype_by_id("fp8"))


@functools.cache
def _closed_loop(dep: Deployment, users: int, prompt: int, out: int) -> tuple[float, float, float]:
    """(median TTFT s, median inter-token latency s, generated tok/s) of `users` closed-loop users sending `prompt`
    tokens for `out` back to back, as `tokenlane simulate` runs them (the engine's queue and KV admission included):
    SERVING_CYCLES of the cycle the steady-state formula estimates, the first quarter left out as warm-up."""
    cycle_s = users * prefill_seconds(dep, prompt) + out * step_seconds(dep, decode_load(dep, users, prompt + out / 2))
    window_s = SERVING_CYCLES * cycle_s
    fixed = {"prompt_tokens": {"mean": prompt, "p90": prompt}, "output_tokens": {"mean": out, "p90": out}}
    workload = Workload(users=users, active_hours=window_s / 3600, arrival="closed_loop", think_time_s=0, **fixed)
    log = simulate_day(dep, workload).log
    assert log is not None
    warm = np.isfinite(log.finished_s) & (log.arrival_s >= window_s / 4) & (log.generated_tokens > 1)
    ttft = np.median(log.first_token_s[warm] - log.arrival_s[warm])
    itl = np.median((log.finished_s[warm] - log.first_token_s[warm]) / (log.generated_tokens[warm] - 1))
    cycle = np.mean(log.finished_s[warm] - log.arrival_s[warm])  # no think time: each user's next request follows
    return float(ttft), float(itl), float(users * np.mean(log.generated_tokens[warm]) / cycle)


def source_key(source: str) -> str:
    """A row's source without its parenthesised build or date: rows of one page or file are one source."""
    return source.split(" (")[0].strip()


def _error(
    rec: dict[str, str], kind: str, measured: float, predicted: float, dep: Deployment
) -> tuple[HeldOutError, tuple[str, str, str, str]]:
    """The row as a prediction error of its family (see `tokenlane.capacity.uncertainty`)."""
    is_time = rec["metric"].endswith("_ms")
    ratio = predicted / measured if is_time else measured / predicted
    prompt, depth, out = int(rec["prompt_tokens"] or 0), int(rec["context_depth"] or 0), int(rec["output_tokens"] or 0)
    metric = "prefill" if kind in ("prefill", "serving TTFT") else "decode"
    if rec["test"] in ("offline", "server"):  # MLPerf: as many sequences as KV memory holds (`_predict`)
        batch = max_concurrent_sequences(dep, MLPERF_PROMPT_TOKENS + MLPERF_OUTPUT_TOKENS)
    else:
        batch = 1 if kind in ("prefill", "single-stream decode") else max(1, int(rec["batch"] or 1))
    context = prompt + depth if metric == "prefill" else depth + prompt + out // 2
    error = error_row(dep, ratio, source=source_key(rec["source"]), batch=batch, context=context)
    return error, (kernel_family(dep.engine.id), hardware_class(dep), metric, regime_of(batch))


def collect(sources: list[Path]) -> tuple[list[Row], list[tuple[str, str]]]:
    """(compared rows, (row, why skipped) for every row that could not be compared)."""
    rows: list[Row] = []
    skipped: list[tuple[str, str]] = []
    for path in sources:
        with path.open(newline="") as fh:
            for number, rec in enumerate(csv.DictReader(fh), start=2):
                label = (
                    f"{rec['hardware']} {rec['model']} {rec['quant']} {rec['test']} b={rec['batch'] or '-'} d={rec['context_depth'] or 0}"
                )
                try:
                    kind, value, dep = _predict(rec)
                except Unmapped as why:
                    skipped.append((f"{path.name}:{number} {label}", str(why)))
                    continue
                dataset = f"{rec['source'].split()[0]}"
                low_load = kind == "prefill" or (kind == "serving TTFT" and rec["batch"] == "1")
                batch = int(rec["batch"]) if rec["batch"].isdigit() else None
                measured = float(rec["value"])
                in_sample = any(
                    src in rec["source"] and model == rec["model"].lower() and test == rec["test"] for src, model, test in FITTED
                )
                error, family = (None, None)
                if dep is not None and dep.engine.id != "pytorch" and not in_sample:  # a bare loop of ours is no engine a user runs
                    error, family = _error(rec, kind, measured, value, dep)
                row = Row(f"{kind} | {dataset}", label, rec["metric"], measured, value, low_load=low_load, batch=batch)
                rows.append(dataclasses.replace(row, error=error, family=family, in_sample=in_sample))
    return rows, skipped


def families_doc(rows: list[Row]) -> dict[str, object]:
    """The catalog's `prediction_errors` section from the compared rows: one entry per family."""
    by_family: dict[tuple[str, str, str, str], list[HeldOutError]] = {}
    for r in rows:
        if r.error is not None and r.family is not None:
            by_family.setdefault(r.family, []).append(r.error)
    entries = []
    for (engine, hw_class, metric, regime), errors in sorted(by_family.items()):
        entries.append(
            {
                "id": f"{engine}-{hw_class}-{metric}-{regime}",
                "name": f"{engine} on {hw_class}, {metric}, {'one stream' if regime == 'single' else 'several sequences'}",
                "engine": engine,
                "hardware_class": hw_class,
                "metric": metric,
                "regime": regime,
                "rows": [e.model_dump() for e in errors],
                "source": "benchmarks/validate_capacity.py --write-errors: the public rows of ../shared/data/reference-measurements.csv "
                "and benchmarks/data/*.csv against this version's predictions (each row names its source)",
                "as_of": "2026-12-03",
            }
        )
    return {"prediction_errors": entries}


def held_out(rows: list[Row]) -> list[tuple[Row, float, float]]:
    """(row, interval low, high, in the row's unit) for every row with a family, its interval built from the rows of
    every *other* source (leave one source out); rows no family of other sources covers are left out."""
    with_error = [r for r in rows if r.error is not None and r.family is not None]
    tagged = [Tagged(*r.family[:2], None, *r.family[2:], r.error) for r in with_error]  # type: ignore[index, misc]
    out = []
    for r, t in zip(with_error, tagged, strict=True):
        e = t.row
        point = Point(t.engine, t.hardware_class, "-", t.metric, t.regime, e.shape, e.batch, e.context, e.params_b)
        iv = interval_among([o for o in tagged if o.row.source != e.source], point)
        if iv is not None:
            lo, hi = iv.time(r.predicted) if r.metric.endswith("_ms") else iv.speed(r.predicted)
            out.append((r, lo, hi))
    return out


GOALS_PCT = {"ALL single-stream decode": 12.0, "ALL batched aggregate": 15.0, "ALL prefill and TTFT at low load": 25.0}
"""The documented bounds (docs/capacity.md) on each group's median absolute error, percent; the batched bound holds at
every batch size up to MAX_GOAL_BATCH (tests/integration/test_accuracy_guard.py fails past them)."""


def grouped(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows by dataset, and the ALL groups the goals are stated on."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.dataset, []).append(r)
    for kind in ("single-stream decode", "batched aggregate"):
        groups[f"ALL {kind}"] = [r for r in rows if r.dataset.startswith(kind)]
    groups["ALL prefill and TTFT at low load"] = [r for r in rows if r.low_load]
    for r in groups["ALL batched aggregate"]:
        if r.batch is not None and r.batch <= MAX_GOAL_BATCH:  # the goal holds at every batch size up to 32
            groups.setdefault(f"ALL batched aggregate, batch {r.batch:2d}", []).append(r)
    return groups


def goal_of(group: str) -> float | None:
    """The documented bound on a group's median error, percent (None: no bound is stated for it)."""
    return next((bound for name, bound in GOALS_PCT.items() if group == name or group.startswith(name + ",")), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", action="store_true", help="print every row")
    parser.add_argument("--without-shared", action="store_true", help="validate on benchmarks/data alone")
    parser.add_argument("--write-errors", action="store_true", help=f"rewrite {ERRORS_YAML.name} from the rows compared")
    args = parser.parse_args()
    if not SHARED.exists() and not args.without_shared:
        print(f"validate_capacity: {SHARED} is missing (the public reference set); pass --without-shared to use benchmarks/data alone")
        sys.exit(2)
    rows, skipped = collect(([SHARED] if SHARED.exists() else []) + LOCAL)
    if args.rows:
        print(f"{'row':90} {'metric':16} {'measured':>10} {'predicted':>10} {'err%':>7}")
        for r in rows:
            print(f"{r.label[:90]:90} {r.metric:16} {r.measured:10.2f} {r.predicted:10.2f} {(r.predicted / r.measured - 1) * 100:+7.1f}")
        print()
    groups = grouped(rows)
    print(f"| {'what | dataset':70} | {'n':>3} | {'median APE %':>12} | {'max APE %':>9} |")
    print(f"|{'-' * 72}|{'-' * 5}|{'-' * 14}|{'-' * 11}|")
    for name in sorted(groups):
        g = groups[name]
        if g:
            apes = [r.ape for r in g]
            print(f"| {name:70} | {len(g):3d} | {statistics.median(apes):12.1f} | {max(apes):9.1f} |")
    print(f"\n{len(rows) + len(skipped)} rows read: {len(rows)} compared, {len(skipped)} skipped")
    for where, why in skipped:
        print(f"  skipped {where}: {why}")
    print(f"  in-sample (a tuning script fitted to them, left out of what follows): {sum(r.in_sample for r in rows)}")
    print_held_out(held_out(rows))
    if args.write_errors:
        if not SHARED.exists():
            print("validate_capacity: --write-errors needs the public reference set too (../shared)")
            sys.exit(2)
        header = "# Generated by `python benchmarks/validate_capacity.py --write-errors`; do not edit by hand.\n"
        ERRORS_YAML.write_text(header + yaml.safe_dump(families_doc(rows), sort_keys=False, width=140), encoding="utf-8")
        print(f"wrote {ERRORS_YAML}")


def print_held_out(found: list[tuple[Row, float, float]]) -> None:
    """Coverage and width of the leave-one-source-out intervals, by what is compared and by source."""
    groups: dict[str, list[tuple[Row, float, float]]] = {}
    for item in found:
        r = item[0]
        assert r.family is not None
        groups.setdefault(f"ALL {r.family[2]}, {'one stream' if r.family[3] == 'single' else 'several sequences'}", []).append(item)
        groups.setdefault("ALL", []).append(item)
        groups.setdefault(f"source {source_key(r.error.source if r.error else '')}", []).append(item)
    print("\nHeld out (leave one source out): each row's 80% interval from the other sources' rows")
    print(f"| {'group':70} | {'n':>3} | {'median APE %':>12} | {'inside %':>8} | {'median half-width %':>19} |")
    print(f"|{'-' * 72}|{'-' * 5}|{'-' * 14}|{'-' * 10}|{'-' * 21}|")
    for name in sorted(groups):
        g = groups[name]
        inside = sum(lo <= r.measured <= hi for r, lo, hi in g) / len(g) * 100
        half = statistics.median((hi - lo) / 2 / r.predicted * 100 for r, lo, hi in g)
        ape = statistics.median(r.ape for r, _, _ in g)
        print(f"| {name[:70]:70} | {len(g):3d} | {ape:12.1f} | {inside:8.0f} | {half:19.1f} |")
    per_source = [sum(lo <= r.measured <= hi for r, lo, hi in g) / len(g) * 100 for name, g in groups.items() if name.startswith("source ")]
    mean = statistics.mean(per_source)
    print(f"Each source weighted alike (mean of the sources' shares inside): {mean:.0f}% over {len(per_source)} sources")


if __name__ == "__main__":
    main()
