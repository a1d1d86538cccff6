"""`tokenlane capacity` and `tokenlane catalog` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke

DATA = Path(__file__).resolve().parent.parent / "data"


def test_defaults_run_and_print_a_table() -> None:
    result = invoke("capacity")
    assert result.exit_code == 0
    assert "qwen3-235b-a22b" in result.stdout and "aggregate" in result.stdout


def test_json_has_the_promised_fields() -> None:
    result = invoke(
        "capacity",
        "--model",
        "llama-3.1-8b",
        "--hardware",
        "h100-sxm",
        "--quant",
        "bf16",
        "--engine",
        "vllm",
        "--batch",
        "1,4,16",
        "--context",
        "2048",
        "--prompt-tokens",
        "512",
        "--json",
    )
    assert result.exit_code == 0
    doc = result.json()
    assert doc["fits"] is True
    assert isinstance(doc["max_concurrent_sequences"], int) and doc["max_concurrent_sequences"] > 16
    assert doc["weights_gb"] > 15 and doc["kv_bytes_per_token"] == 131072
    assert [p["batch"] for p in doc["points"]] == [1, 4, 16]
    for p in doc["points"]:
        assert set(p) >= {"batch", "context", "decode_step_ms", "per_user_tok_s", "aggregate_tok_s", "ttft_ms"}
        assert p["aggregate_tok_s"] == pytest.approx(p["per_user_tok_s"] * p["batch"])


def test_gpus_means_tensor_parallel() -> None:
    one = invoke("capacity", "--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--quant", "fp8", "--engine", "vllm", "--json").json()
    four = invoke(
        "capacity", "--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--gpus", "4", "--quant", "fp8", "--engine", "vllm", "--json"
    ).json()
    assert four["gpus"] == 4
    assert four["single_stream_tok_s"] > one["single_stream_tok_s"]
    assert four["max_concurrent_sequences"] > one["max_concurrent_sequences"]


def test_model_that_does_not_fit_is_a_result() -> None:
    result = invoke("capacity", "--model", "llama-3.1-405b", "--hardware", "rtx-4090", "--quant", "bf16", "--engine", "vllm", "--json")
    assert result.exit_code == 0
    doc = result.json()
    assert doc["fits"] is False and doc["shortfall_gb"] > 700
    assert doc["max_concurrent_sequences"] == 0


def test_model_config_file() -> None:
    doc = invoke(
        "capacity",
        "--model-config",
        str(DATA / "deepseek_config.json"),
        "--hardware",
        "h200",
        "--gpus",
        "8",
        "--quant",
        "fp8",
        "--engine",
        "sglang",
        "--json",
    ).json()
    assert doc["fits"] is True
    assert doc["kv_bytes_per_token"] == (512 + 64) * 2 * 61


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--hardware", "h100"), ("unknown hardware id 'h100'", "h100-sxm")),
        (("--model", "llama-3.1-8"), ("unknown model id", "llama-3.1-8b")),
        (("--quant", "q4km"), ("unknown quant id",)),
        (("--batch", "1,0,4"), ("--batch", "must be > 0")),
        (("--batch", "1,x"), ("--batch", "not an integer")),
        (("--hardware", "dgx-spark", "--gpus", "2"), ("gpus", "at most 1")),
        (("--model-config", str(DATA / "missing_field_config.json")), ("missing_field_config.json", "vocab_size")),
        (("--model-config", "nowhere.json"), ("nowhere.json", "cannot read")),
        (("--context", "0"), ("--context",)),
    ],
)
def test_bad_input_is_exit_2_with_one_line(args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    assert_user_error(invoke("capacity", *args), *needles)


def test_catalog_list_and_show_with_sources() -> None:
    listing = invoke("catalog", "list", "hardware")
    assert listing.exit_code == 0 and "h100-sxm" in listing.stdout and "nvidia.com" in listing.stdout
    shown = invoke("catalog", "show", "qwen3-235b-a22b")
    assert shown.exit_code == 0 and "huggingface.co/Qwen" in shown.stdout
    assert "None" not in shown.stdout  # fields the entry leaves out (mla, sliding_window ...) show as a dash
    assert_user_error(invoke("catalog", "show", "qwen3-235b"), "unknown catalog id", "qwen3-235b-a22b")


def test_user_catalog_file_adds_entries(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "hardware:\n  - {id: my-box, name: My box, memory_gib: 64, usable_memory_gib: 60, memory_bandwidth_gbps: 400,\n"
        "     memory_efficiency: 0.8, bf16_tflops: 30, interconnect_gbps: 10, power_w: 200, memory_kind: unified,\n"
        "     vendor: amd, arch: rdna3.5,\n"
        "     source: my measurements, as_of: 2026-11-01}\n"
    )
    doc = invoke(
        "capacity", "--catalog", str(extra), "--hardware", "my-box", "--model", "qwen3-30b-a3b", "--quant", "q4_k_m", "--json"
    ).json()
    assert doc["hardware"] == "my-box" and doc["fits"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "hardware:\n  - {id: bad-box, name: Bad, memory_gib: -1, usable_memory_gib: 1, memory_bandwidth_gbps: 1,\n"
        "     memory_efficiency: 0.8, bf16_tflops: 1, interconnect_gbps: 1, power_w: 1, memory_kind: hbm, vendor: nvidia, arch: hopper,\n"
        "     source: my bench, as_of: 2026-01-01}\n"
    )
    assert_user_error(invoke("capacity", "--catalog", str(bad)), "bad.yaml", "hardware[bad-box].memory_gib", "greater than 0")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("capacity", "--gpus", "0"), ("tokenlane capacity", "--gpus", "greater than or equal to 1")),
        (("capacity", "--frobnicate"), ("No such option: --frobnicate",)),
        (("cost",), ("tokenlane cost", "Missing argument")),
        (("catalog", "list", "gpus"), ("'gpus' is not one of",)),
    ],
)
def test_usage_errors_are_one_line_too(args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert_user_error(result, *needles)
    assert len(result.stderr.strip().splitlines()) == 1
