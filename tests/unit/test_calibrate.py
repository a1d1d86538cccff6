"""`tokenlane calibrate`: real file shapes read; known parameters recovered from measurements the model itself made;
what the data cannot determine stays at the catalog's value; bad files are one line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog, count_params, load_catalog
from tokenlane.calibrate import Measurement, calibrate, predict, read_measurements
from tokenlane.capacity.memory import weight_bytes

CATALOG = builtin_catalog()
DEP = build_deployment(CATALOG, hardware="rtx-4090", model="qwen3-8b", quant="q4_k_m", engine="llama.cpp")
TRUE = {"bandwidth_utilization": 0.83, "step_overhead_ms": 3.1, "compute_utilization": 0.22}


def _record(prompt: int, gen: int, depth: int, tok_s: float) -> dict[str, object]:
    """One llama-bench JSON record, fields as in ggml-org/llama.cpp tools/llama-bench/README.md."""
    return {
        "build_commit": "8cf427ff",
        "build_number": 5163,
        "backends": "CUDA",
        "model_filename": "models/Qwen3-8B-Q4_K_M.gguf",
        "model_type": "qwen3 8B Q4_K - Medium",
        "model_size": 5027783488,
        "model_n_params": 8190735360,
        "n_batch": 2048,
        "n_ubatch": 512,
        "type_k": "f16",
        "type_v": "f16",
        "n_gpu_layers": 99,
        "flash_attn": True,
        "n_prompt": prompt,
        "n_gen": gen,
        "n_depth": depth,
        "test_time": "2026-11-20T11:58:50Z",
        "avg_ns": 1,
        "stddev_ns": 0,
        "avg_ts": tok_s,
        "stddev_ts": 0.1,
    }


def _truth_file(tmp_path: Path, tests: list[tuple[int, int, int]], fmt: str = "json") -> Path:
    """llama-bench output whose numbers the roofline with TRUE parameters makes."""
    truth = dataclasses.replace(DEP, engine=DEP.engine.model_copy(update=TRUE))
    records = []
    for prompt, gen, depth in tests:
        kind = "prefill" if gen == 0 else "decode"
        m = Measurement(kind, 1.0, context=depth + gen / 2, prompt=prompt, depth=depth)
        seconds = predict(truth, m)
        records.append(_record(prompt, gen, depth, prompt / seconds if kind == "prefill" else 1 / seconds))
    path = tmp_path / f"bench.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(records, indent=2))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_known_parameters_are_recovered_from_the_models_own_numbers(tmp_path: Path, fmt: str) -> None:
    tests = [(0, 128, 0), (0, 128, 8192), (0, 128, 32768), (512, 0, 0), (2048, 0, 0)]
    points = read_measurements(_truth_file(tmp_path, tests, fmt))
    assert [m.kind for m in points] == ["decode", "decode", "decode", "prefill", "prefill"]
    result = calibrate(DEP, points)
    fitted = {f.name: f.value for f in result.fitted}
    for name, value in TRUE.items():
        assert fitted[name] == pytest.approx(value, rel=0.02), name
    assert all(after / m.seconds == pytest.approx(1.0, abs=0.01) for m, _, after in result.points)


def test_what_the_points_cannot_tell_apart_stays_at_the_catalog_value(tmp_path: Path) -> None:
    points = read_measurements(_truth_file(tmp_path, [(0, 128, 0)]))
    result = calibrate(DEP, points)
    assert [f.name for f in result.fitted] == ["bandwidth_utilization"]
    assert set(result.kept) == {"step_overhead_ms", "compute_utilization"}
    assert result.fitted[0].std_error is None  # one point, one parameter


def test_vllm_and_tokenlane_results_are_read_as_decode_steps_and_prefill(tmp_path: Path) -> None:
    vllm = {
        "date": "20261120-101500",
        "backend": "vllm",
        "model_id": "Qwen/Qwen3-8B",
        "max_concurrency": 1,
        "completed": 100,
        "total_input_tokens": 102400,
        "total_output_tokens": 12800,
        "median_ttft_ms": 45.0,
        "median_tpot_ms": 9.5,
        "output_throughput": 100.0,
    }
    path = tmp_path / "vllm.json"
    path.write_text(json.dumps(vllm))
    decode, prefill = read_measurements(path)
    assert decode.seconds == pytest.approx(0.0095) and decode.batch == 1 and decode.context == pytest.approx(1024 + 64)
    assert prefill.kind == "prefill" and prefill.prompt == 1024 and prefill.seconds == pytest.approx(0.045)


def test_the_cli_prints_errors_before_and_after_and_writes_an_overlay_every_command_takes(tmp_path: Path) -> None:
    source = _truth_file(tmp_path, [(0, 128, 0), (0, 128, 8192), (0, 128, 32768), (512, 0, 0)])
    overlay = tmp_path / "overlay.yaml"
    args = ["calibrate", str(source), "--hardware", "rtx-4090", "--engine", "llama.cpp", "--model", "qwen3-8b", "--quant", "q4_k_m"]
    result = invoke(*args, "--out", str(overlay))
    assert result.exit_code == 0, result.stderr
    assert "calibrated" in result.stdout and "fitted bandwidth_utilization" in result.stdout
    catalog = load_catalog([overlay])
    engine = catalog.engines["llama.cpp-on-rtx-4090"]
    assert engine.bandwidth_utilization == pytest.approx(TRUE["bandwidth_utilization"], rel=0.02)
    assert "bench.json" in engine.source and str(engine.as_of) == "2026-11-20"
    quant = next(q for q in catalog.quants.values() if q.id.startswith("file-"))
    model = catalog.models["qwen3-8b"]
    file_bits = 5027783488 * 8 / 8190735360  # the file's bytes over the model's weights, its named format's mix
    assert weight_bytes(model, quant).total == pytest.approx(file_bits * count_params(model).total / 8)
    named = catalog.quants["q4_k_m"]  # the file's size, the named format's mix and kernels
    assert quant.lm_head_bits_per_weight / quant.bits_per_weight == pytest.approx(named.lm_head_bits_per_weight / named.bits_per_weight)
    assert named.dequant_rows > 0 and quant.dequant_rows == named.dequant_rows and quant.format == named.format == "gguf"
    capacity = invoke(
        "capacity",
        "--hardware",
        "rtx-4090",
        "--model",
        "qwen3-8b",
        "--quant",
        quant.id,
        "--engine",
        engine.id,
        "--catalog",
        str(overlay),
        "--json",
    )
    assert capacity.exit_code == 0, capacity.stderr
    # The box's own rows narrow its interval: the fit reproduces them, so the floor width is all that is left.
    point = json.loads(capacity.stdout)["points"][0]
    assert point["range_basis"].startswith("decode: your own decode rows on this rtx-4090")
    low, high = point["per_user_tok_s_range"]
    assert low < point["per_user_tok_s"] < high and high / low < 1.25
    family = catalog.prediction_errors["llama.cpp-on-rtx-4090-decode-own"]
    assert family.hardware == "rtx-4090" and len(family.rows) == 3 and all(abs(r.log_ratio) < 0.02 for r in family.rows)


def test_bad_benchmark_files_are_one_line(tmp_path: Path) -> None:
    args = ["--hardware", "rtx-4090", "--engine", "llama.cpp", "--model", "qwen3-8b"]
    (tmp_path / "x.json").write_text('{"hello": 1}')
    assert_user_error(invoke("calibrate", str(tmp_path / "x.json"), *args), "x.json", "llama-bench")
    (tmp_path / "y.json").write_text(json.dumps([_record(0, 128, 0, -3.0)]))
    assert_user_error(invoke("calibrate", str(tmp_path / "y.json"), *args), "y.json", "avg_ts")
    (tmp_path / "z.csv").write_text("a,b\n1,2\n")
    assert_user_error(invoke("calibrate", str(tmp_path / "z.csv"), *args), "z.csv", "expected")


BATCHED = """llama_batched_bench: n_kv_max = 6144, n_batch = 2048, n_ubatch = 2048, flash_attn = 1, is_pp_shared = 0

|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|
|   512 |    128 |    1 |    640 |    0.250 |  2048.00 |    2.000 |    64.00 |    2.250 |   284.44 |
|   512 |    128 |    8 |   5120 |   12.001 |   341.31 |   14.565 |    70.30 |   26.566 |   192.73 |
"""


def test_a_llama_batched_bench_table_gives_decode_steps_per_batch_and_a_prefill(tmp_path: Path) -> None:
    path = tmp_path / "batched.txt"
    path.write_text(BATCHED)
    points = read_measurements(path)
    assert [(m.kind, m.batch) for m in points] == [("decode", 1), ("prefill", 1), ("decode", 8)]
    assert points[0].seconds == pytest.approx(2.0 / 128) and points[0].context == pytest.approx(512 + 64)
    assert points[1].seconds == pytest.approx(0.25) and points[1].prompt == 512
    assert points[2].seconds == pytest.approx(14.565 / 128)
    # Batch 8 at 576 tokens reads nearly the same bytes as batch 1 (the weights dominate): the points cannot tell the
    # step overhead from the bandwidth share, so the overhead stays at the catalog value and says why.
    result = calibrate(DEP, points)
    assert {f.name for f in result.fitted} == {"bandwidth_utilization", "compute_utilization"}
    assert "trades off" in result.kept["step_overhead_ms"]


def _aiperf(concurrency: int, itl_ms: float, ttft_ms: float) -> dict[str, object]:
    """profile_export_aiperf.json as ai-dynamo/aiperf docs/reference/command-outputs-and-artifacts.md shows it."""
    stats = lambda unit, value: {"unit": unit, "avg": value * 1.02, "p50": value, "p99": value * 1.3}  # noqa: E731
    return {
        "request_throughput": {"unit": "requests/sec", "avg": 0.25},
        "time_to_first_token": stats("ms", ttft_ms),
        "inter_token_latency": stats("ms", itl_ms),
        "input_sequence_length": stats("tokens", 1000),
        "output_sequence_length": stats("tokens", 200),
        "input_config": {"endpoint": {"model_names": ["Qwen/Qwen3-8B"], "type": "chat", "streaming": True},
                         "loadgen": {"concurrency": concurrency, "request_count": 64}},
        "start_time": "2026-11-07T13:38:54.793124",
    }  # fmt: skip


def test_an_aiperf_export_gives_a_decode_step_and_at_one_user_a_prefill(tmp_path: Path) -> None:
    one, eight = tmp_path / "c1.json", tmp_path / "c8.json"
    one.write_text(json.dumps(_aiperf(1, 18.2, 30.8)))
    eight.write_text(json.dumps({**_aiperf(8, 21.0, 95.0), "records": None}))
    decode, prefill = read_measurements(one)
    assert decode.seconds == pytest.approx(0.0182) and decode.batch == 1 and decode.context == pytest.approx(1020 + 204 / 2)  # means
    assert prefill.prompt == 1020 and prefill.seconds == pytest.approx(0.0308) and decode.as_of == "2026-11-07"
    (busy,) = read_measurements(eight)  # at 8 users the TTFT includes queueing: no prefill measurement
    assert busy.batch == 8 and busy.seconds == pytest.approx(0.021)
    nested = tmp_path / "nested.json"
    doc = _aiperf(4, 19.0, 40.0)
    nested.write_text(json.dumps({"input_config": doc["input_config"], "records": {k: doc[k] for k in doc if k != "input_config"}}))
    assert read_measurements(nested)[0].batch == 4  # some AIPerf versions nest the metrics under `records`


def _guidellm_benchmark(strategy: dict[str, object], itl_ms: float, ttft_ms: float) -> dict[str, object]:
    """One entry of a GuideLLM benchmarks.json, metrics as in vllm-project/guidellm GenerativeMetrics."""
    dist = lambda value: {"successful": {"mean": value * 1.05, "median": value, "percentiles": {"p50": value, "p95": value * 1.4}}}  # noqa: E731
    return {
        "type_": "generative_benchmark",
        "config": {"strategy": strategy, "profile": {"type_": "sweep"}},
        "metrics": {
            "request_totals": {"successful": 100, "incomplete": 0, "errored": 0, "total": 100},
            "inter_token_latency_ms": dist(itl_ms),
            "time_to_first_token_ms": dist(ttft_ms),
            "prompt_token_count": dist(512),
            "output_token_count": dist(256),
        },
    }


def test_a_guidellm_report_gives_one_decode_step_per_fixed_concurrency_benchmark(tmp_path: Path) -> None:
    report = {
        "metadata": {"guidellm_version": "0.5.3"},
        "benchmarks": [
            _guidellm_benchmark({"type_": "synchronous"}, 10.0, 40.0),
            _guidellm_benchmark({"type_": "concurrent", "streams": 16, "worker_count": 4}, 14.0, 120.0),
            _guidellm_benchmark({"type_": "constant", "rate": 5.0}, 12.0, 60.0),  # rate-driven: left out
        ],
    }
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(report))
    sync, sync_ttft, concurrent = read_measurements(path)
    assert (sync.batch, sync.seconds, sync.context) == (1, pytest.approx(0.010), pytest.approx(512 * 1.05 + 256 * 1.05 / 2))  # means
    assert sync_ttft.kind == "prefill" and sync_ttft.seconds == pytest.approx(0.040)
    assert concurrent.batch == 16 and concurrent.seconds == pytest.approx(0.014)
    report["benchmarks"] = [report["benchmarks"][2]]
    path.write_text(json.dumps(report))
    args = ["calibrate", str(path), "--hardware", "rtx-4090", "--engine", "vllm", "--model", "qwen3-8b", "--quant", "int4-awq"]
    assert_user_error(invoke(*args), "benchmarks.json", "rate-driven")


def test_a_fit_the_points_cannot_tell_from_the_catalog_keeps_the_catalog_value() -> None:
    """Points the catalog predicts up to ±4% scatter: the bandwidth share fitted to them lies within two standard
    errors of the catalog's, so it is not a finding — the catalog value stays, and the result says why."""
    dep = dataclasses.replace(DEP, engine=DEP.engine.model_copy(update={"bandwidth_utilization": 0.8}))  # off its bound
    tests = [(0, 128, depth) for depth in (0, 4096, 8192, 16384, 32768, 65536)]
    scatter = [1.04, 0.96, 1.04, 0.96, 0.96, 1.04]
    points = [
        Measurement("decode", predict(dep, Measurement("decode", 1.0, context=depth + gen / 2)) * k, context=depth + gen / 2)
        for (_, gen, depth), k in zip(tests, scatter, strict=True)
    ]
    result = calibrate(dep, points)
    assert "bandwidth_utilization" not in {f.name for f in result.fitted}
    assert "standard errors" in result.kept["bandwidth_utilization"]
    assert result.engine.bandwidth_utilization == 0.8
