"""`tokenlane simulate` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import assert_user_error, invoke

SCENARIO = """\
name: small team
workload:
  users: 8
  active_hours: 1
  requests_per_user_hour: 6
  prompt_tokens: {mean: 800, p90: 2000}
  output_tokens: {mean: 200, p90: 500}
  slo: {min_tok_s_per_user: 10, max_ttft_s: 3, percentile: 95}
options:
  - {name: spark, kind: self_host, hardware: dgx-spark, model: gpt-oss-120b, quant: mxfp4-gguf, engine: llama.cpp}
  - {name: huge, kind: self_host, hardware: rtx-4090, model: llama-3.1-405b, quant: bf16, engine: vllm}
  - {name: api, kind: api, provider: openai, model: gpt-5-mini}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_json_summary_and_skips(tmp_path: Path) -> None:
    result = invoke("simulate", str(_write(tmp_path, SCENARIO)), "--json", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["requests"] > 0 and doc["option"] == "spark"
    assert {"p50", "p95"} <= set(doc["per_user_tok_s"]) and {"p50", "p95"} <= set(doc["ttft_s"])
    assert 0 <= doc["slo_attainment"] <= 1 and doc["peak_concurrency"] >= 1
    assert "huge" in result.stderr and "does not fit" in result.stderr
    again = invoke("simulate", str(_write(tmp_path, SCENARIO)), "--json", "--seed", "3").json()
    assert again == doc


def test_find_max_users(tmp_path: Path) -> None:
    doc = invoke("simulate", str(_write(tmp_path, SCENARIO)), "--option", "spark", "--find-max-users", "--json").json()
    assert isinstance(doc["max_users_meeting_slo"], int) and doc["max_users_meeting_slo"] >= 1


def test_table_output(tmp_path: Path) -> None:
    result = invoke("simulate", str(_write(tmp_path, SCENARIO)))
    assert result.exit_code == 0 and "spark" in result.stdout


def test_bad_scenarios_name_file_line_and_field(tmp_path: Path) -> None:
    bad = SCENARIO.replace("users: 8", "users: 0")
    assert_user_error(invoke("simulate", str(_write(tmp_path, bad))), "scenario.yaml", "line 3", "workload.users", "greater than 0")
    typo = SCENARIO.replace("  active_hours: 1", "  active_hour: 1")
    assert_user_error(invoke("simulate", str(_write(tmp_path, typo))), "workload.active_hour", "unknown field")
    section = SCENARIO + "pricing: {}\n"
    assert_user_error(invoke("simulate", str(_write(tmp_path, section))), "line 13", "pricing", "unknown field")
    broken = SCENARIO.replace("users: 8", "users: [8")
    assert_user_error(invoke("simulate", str(_write(tmp_path, broken))), "scenario.yaml", "not valid YAML")
    assert_user_error(invoke("simulate", str(_write(tmp_path, SCENARIO)), "--option", "nope"), "no option named 'nope'")
    unknown = SCENARIO.replace("hardware: dgx-spark", "hardware: dgx-sprak")
    assert_user_error(invoke("simulate", str(_write(tmp_path, unknown))), "unknown hardware id 'dgx-sprak'", "dgx-spark")
    assert_user_error(invoke("simulate", str(tmp_path / "missing.yaml")), "missing.yaml", "cannot read")


def test_per_request_outcomes(tmp_path: Path) -> None:
    out = tmp_path / "requests.jsonl"
    doc = invoke("simulate", str(_write(tmp_path, SCENARIO)), "--option", "spark", "--per-request", str(out), "--json").json()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == doc["requests"] + doc["batch_requests"] and "log" not in doc
    served = [r for r in rows if r["outcome"] in ("served", "truncated")]
    assert len(served) == doc["completed"]
    for row in served:
        assert row["option"] == "spark" and row["ttft_s"] >= row["queue_wait_s"] >= 0 and row["e2e_s"] >= row["ttft_s"]
    assert [r["arrival_s"] for r in rows] == sorted(r["arrival_s"] for r in rows)


def test_a_day_too_large_to_simulate_is_refused_at_load(tmp_path: Path) -> None:
    """Exit 2 with one line before anything is allocated, never a hang or an allocation of terabytes."""
    cases = [
        (SCENARIO.replace("users: 8", "users: 1000000000"), "workload.users"),
        (SCENARIO.replace("requests_per_user_hour: 6", "requests_per_user_hour: 3000000"), "requests a day"),
        (SCENARIO.replace("requests_per_user_hour: 6", "requests_per_user_hour: .inf"), "requests_per_user_hour"),
        (SCENARIO.replace("users: 8", "users: 100000\n  think_time_s: 0"), "requests a day"),
        (
            SCENARIO.replace(
                "  slo:",
                "  batch_jobs: [{name: huge, requests: 1000000000000, prompt_tokens: 10, output_tokens: 10, window_hours: 8}]\n  slo:",
            ),
            "requests a day",
        ),
    ]
    for text, needle in cases:
        assert_user_error(invoke("simulate", str(_write(tmp_path, text))), "scenario.yaml", needle)


def test_interval_ends_simulate_each_box_slower_and_faster() -> None:
    """`--interval-ends`: each box's day again at the low and the high end of its speed interval; the same arrivals on
    a slower box meet the SLO no more often, on a faster one no less."""
    example = Path(__file__).resolve().parents[2] / "examples" / "desk-box.yaml"
    result = invoke("simulate", str(example), "--interval-ends", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    attained = {r["option"]: r["slo_attainment"] for r in doc["results"]}
    assert set(doc["at_interval_ends"]) == {"mac-studio", "strix-halo"}
    for name, end in doc["at_interval_ends"].items():
        low, high = end["slo_attainment"]
        assert end["speed_factors"][0] < 1 < end["speed_factors"][1]
        assert low <= attained[name] <= high, name
