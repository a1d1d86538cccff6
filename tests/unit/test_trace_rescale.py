"""Bring-your-own-traffic beyond replay: LiteLLM logs, users and sessions, rescaling, repeating, and the token
distributions a trace can stand for (quantile tables, {from: log}, constants written as {mean, p90})."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane.scenario import TokenDistribution, load_scenario
from tokenlane.simulate import ApiServing, simulate_day
from tokenlane.simulate.workload import hourly_profile, sample_tokens, trace_requests
from tokenlane.traces import read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _litellm(start: str, prompt: int, output: int, **extra: object) -> dict[str, object]:
    return {
        "request_id": "r",
        "call_type": "acompletion",
        "api_key": "hashed",
        "spend": 0.001,
        "startTime": start,
        "endTime": start,
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "model": "gpt-4o",
        **extra,
    }


LITELLM = [
    _litellm("2025-05-01T09:00:00Z", 1000, 100, user="alice@example.com", session_id="s1"),
    _litellm("2025-05-01T09:00:05Z", 1200, 50, user="alice@example.com", session_id="s1"),  # resends 1,100
    _litellm("2025-05-01T09:00:06Z", 10, 0, user="bob@example.com", status="failure"),  # skipped
    _litellm(
        "2025-05-01T09:00:07Z",
        900,
        40,
        user="bob@example.com",
        session_id="s2",
        metadata={"usage_object": {"prompt_tokens_details": {"cached_tokens": 512}, "cache_creation_input_tokens": 300}},
    ),  # the log's own cached count
    _litellm("2025-05-01T09:00:09Z", 800, 30, user="alice@example.com", session_id="s1"),  # shorter: context cut, 0
]


@pytest.mark.parametrize("as_list", [False, True])
def test_litellm_spend_logs_give_users_sessions_and_cached_tokens(tmp_path: Path, as_list: bool) -> None:
    path = tmp_path / "spend.json"
    path.write_text(json.dumps(LITELLM) if as_list else "".join(json.dumps(r) + "\n" for r in LITELLM))
    trace = read_trace(path, "litellm", max_requests=10)
    assert len(trace) == 4 and trace.skipped == 1
    assert trace.arrival_s.tolist() == [0.0, 5.0, 7.0, 9.0]
    assert trace.user.tolist() == [0, 0, 1, 0] and trace.users == 2
    assert trace.session.tolist() == [0, 0, 1, 0] and trace.sessions == 2
    assert trace.cached_tokens(512).tolist() == [0, 1100, 512, 0]
    # Turn 1 of s1 wrote its 1,000-token prompt for turn 2 to read; turn 2 was not resent (turn 3 is shorter).
    assert trace.write_tokens(512).tolist() == [1000, 0, 300, 0]  # bob's row reports its own write


def test_csv_user_session_and_cached_columns_and_personal_data_stays_out(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "ts,email,conv,in,out,hit\n0,a@x.org,c1,500,100,\n2,b@x.org,c2,300,10,\n4,a@x.org,c1,700,20,\n6,a@x.org,c1,900,5,256\n"
    )
    columns = "{timestamp: ts, input: in, output: out, user: email, session: conv, cached: hit}"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: t\nworkload: {{users: 2, trace: {{path: t.csv, format: csv, columns: {columns}}}}}\n"
        "options:\n  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
    )
    workload = load_scenario(scenario).workload
    assert workload.trace is not None
    trace = workload.trace.read()
    # Turn 2 of c1 resends turn 1 (500 + 100); turn 3 reports its own count (256), which is trusted over 720.
    assert trace.cached_tokens(512).tolist() == [0, 0, 600, 256]
    day = simulate_day(ApiServing(ttft_s=1.0, tok_s=50.0), workload).log
    assert day is not None and day.user.tolist() == [0, 1, 0, 0]
    out = invoke("plan", str(scenario), "--json", "--no-report")
    assert out.exit_code == 0, out.stderr
    assert "x.org" not in out.stdout


def _trace_scenario(tmp_path: Path, users: int, source: str, extra: str = "") -> Path:
    rows = [(i * 10_000, 1000 + i, 10 + i, [i]) for i in range(60)]  # one request every 10 s for 10 minutes
    (tmp_path / "t.jsonl").write_text(
        "".join(json.dumps({"timestamp": a, "input_length": p, "output_length": o, "hash_ids": h}) + "\n" for a, p, o, h in rows)
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nworkload: {{users: {users}, trace: {{path: t.jsonl, format: mooncake{source}}}{extra}}}\n"
        "options:\n  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
    )
    return path


def test_more_users_than_recorded_scale_the_traffic_by_whole_and_thinned_copies(tmp_path: Path) -> None:
    workload = load_scenario(_trace_scenario(tmp_path, 25, ", recorded_users: 10")).workload
    requests = trace_requests(workload, prefix_caching=True, rng=np.random.default_rng(1))
    # 2.5 copies: two whole copies (120 requests) and a half-thinned third.
    assert 120 + 15 <= len(requests) <= 120 + 45
    assert workload.users * workload.requests_per_user_hour * workload.active_hours == pytest.approx(60 * 2.5)
    # Copies interleave within the trace's period rather than arriving together, and keep the original's lengths.
    assert len(np.unique(requests.arrival_s)) == len(requests)
    assert requests.arrival_s.max() - requests.arrival_s.min() < 600.0
    assert set(requests.prompt_tokens.tolist()) <= set(range(1000, 1060))
    exact = trace_requests(
        load_scenario(_trace_scenario(tmp_path, 10, ", recorded_users: 10")).workload, prefix_caching=True, rng=np.random.default_rng(1)
    )
    assert exact.arrival_s.tolist() == (np.arange(60) * 10.0).tolist()


def test_repeating_a_trace_fills_the_day_along_the_hourly_curve(tmp_path: Path) -> None:
    workload = load_scenario(_trace_scenario(tmp_path, 10, ", repeat_hours: 9, start_hour: 8")).workload
    assert workload.active_hours == pytest.approx(9.0)
    requests = trace_requests(workload, prefix_caching=True, rng=np.random.default_rng(2))
    per_hour = np.bincount(((requests.arrival_s - 8 * 3600) // 3600).astype(int), minlength=9)[:9]
    expected = 6 * 60 * hourly_profile(workload)  # six 10-minute repetitions an hour, weighted
    assert per_hour.sum() == pytest.approx(expected.sum(), rel=0.05)
    assert np.argmin(per_hour[2:7]) == np.argmin(expected[2:7])  # the lunch dip survives
    assert per_hour.tolist() == pytest.approx(expected.tolist(), rel=0.15)
    flat = load_scenario(_trace_scenario(tmp_path, 10, ", repeat_hours: 2", ", hourly_weights: [1, 3]")).workload
    twice = trace_requests(flat, prefix_caching=True, rng=np.random.default_rng(3))
    first, second = np.bincount((twice.arrival_s // 3600).astype(int), minlength=2)[:2]
    assert second / first == pytest.approx(3.0, rel=0.15)


def test_a_replay_past_the_day_limit_or_its_end_is_one_line(tmp_path: Path) -> None:
    assert_user_error(invoke("simulate", str(_trace_scenario(tmp_path, 2, ", repeat_hours: 5, start_hour: 20"))), "past the end of the day")
    big = _trace_scenario(tmp_path, 100_000, ", recorded_users: 1, repeat_hours: 24")
    assert_user_error(invoke("simulate", str(big)), "t.jsonl", "limited to")


def test_quantile_tables_sample_between_their_points_and_know_their_mean() -> None:
    dist = TokenDistribution(quantiles={0: 100, 0.5: 200, 1: 1000})
    assert dist.expected == pytest.approx(0.5 * 150 + 0.5 * 600)
    counts = sample_tokens(dist, 200_000, np.random.default_rng(0))
    assert counts.min() >= 100 and counts.max() <= 1000
    assert np.median(counts) == pytest.approx(200, abs=3)
    assert counts.mean() == pytest.approx(dist.expected, rel=0.01)
    assert np.quantile(counts, 0.75) == pytest.approx(600, rel=0.01)


def test_a_trace_reads_back_as_its_own_quantiles() -> None:
    trace = read_trace(EXAMPLES / "data" / "azure-llm-inference-2023-conv.csv", "azure", max_requests=100_000)
    dist = TokenDistribution.from_counts(trace.prompt_tokens)
    assert dist.quantiles is not None
    assert dist.quantiles[0.5] == round(float(np.median(trace.prompt_tokens)))
    assert dist.quantiles[1.0] == int(trace.prompt_tokens.max())
    assert dist.expected == pytest.approx(trace.prompt_tokens.mean(), rel=0.02)


def test_mean_equal_to_p90_is_a_constant_and_heavy_tails_name_the_alternative() -> None:
    fixed = TokenDistribution(mean=64, p90=64)
    assert fixed.is_constant and sample_tokens(fixed, 5, np.random.default_rng(0)).tolist() == [64] * 5
    with pytest.raises(ValueError, match="quantile table"):
        TokenDistribution(mean=500, p90=5000)
    with pytest.raises(ValueError, match="smallest"):
        TokenDistribution(quantiles={0.5: 100, 1: 200})
    with pytest.raises(ValueError, match="decrease"):
        TokenDistribution(quantiles={0: 300, 0.5: 100, 1: 400})


def test_a_distribution_from_a_log_is_read_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "t.csv").write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        + "".join(f"2024-01-01 09:00:{i:02d},{100 * (i + 1)},{10 * (i + 1)}\n" for i in range(10))
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nworkload:\n  users: 20\n  prompt_tokens: {from: {path: logs/t.csv, format: azure}}\n"
        "  output_tokens: {from: {path: logs/t.csv, format: azure}}\n"
        "options:\n  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
    )
    workload = load_scenario(path).workload
    assert workload.prompt_tokens.expected == pytest.approx(550, rel=0.01)
    assert workload.output_tokens.expected == pytest.approx(55, rel=0.01)
    (tmp_path / "logs" / "t.csv").unlink()
    assert_user_error(invoke("plan", str(path), "--no-report"), "t.csv")
