"""Quality in the catalog and in the verdict: every model scored or explicitly not, what runs where refused with the
nearest valid choice, effective score = published score x what the quant keeps (by hand), resellers' ids, bars."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog
from tokenlane.catalog.support import unsupported
from tokenlane.errors import InputError
from tokenlane.plan.quality import is_low_bit, option_quality, recovery_for, size_class
from tokenlane.scenario import Option, Scenario, Workload

CATALOG = builtin_catalog()
BENCHMARKS = ("gpqa-diamond", "mmlu-pro", "swe-bench-verified", "aider-polyglot")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("model", sorted(CATALOG.models))
def test_every_open_model_has_a_sourced_score_or_says_none_is_published(model: str) -> None:
    entry = CATALOG.models[model]
    for benchmark in BENCHMARKS:
        figures = entry.quality.get(benchmark, ())
        assert figures, f"{model} says nothing about {benchmark}"
        for f in figures:
            assert len(f.source) > 10 and f.as_of.year >= 2023
            assert f.score is None or (0 < f.score <= 100 and f.harness in ("independent", "self_reported"))
    assert any(entry.score_on(b) for b in BENCHMARKS), f"{model} has no published score on any benchmark"


@pytest.mark.parametrize("api", sorted(CATALOG.api_models))
def test_every_api_model_is_scored_explicitly_or_through_its_open_weights(api: str) -> None:
    entry = CATALOG.api_models[api]
    if entry.open_weights:
        assert entry.open_weights in CATALOG.models
        return
    for benchmark in BENCHMARKS:
        assert entry.quality.get(benchmark), f"{api} says nothing about {benchmark}"


def test_independent_figures_win_over_self_reported_ones() -> None:
    sonnet = CATALOG.api_model("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None
    used = sonnet.score_on("swe-bench-verified")
    assert used is not None and used.harness == "independent"
    own = [s.score for s in sonnet.quality["swe-bench-verified"] if s.harness == "self_reported"]
    assert own and used.score != own[0]


@pytest.mark.parametrize(
    ("hardware", "engine", "quant", "field", "nearest"),
    [
        ("ryzen-ai-max-395-128gb", "sglang", "int4-awq", "engine", "vllm"),  # SGLang on Strix Halo: an unmerged pull request
        ("ryzen-ai-max-395-128gb", "sglang", "nvfp4", "engine", None),
        ("ryzen-ai-max-395-128gb", "vllm", "fp8", "quant", None),  # no FP8 units on RDNA 3.5
        ("ryzen-ai-max-395-128gb", "vllm", "nvfp4", "quant", None),
        ("rtx-4090", "tensorrt-llm", "nvfp4", "quant", None),  # NVFP4 needs Blackwell tensor cores
        ("rtx-4090", "vllm", "nvfp4", "quant", None),
        ("h100-sxm", "vllm", "nvfp4", "quant", None),
        ("a100-80gb", "tensorrt-llm", "fp8", "quant", None),  # TensorRT-LLM runs FP8 from Ada on
        ("a100-80gb", "tensorrt-llm", "mxfp4", "quant", None),
        ("dgx-spark", "llama.cpp", "mxfp4", "quant", "mxfp4-gguf"),  # llama.cpp loads GGUF, not the MXFP4 release
        ("dgx-spark", "ollama", "fp8", "quant", None),
        ("h100-sxm", "mlx", "bf16", "engine", None),  # MLX on NVIDIA
        ("m3-ultra-512gb", "vllm", "bf16", "engine", None),
        ("m3-ultra-512gb", "tensorrt-llm", "bf16", "engine", None),
        ("mi300x", "tensorrt-llm", "fp8", "engine", None),
        ("m4-max-128gb", "mlx", "fp8", "quant", None),
        ("m4-max-128gb", "llama.cpp", "int4-awq", "quant", None),
        ("rtx-4090", "llama.cpp", "mlx-4bit", "quant", None),
    ],
)
def test_what_does_not_run_is_refused_with_the_nearest_choice(
    hardware: str, engine: str, quant: str, field: str, nearest: str | None
) -> None:
    hw, eng, q = CATALOG.hardware[hardware], CATALOG.engines[engine], CATALOG.quants[quant]
    problem = unsupported(hw, eng, q)
    assert problem is not None and problem.field == field
    with pytest.raises(InputError) as caught:
        build_deployment(CATALOG, hardware=hardware, model="qwen3-8b", quant=quant, engine=engine)
    assert caught.value.field == field
    if nearest is not None:
        assert f"nearest that runs: {field}: {nearest}" in caught.value.message
        suggestion = {"engine": engine, "quant": quant} | {field: nearest}
        assert unsupported(hw, CATALOG.engines[suggestion["engine"]], CATALOG.quants[suggestion["quant"]]) is None


@pytest.mark.parametrize(
    ("hardware", "engine", "quant"),
    [
        ("b200", "tensorrt-llm", "nvfp4"),
        ("rtx-5090", "vllm", "nvfp4"),
        ("rtx-4090", "vllm", "fp8"),
        ("a100-80gb", "vllm", "fp8"),  # weight-only FP8 (Marlin)
        ("h100-sxm", "sglang", "mxfp4"),
        ("mi300x", "vllm", "fp8"),
        ("mi300x", "sglang", "bf16"),
        ("ryzen-ai-max-395-128gb", "llama.cpp", "q4_k_m"),
        ("ryzen-ai-max-395-128gb", "vllm", "int4-awq"),  # a community build
        ("dgx-spark", "llama.cpp", "mxfp4-gguf"),
        ("m3-ultra-512gb", "mlx", "mlx-4bit"),
    ],
)
def test_what_runs_is_accepted(hardware: str, engine: str, quant: str) -> None:
    assert unsupported(CATALOG.hardware[hardware], CATALOG.engines[engine], CATALOG.quants[quant]) is None


def test_fp8_on_an_a100_computes_in_bf16() -> None:
    dep = build_deployment(CATALOG, hardware="a100-80gb", model="llama-3.1-8b", quant="fp8", engine="vllm")
    assert dep.compute_dtype == "bf16"
    assert build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="fp8", engine="vllm").compute_dtype == "fp8"


def _scenario(*options: Option) -> Scenario:
    return Scenario(name="q", workload=Workload(users=1), options=list(options))


@pytest.mark.parametrize(
    ("model", "quant", "benchmark", "score", "kept"),
    [
        # Epoch AI's GPQA Diamond run (70.7) x llama.cpp's Llama-3-70B KLD 0.055418 mapped at loss = 0.2746 x KLD (0.9848)
        ("qwen3-235b-a22b", "q4_k_m", "gpqa-diamond", 70.7, 0.9848),
        # Epoch AI's run (26.0, Llama 3.1 8B Instruct) x auto-round's FP8 Llama-3-8B-Instruct (0.6297 / 0.6311 = 0.9978)
        ("llama-3.1-8b", "fp8", "gpqa-diamond", 26.0, 0.9978),
        # the same model at 2-bit: Llama-3-8B KLD 0.445132 mapped (0.8778)
        ("llama-3.1-8b", "q2_k", "gpqa-diamond", 26.0, 0.8778),
        # Qwen's own Qwen3.6-27B card (77.2) x the int4 figure of arXiv 2411.02355's abstract (0.97)
        ("qwen3.6-27b", "int4-awq", "swe-bench-verified", 77.2, 0.97),
        # gpt-oss is released in MXFP4: its GGUF keeps the experts bit for bit, the published score holds as it is
        ("gpt-oss-120b", "mxfp4-gguf", "gpqa-diamond", 75.8, 1.0),
        ("deepseek-r1", "fp8", "gpqa-diamond", 76.3, 1.0),
    ],
)
def test_effective_score_is_the_published_score_times_what_the_quant_keeps(
    model: str, quant: str, benchmark: str, score: float, kept: float
) -> None:
    option = Option(name="box", kind="self_host", hardware="h100-sxm", model=model, quant=quant)
    figure = option_quality(option, _scenario(option), CATALOG, benchmark)
    assert figure.score == pytest.approx(score)
    assert figure.recovery == pytest.approx(kept)
    assert figure.effective == pytest.approx(score * kept)


def test_size_classes_and_borrowed_recovery() -> None:
    assert [size_class(CATALOG.models[m]) for m in ("llama-3.1-8b", "qwen3-32b", "llama-3.3-70b", "qwen3-30b-a3b")] == [
        "small",
        "medium",
        "large",
        "large",
    ]
    figure, note = recovery_for(CATALOG.quants["q3_k_m"], CATALOG.models["qwen3-32b"])
    assert figure is CATALOG.quants["q3_k_m"].recovery["small"] and "small-model figure" in note  # borrowed from below
    assert is_low_bit(CATALOG.quants["q2_k"]) and not is_low_bit(CATALOG.quants["q3_k_m"])


def test_the_catalogs_recovery_figures_are_what_the_fit_script_derives() -> None:
    spec = importlib.util.spec_from_file_location("quant_recovery_fit", ROOT / "benchmarks" / "quant_recovery_fit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    table = module.recovery_table()
    for (quant, cls), figure in table.items():
        assert CATALOG.quants[quant].recovery[cls].fraction == pytest.approx(figure.fraction, abs=1e-9), (quant, cls)
    covered = {(q, c) for q, entry in CATALOG.quants.items() for c, r in entry.recovery.items() if r.basis != "proxy"}
    assert covered == set(table)


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("aws", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("google", "claude-sonnet-4-5@20250929"),
        ("azure", "claude-sonnet-4-5"),
    ],
)
def test_a_resellers_id_resolves_to_the_model_it_serves(provider: str, model: str) -> None:
    maker = CATALOG.api_model("anthropic", "claude-sonnet-4-5")
    resold = CATALOG.api_model(provider, model)
    assert resold is maker and maker is not None
    reseller = Option(name="r", kind="api", provider=provider, model=model)
    direct = Option(name="d", kind="api", provider="anthropic", model="claude-sonnet-4-5")
    scenario = _scenario(reseller, direct)
    assert option_quality(reseller, scenario, CATALOG, "gpqa-diamond") == option_quality(
        direct, scenario, CATALOG, "gpqa-diamond"
    ).model_copy(update={"subject": model})


BAR_SCENARIO = """name: bar
workload: {{users: 5, active_hours: 1, difficulty: hard, quality: {quality}}}
options:
  - {{name: mini, kind: api, provider: openai, model: gpt-5-mini}}
  - {{name: box, kind: self_host, hardware: h100-sxm, model: llama-3.1-8b, quant: fp8, engine: vllm}}
"""


@pytest.mark.parametrize(
    ("quality", "needles"),
    [
        ("{benchmark: mmlu-pr, min_score: 60}", ("line 2", "workload.quality.benchmark", "unknown benchmark 'mmlu-pr'", "mmlu-pro")),
        ("{benchmark: mmlu-pro, min_score: 120}", ("line 2", "workload.quality.min_score", "less than or equal to 100")),
        ("{benchmark: mmlu-pro, min_score: -1}", ("workload.quality.min_score", "greater than or equal to 0")),
        ("{benchmark: aider-polyglot, min_score: 40}", ("workload.quality.benchmark", "no option has a Aider polyglot score")),
        ("{benchmark: mmlu-pro, min_score: 60, measured: [{model: llama-9, quant: fp8, score: 50}]}", ("unknown model id 'llama-9'",)),
    ],
)
def test_bad_quality_bars_exit_2_with_one_line(tmp_path: Path, quality: str, needles: tuple[str, ...]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BAR_SCENARIO.format(quality=quality))
    assert_user_error(invoke("plan", str(path), "--json", "--no-report"), str(path), *needles)
