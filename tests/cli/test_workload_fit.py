"""`tokenlane workload fit`: the printed section loads as a scenario's workload and stands for the log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.cli.helpers import assert_user_error, invoke
from tokenlane.scenario import load_scenario
from tokenlane.traces import read_trace

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
OPTIONS = "options:\n  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"


def _load(tmp_path: Path, section: str) -> object:
    path = tmp_path / "fitted.yaml"
    path.write_text("name: fitted\n" + section + OPTIONS)
    return load_scenario(path).workload


def test_a_fitted_azure_hour_loads_and_keeps_rate_and_lengths(tmp_path: Path) -> None:
    result = invoke("workload", "fit", str(DATA / "azure-llm-inference-2023-conv.csv"), "--format", "azure", "--users", "200")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# fitted") and "19,366 requests" in result.stdout
    workload = _load(tmp_path, result.stdout)
    trace = read_trace(DATA / "azure-llm-inference-2023-conv.csv", "azure", max_requests=100_000)
    assert workload.expected_interactive_requests_per_day == pytest.approx(len(trace), rel=1e-3)
    assert workload.prompt_tokens.expected == pytest.approx(trace.prompt_tokens.mean(), rel=0.02)
    assert workload.output_tokens.expected == pytest.approx(trace.output_tokens.mean(), rel=0.02)
    assert workload.arrival == "poisson"  # under two hours: no hourly curve


def test_a_fitted_mooncake_log_carries_its_prefix_hits(tmp_path: Path) -> None:
    log = DATA / "mooncake-fast25-conversation-15min.jsonl"
    result = invoke("workload", "fit", str(log), "--format", "mooncake", "--users", "500")
    assert result.exit_code == 0, result.stderr
    workload = _load(tmp_path, result.stdout)
    cached = read_trace(log, "mooncake", max_requests=10_000).cached_tokens(512)
    assert workload.cache_hit_rate == pytest.approx(float((cached > 0).mean()), abs=1e-4)
    assert workload.cache_hit_rate * workload.shared_prefix_tokens == pytest.approx(cached.mean(), rel=1e-3)


def test_sessions_users_and_the_hourly_curve_of_a_day_long_log(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for hour, count in enumerate([10, 30, 20]):  # three clock hours, the middle one busiest
        for t in np.sort(rng.uniform(hour * 3600, (hour + 1) * 3600, count)):
            rows.append(t)
    lines = []
    for i, t in enumerate(rows):
        session, turn = divmod(i, 3)
        prompt = 100 + turn * 150  # each turn resends the previous one (its prompt and 50 output tokens) plus 100 new
        record = {
            "startTime": 1_735_689_600 + t,
            "prompt_tokens": prompt,
            "completion_tokens": 50,
            "user": f"u{session % 4}",
            "session_id": f"s{session}",
        }
        lines.append(json.dumps(record))
    (tmp_path / "spend.jsonl").write_text("\n".join(lines) + "\n")
    result = invoke("workload", "fit", str(tmp_path / "spend.jsonl"), "--format", "litellm")
    assert result.exit_code == 0, result.stderr
    section = yaml.safe_load(result.stdout)["workload"]
    assert section["users"] == 4 and section["turns_per_session"] == 3
    assert section["arrival"] == "diurnal" and np.argmax(section["hourly_weights"]) == 1
    # Turns 2 and 3 resend 150 of their prompt: the new tokens are 100 every turn.
    assert set(section["prompt_tokens"]["quantiles"].values()) == {100}
    workload = _load(tmp_path, result.stdout)
    assert workload.turns_per_session == 3


def test_fit_mistakes_are_one_line(tmp_path: Path) -> None:
    log = str(DATA / "mooncake-fast25-conversation-15min.jsonl")
    assert_user_error(invoke("workload", "fit", log, "--format", "mooncake"), "--users")
    assert_user_error(invoke("workload", "fit", log, "--format", "sharegpt"), "sharegpt")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    assert_user_error(
        invoke("workload", "fit", str(tmp_path / "t.csv"), "--format", "csv", "--columns", "timestamp=a"), "--columns", "input"
    )
    result = invoke("workload", "fit", str(tmp_path / "t.csv"), "--format", "csv", "--columns", "timestamp=a,input=b,output=c")
    assert_user_error(result, "t.csv", "line 1", "c")
