"""Benchmark outputs people already have, read as measurements the roofline can predict.

- `llama-bench` (`-o json`, `-o jsonl`, `-o csv`): one record per test: `n_prompt`, `n_gen`, `n_depth`, `avg_ts`
  (tokens/s), `model_size` (bytes) and `model_n_params` (the file's real bits per weight), `test_time`.
  A `pp` test (n_gen 0) is prefill tok/s; a `tg` test (n_prompt 0) is one stream's decode tok/s.
  # Source: ggml-org/llama.cpp tools/llama-bench/README.md, "Output formats".
- `llama-batched-bench` markdown tables (`| PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | ...`): each
  row's T_TG / TG is one decode step of B sequences over contexts PP..PP+TG; a B = 1 row's T_PP is one prefill.
  # Source: ggml-org/llama.cpp tools/batched-bench/README.md, "Sample results".
- `vllm bench serve --save-result` JSON: `max_concurrency`, `median_tpot_ms`, `median_ttft_ms`,
  `total_input_tokens`, `total_output_tokens`, `completed`, `date`. At concurrency c the median TPOT is one decode
  step of c sequences; TTFT at concurrency 1 is one prompt's prefill.
  # Source: vllm-project/vllm benchmarks (benchmark_serving.py / `vllm bench serve`), the saved result dictionary.
- tokenlane's own bench `summary.json` (`tokenlane bench`): per level `concurrency`, `per_user_tok_s.p50`,
  `ttft_s.p50`, with the run's `prompt_tokens` and `output_tokens`.
- AIPerf `profile_export_aiperf.json`: metrics as `{unit, avg, p50, ...}` objects at the top level (or under
  `records`): `inter_token_latency` and `time_to_first_token` (ms), `input_sequence_length` and
  `output_sequence_length` (tokens), the load in `input_config.loadgen.concurrency`, the run's `start_time`. The
  median inter-token latency at concurrency c is one decode step of c sequences; TTFT at concurrency 1 a prefill.
  # Source: ai-dynamo/aiperf docs/reference/command-outputs-and-artifacts.md, "Aggregated Statistics JSON".
- GuideLLM `benchmarks.json` (`--output-path`): one entry per benchmark in `benchmarks`, its load in
  `config.strategy` (`type_` concurrent with `streams`, or synchronous), metrics as status distributions:
  `metrics.inter_token_latency_ms.successful.median`, `time_to_first_token_ms`, `prompt_token_count`,
  `output_token_count` (`.successful.mean`). Rate-driven benchmarks (constant, poisson, throughput) have no fixed
  concurrency and are left out, counted in the label of what was read.
  # Source: vllm-project/guidellm src/guidellm/benchmark/schemas/generative/metrics.py (GenerativeMetrics).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tokenlane.errors import InputError
from tokenlane.files import regular_file

FORMATS = (
    "llama-bench JSON/JSONL/CSV",
    "llama-batched-bench tables",
    "vllm bench serve JSON",
    "AIPerf profile export JSON",
    "GuideLLM benchmarks.json",
    "tokenlane bench summary.json",
)
"""The benchmark outputs `read_measurements` recognises (the module docstring describes each)."""

MAX_BYTES = 64 << 20


@dataclass(frozen=True)
class Measurement:
    """One measured number the roofline predicts."""

    kind: Literal["decode", "prefill"]
    """decode: seconds per decode step of `batch` sequences at `context` tokens; prefill: seconds to prefill
    `prompt` tokens after `depth` cached ones."""
    seconds: float
    batch: int = 1
    context: float = 0.0
    prompt: int = 0
    depth: int = 0
    file: str = ""
    label: str = ""
    as_of: str = ""
    bits_per_weight: float | None = None
    """The weights file's real bits per weight, where the file says (llama-bench)."""


def read_measurements(path: str | Path) -> list[Measurement]:
    """The measurements in a benchmark file of any supported format (recognised by its content)."""
    name = str(path)
    regular_file(path, what="benchmark file")
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=name) from exc
    if len(text) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES >> 20} MiB", path=name)
    stripped = text.lstrip()
    if BATCHED_HEADER.search(text):
        return _batched_bench(text, name)
    records: list[dict[str, Any]]
    if stripped.startswith(("[", "{")):
        try:
            doc = json.loads(text)
            records = doc if isinstance(doc, list) else [doc]
        except json.JSONDecodeError:
            records = _jsonl(text, name)
    else:
        records = list(csv.DictReader(text.splitlines()))
    if not records or not all(isinstance(r, dict) for r in records):
        raise InputError(EXPECTED, path=name)
    first = records[0]
    if "avg_ts" in first and "n_prompt" in first:
        return [m for i, r in enumerate(records, start=1) if (m := _llama_bench(r, name, i)) is not None]
    if "median_tpot_ms" in first or "median_ttft_ms" in first:
        return _vllm(first, name)
    if "levels" in first and "definitions" in first:
        return _tokenlane(first, name)
    if isinstance(first.get("benchmarks"), list):
        return _guidellm(first, name)
    if isinstance(first.get("input_config"), dict) and (
        "inter_token_latency" in first or "inter_token_latency" in (first.get("records") or {})
    ):
        return _aiperf(first, name)
    raise InputError(EXPECTED, path=name)


BATCHED_HEADER = re.compile(r"^\|\s*PP\s*\|\s*TG\s*\|\s*B\s*\|\s*N_KV\s*\|\s*T_PP s\s*\|\s*S_PP t/s\s*\|\s*T_TG s\s*\|", re.MULTILINE)


def _batched_bench(text: str, name: str) -> list[Measurement]:
    out = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 8 or not cells[0].isdigit():
            continue
        try:
            pp, tg, b = int(cells[0]), int(cells[1]), int(cells[2])
            t_pp, t_tg = float(cells[4]), float(cells[6])
        except ValueError as exc:
            raise InputError(f"line {line_no}: a llama-batched-bench row with a non-number ({exc})", path=name) from None
        if min(pp, tg, b) <= 0 or not (math.isfinite(t_pp) and math.isfinite(t_tg)) or t_tg <= 0:
            raise InputError(f"line {line_no}: PP, TG, B and T_TG must be positive", path=name)
        common = {"file": Path(name).name}
        out.append(Measurement("decode", t_tg / tg, batch=b, context=pp + tg / 2, label=f"batched pp{pp} tg{tg} B{b}", **common))
        if b == 1 and t_pp > 0:
            out.append(Measurement("prefill", t_pp, prompt=pp, label=f"batched pp{pp} B1", **common))
    if not out:
        raise InputError("a llama-batched-bench table without rows", path=name)
    return out


EXPECTED = (
    "not a benchmark file tokenlane reads: expected llama-bench -o json/jsonl/csv (avg_ts, n_prompt, n_gen), "
    "a llama-batched-bench table, a `vllm bench serve --save-result` JSON (median_tpot_ms, median_ttft_ms), "
    "an AIPerf profile_export_aiperf.json, a GuideLLM benchmarks.json or a tokenlane bench summary.json"
)


def _jsonl(text: str, name: str) -> list[dict[str, Any]]:
    out = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"line {line_no}: not JSON ({exc.msg}); {EXPECTED}", path=name) from exc
    return out


def _number(rec: dict[str, Any], key: str, name: str, where: str, *, positive: bool = False) -> float:
    value = rec.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{where}: {key} must be a number, got {value!r}", path=name) from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise InputError(f"{where}: {key} must be a {'positive' if positive else 'non-negative'} number, got {value!r}", path=name)
    return number


def _llama_bench(rec: dict[str, Any], name: str, index: int) -> Measurement | None:
    where = f"record {index}"
    prompt, gen = int(_number(rec, "n_prompt", name, where)), int(_number(rec, "n_gen", name, where))
    depth = int(_number(rec, "n_depth", name, where)) if rec.get("n_depth") not in (None, "") else 0
    tok_s = _number(rec, "avg_ts", name, where, positive=True)
    bits = None
    if rec.get("model_size") and rec.get("model_n_params"):
        bits = _number(rec, "model_size", name, where, positive=True) * 8 / _number(rec, "model_n_params", name, where, positive=True)
    common = {"file": Path(name).name, "as_of": str(rec.get("test_time", ""))[:10], "bits_per_weight": bits}
    if prompt > 0 and gen == 0:
        return Measurement("prefill", prompt / tok_s, prompt=prompt, depth=depth, label=f"pp{prompt} @ d{depth}", **common)
    if gen > 0 and prompt == 0:
        return Measurement("decode", 1.0 / tok_s, context=depth + gen / 2, label=f"tg{gen} @ d{depth}", **common)
    return None  # a combined pp+tg test mixes both phases: not one term of the roofline


def _vllm(doc: dict[str, Any], name: str) -> list[Measurement]:
    done = _number(doc, "completed", name, "result", positive=True)
    prompt = _number(doc, "total_input_tokens", name, "result", positive=True) / done
    output = _number(doc, "total_output_tokens", name, "result", positive=True) / done
    concurrency = int(doc.get("max_concurrency") or 1)
    common = {"file": Path(name).name, "as_of": str(doc.get("date", ""))[:8]}
    out = [
        Measurement(
            "decode", _number(doc, "median_tpot_ms", name, "result", positive=True) / 1000.0, batch=concurrency,
            context=prompt + output / 2, label=f"TPOT at concurrency {concurrency}", **common,
        )
    ]  # fmt: skip
    if concurrency == 1 and doc.get("median_ttft_ms"):
        ttft = _number(doc, "median_ttft_ms", name, "result", positive=True) / 1000.0
        out.append(Measurement("prefill", ttft, prompt=round(prompt), label="TTFT at concurrency 1", **common))
    return out


def _tokenlane(doc: dict[str, Any], name: str) -> list[Measurement]:
    prompt = _number(doc, "prompt_tokens", name, "summary", positive=True)
    output = doc.get("output_tokens")
    output = float(output) if isinstance(output, int | float) else 0.0
    out = []
    for i, level in enumerate(doc.get("levels") or [], start=1):
        c = level.get("concurrency")
        speed = (level.get("per_user_tok_s") or {}).get("p50")
        if not isinstance(c, int) or not isinstance(speed, int | float) or speed <= 0:
            continue
        common = {"file": Path(name).name, "as_of": str(doc.get("written_at", ""))[:10]}
        out.append(Measurement("decode", 1.0 / speed, batch=c, context=prompt + output / 2, label=f"level {i}: {c} users", **common))
        ttft = (level.get("ttft_s") or {}).get("p50")
        if c == 1 and isinstance(ttft, int | float) and ttft > 0:
            out.append(Measurement("prefill", ttft, prompt=round(prompt), label=f"level {i}: TTFT alone", **common))
    return out


def _stat(metric: Any, name: str, where: str, *keys: str) -> float | None:
    """The first of `keys` in a metric object (AIPerf `{avg, p50}`, GuideLLM `{median, mean, percentiles}`), as a
    positive number; None when the metric is absent."""
    if metric is None:
        return None
    if not isinstance(metric, dict):
        raise InputError(f"{where}: expected an object of statistics, got {metric!r}", path=name)
    for key in keys:
        value = metric.get(key, (metric.get("percentiles") or {}).get(key))
        if value is not None:
            return _number({key: value}, key, name, where, positive=True)
    raise InputError(f"{where}: none of {', '.join(keys)} given", path=name)


def _aiperf(doc: dict[str, Any], name: str) -> list[Measurement]:
    metrics = doc.get("records") if isinstance(doc.get("records"), dict) else doc
    loadgen = (doc.get("input_config") or {}).get("loadgen") or {}
    concurrency = int(_number({"c": loadgen.get("concurrency", 1)}, "c", name, "input_config.loadgen.concurrency", positive=True))
    itl = _stat(metrics.get("inter_token_latency"), name, "inter_token_latency", "p50", "avg")
    prompt = _stat(metrics.get("input_sequence_length"), name, "input_sequence_length", "avg", "p50")
    output = _stat(metrics.get("output_sequence_length"), name, "output_sequence_length", "avg", "p50") or 0.0
    if itl is None or prompt is None:
        raise InputError("an AIPerf export without inter_token_latency and input_sequence_length (did every request fail?)", path=name)
    common = {"file": Path(name).name, "as_of": str(doc.get("start_time", ""))[:10]}
    out = [
        Measurement(
            "decode", itl / 1000.0, batch=concurrency, context=prompt + output / 2, label=f"ITL at concurrency {concurrency}", **common
        )
    ]
    ttft = _stat(metrics.get("time_to_first_token"), name, "time_to_first_token", "p50", "avg")
    if concurrency == 1 and ttft is not None:
        out.append(Measurement("prefill", ttft / 1000.0, prompt=round(prompt), label="TTFT at concurrency 1", **common))
    return out


def _guidellm(doc: dict[str, Any], name: str) -> list[Measurement]:
    out = []
    skipped = 0
    for i, bench in enumerate(doc["benchmarks"], start=1):
        where = f"benchmarks[{i - 1}]"
        if not isinstance(bench, dict):
            raise InputError(f"{where}: expected an object", path=name)
        strategy = (bench.get("config") or {}).get("strategy") or {}
        kind = strategy.get("type_")
        if kind == "synchronous":
            concurrency = 1
        elif kind == "concurrent":
            concurrency = int(_number(strategy, "streams", name, f"{where}.config.strategy", positive=True))
        else:
            skipped += 1  # a rate-driven benchmark: no fixed number of sequences decoding together
            continue
        metrics = bench.get("metrics") or {}

        def successful(key: str, *stats: str, metrics: dict[str, Any] = metrics, where: str = where) -> float | None:
            return _stat((metrics.get(key) or {}).get("successful"), name, f"{where}.metrics.{key}.successful", *stats)

        itl = successful("inter_token_latency_ms", "median", "p50", "mean")
        prompt = successful("prompt_token_count", "mean", "median")
        if itl is None or prompt is None:
            raise InputError(f"{where}: no successful inter_token_latency_ms and prompt_token_count", path=name)
        output = successful("output_token_count", "mean", "median") or 0.0
        common = {"file": Path(name).name, "label": f"{where} {kind} {concurrency}"}
        out.append(Measurement("decode", itl / 1000.0, batch=concurrency, context=prompt + output / 2, **common))
        ttft = successful("time_to_first_token_ms", "median", "p50", "mean")
        if concurrency == 1 and ttft is not None:
            out.append(Measurement("prefill", ttft / 1000.0, prompt=round(prompt), **{**common, "label": common["label"] + " TTFT"}))
    if not out:
        raise InputError(
            f"a GuideLLM file without a concurrent or synchronous benchmark ({skipped} rate-driven left out: their concurrency "
            "is not fixed)",
            path=name,
        )
    return out
