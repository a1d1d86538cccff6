"""Disaggregated and expert-parallel options as a user meets them: bad layouts refused with one line naming the file,
line and field; the plan naming the layout; `capacity --disaggregated` printing both modes per GPU; `search --modes`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke

SCENARIO = """
name: long prompts on H200s
workload:
  users: 20
  active_hours: 1
  requests_per_user_hour: 20
  prompt_tokens: 6000
  output_tokens: 200
  difficulty: narrow
  slo: {{min_tok_s_per_user: 30, max_ttft_s: 3}}
options:
  - name: pools
    kind: cloud_gpu
    hardware: h200
    model: {model}
    quant: fp8
{extra}
"""
LAYOUT = """    disaggregated:
      prefill: {gpus: 2, count: 1}
      decode: {gpus: 2, count: 1}"""


def _write(tmp_path: Path, extra: str = LAYOUT, *, model: str = "llama-3.3-70b") -> Path:
    path = tmp_path / "pools.yaml"
    path.write_text(SCENARIO.format(model=model, extra=extra))
    return path


def test_plan_names_the_layout(tmp_path: Path) -> None:
    result = invoke("plan", str(_write(tmp_path)), "--json", "--no-report")
    assert result.exit_code == 0, result.stderr
    option = next(o for o in result.json()["options"] if o["name"] == "pools")
    assert option["layout"] == "1 prefill replica of 2x h200 + 1 decode replica of 2x h200, KV cache over infiniband"
    assert option["monthly_usd"] > 0 and option["meets_slo"]


@pytest.mark.parametrize(
    ("extra", "model", "needles"),
    [
        (
            "    disaggregated:\n      prefill: {gpus: 1, count: 2}\n      decode: {gpus: 8}",
            "llama-3.1-405b",
            ("line 18", "options[pools].disaggregated.prefill.gpus", "does not fit"),
        ),
        ("    gpus: 8\n    parallel: {ep: 8}", "llama-3.3-70b", ("line 18", "options[pools].parallel.ep", "dense")),
        (
            "    disaggregated:\n      prefill: {gpus: 4, count: 2}\n      decode: {gpus: 4, count: 2}\n      kv_link: nvlink",
            "llama-3.3-70b",
            ("line 20", "options[pools].disaggregated.kv_link", "NVLink"),
        ),
        (LAYOUT + "\n      kv_link: carrier-pigeon", "llama-3.3-70b", ("kv_link", "unknown link id 'carrier-pigeon'")),
        (LAYOUT + "\n    autoscale: {min_replicas: 0}", "llama-3.3-70b", ("options[pools]", "autoscale")),
    ],
)
def test_bad_layouts_exit_2_with_one_line(tmp_path: Path, extra: str, model: str, needles: tuple[str, ...]) -> None:
    assert_user_error(invoke("plan", str(_write(tmp_path, extra, model=model)), "--no-report"), str(tmp_path / "pools.yaml"), *needles)


def test_capacity_compares_modes_per_gpu() -> None:
    args = ["capacity", "--model", "llama-3.3-70b", "--hardware", "h200", "--gpus", "2", "--quant", "fp8", "--engine", "vllm"]
    args += ["--prompt-tokens", "6000", "--output-tokens", "200", "--disaggregated", "2P1D", "--batch", "1", "--json"]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    modes = result.json()["serving_modes"]
    assert [m["devices"] for m in modes] == [2, 6]
    assert modes[1]["layout"] == "2P1D of 2x h200, infiniband"
    for m in modes:
        assert m["rate_rps"] > 0
        assert m["output_tok_s_per_gpu"] == pytest.approx(m["rate_rps"] * 200 / m["devices"])
        assert m["ttft_p95_s"] <= 2.0 and m["tpot_p95_ms"] <= 25.0


@pytest.mark.parametrize("layout", ["3X1D", "0P2D", "P1D"])
def test_capacity_refuses_a_layout_it_cannot_read(layout: str) -> None:
    assert_user_error(invoke("capacity", "--disaggregated", layout), "--disaggregated", "xPyD")


def test_search_refuses_an_unknown_mode(tmp_path: Path) -> None:
    assert_user_error(invoke("search", str(_write(tmp_path)), "--modes", "aggregated,sharded", "--no-report"), "--modes", "sharded")


def test_deploy_refuses_a_layout_it_cannot_write(tmp_path: Path) -> None:
    result = invoke("deploy", str(_write(tmp_path)), "--option", "pools", "--out", str(tmp_path / "out"))
    assert_user_error(result, "options[pools].disaggregated", "Dynamo or llm-d")


def test_capacity_refuses_nvlink_across_servers() -> None:
    args = ["capacity", "--model", "llama-3.3-70b", "--hardware", "h200", "--gpus", "4", "--quant", "fp8", "--engine", "vllm"]
    assert_user_error(invoke(*args, "--disaggregated", "2P2D", "--kv-link", "nvlink"), "--kv-link", "NVLink")
