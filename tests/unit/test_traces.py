"""Trace replay: the day replays a log's arrivals and lengths exactly; prefix hits from block hashes by hand."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane.errors import InputError
from tokenlane.scenario import load_scenario
from tokenlane.simulate import ApiServing, simulate_day
from tokenlane.simulate.workload import trace_requests
from tokenlane.traces import read_trace, write_mooncake

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _azure_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Azure sample read independently of tokenlane: seconds from the first request, prompt, output."""
    with (EXAMPLES / "data" / "azure-llm-inference-2023-conv.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    t = np.array([datetime.fromisoformat(r["TIMESTAMP"]).replace(tzinfo=UTC).timestamp() for r in rows])
    return t - t[0], np.array([int(r["ContextTokens"]) for r in rows]), np.array([int(r["GeneratedTokens"]) for r in rows])


def test_replay_reproduces_per_minute_arrivals_and_length_quantiles_exactly() -> None:
    scenario = load_scenario(EXAMPLES / "azure-conversation-trace.yaml")
    workload = scenario.workload
    day = simulate_day(ApiServing(ttft_s=1.0, tok_s=50.0), workload, option="api")
    log = day.log
    assert log is not None
    t, prompt, output = _azure_rows()
    assert len(log) == len(t) == 19_366
    start = 10 * 3600.0
    minutes = int(t[-1] // 60) + 1
    replayed = np.bincount(((log.arrival_s - start) // 60).astype(int), minlength=minutes)
    assert replayed.tolist() == np.bincount((t // 60).astype(int), minlength=minutes).tolist()
    q = np.linspace(0, 1, 21)
    assert np.quantile(log.prompt_tokens, q).tolist() == np.quantile(prompt, q).tolist()
    assert np.quantile(log.output_tokens, q).tolist() == np.quantile(output, q).tolist()
    # The workload fields the trace determines agree with it: its span plus one mean gap, and its rate.
    assert workload.active_hours == pytest.approx(t[-1] / 3600 * len(t) / (len(t) - 1))
    assert workload.users * workload.requests_per_user_hour * workload.active_hours == pytest.approx(19_366)


def test_rate_multiplier_compresses_arrivals(tmp_path: Path) -> None:
    text = (EXAMPLES / "azure-conversation-trace.yaml").read_text().replace("start_hour: 10}", "start_hour: 10, rate_multiplier: 2}")
    path = tmp_path / "fast.yaml"
    path.write_text(text.replace("data/", f"{EXAMPLES / 'data'}/"))
    fast = load_scenario(path).workload
    assert fast.active_hours == pytest.approx(load_scenario(EXAMPLES / "azure-conversation-trace.yaml").workload.active_hours / 2)


MOONCAKE = [
    (0, 1500, 10, [1, 2, 3]),  # nothing seen: 0 cached
    (100, 1600, 10, [1, 2, 4]),  # blocks 1, 2 seen: 2 x 512 = 1,024
    (200, 100, 10, [5]),  # new prefix: 0
    (300, 2000, 10, [1, 2, 3, 6]),  # 1, 2, 3 seen: 1,536
    (400, 300, 10, [1]),  # 1 seen: 512, but at most the prompt less one token: 299
]


def _mooncake(tmp_path: Path, rows: list[tuple[int, int, int, list[int]]]) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text(
        "".join(json.dumps({"timestamp": a, "input_length": p, "output_length": o, "hash_ids": h}) + "\n" for a, p, o, h in rows)
    )
    return path


def test_prefix_hits_from_block_hashes_by_hand(tmp_path: Path) -> None:
    trace = read_trace(_mooncake(tmp_path, MOONCAKE), "mooncake", max_requests=10)
    assert trace.hit_blocks.tolist() == [0, 2, 0, 3, 1]
    assert trace.cached_tokens(512).tolist() == [0, 1024, 0, 1536, 299]
    assert trace.arrival_s.tolist() == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_an_engine_without_prefix_caching_gets_no_hits(tmp_path: Path) -> None:
    path = _mooncake(tmp_path, MOONCAKE)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: t\nworkload: {users: 2, trace: {path: t.jsonl, format: mooncake}}\n"
        "options:\n  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
    )
    assert path.exists()
    workload = load_scenario(scenario).workload
    api = simulate_day(ApiServing(ttft_s=1.0, tok_s=50.0), workload).log
    assert api is not None and api.cached_tokens.tolist() == [0, 1024, 0, 1536, 299]
    assert int(trace_requests(workload, prefix_caching=False, rng=np.random.default_rng(0)).cached_tokens.sum()) == 0


def _scenario(tmp_path: Path, trace: str, extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nworkload: {{users: 2, trace: {trace}{extra}}}\n"
        "options:\n  - {name: a, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
    )
    return path


@pytest.mark.parametrize(
    ("lines", "needles"),
    [
        (
            ['{"timestamp": 5, "input_length": 10, "output_length": 5}', '{"timestamp": 1, "input_length": 10, "output_length": 5}'],
            ["line 2", "back in time"],
        ),
        (['{"timestamp": 0, "input_length": "ten", "output_length": 5}'], ["line 1", "input_length", "'ten'"]),
        (['{"timestamp": -1, "input_length": 10, "output_length": 5}'], ["line 1", "timestamp"]),
        (['{"timestamp": 0, "output_length": 5}'], ["line 1", "missing input_length"]),
        (["not json"], ["line 1", "not JSON"]),
        ([], ["no requests"]),
    ],
)
def test_bad_mooncake_traces_are_one_line(tmp_path: Path, lines: list[str], needles: list[str]) -> None:
    (tmp_path / "t.jsonl").write_text("".join(line + "\n" for line in lines))
    result = invoke("simulate", str(_scenario(tmp_path, "{path: t.jsonl, format: mooncake}")))
    assert_user_error(result, "t.jsonl", *needles)


def test_bad_azure_traces_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.68,374\n")
    assert_user_error(
        invoke("plan", str(_scenario(tmp_path, "{path: t.csv, format: azure}")), "--no-report"), "t.csv", "line 1", "GeneratedTokens"
    )
    (tmp_path / "t.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\nyesterday,1,1\n")
    assert_user_error(
        invoke("plan", str(_scenario(tmp_path, "{path: t.csv, format: azure}")), "--no-report"), "t.csv", "line 3", "TIMESTAMP"
    )


def test_trace_scenario_mistakes_are_one_line(tmp_path: Path) -> None:
    assert_user_error(invoke("simulate", str(_scenario(tmp_path, "{path: missing.jsonl, format: mooncake}"))), "missing.jsonl")
    (tmp_path / "t.jsonl").write_text('{"timestamp": 0, "input_length": 10, "output_length": 5}\n')
    assert_user_error(invoke("simulate", str(_scenario(tmp_path, "{path: t.jsonl, format: sharegpt}"))), "s.yaml", "trace.format")
    clash = _scenario(tmp_path, "{path: t.jsonl, format: mooncake}", ", requests_per_user_hour: 5")
    assert_user_error(invoke("simulate", str(clash)), "s.yaml", "requests_per_user_hour", "trace")


def test_find_max_users_is_refused_on_a_trace() -> None:
    assert_user_error(
        invoke("simulate", str(EXAMPLES / "mooncake-conversation-trace.yaml"), "--find-max-users"), "--find-max-users", "trace"
    )


def test_a_trace_longer_than_the_limit_is_refused_at_the_line_past_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 5: more than 4 requests"):
        read_trace(_mooncake(tmp_path, MOONCAKE), "mooncake", max_requests=4)


def test_export_then_replay_keeps_arrivals_lengths_and_cached_blocks(tmp_path: Path) -> None:
    arrival = np.array([0.0, 1.2346, 2.5, 2.5, 3.0])
    prompt = np.array([1500, 1600, 100, 2000, 300])
    cached = np.array([0, 1100, 0, 1600, 299])
    output = np.array([10, 20, 30, 40, 50])
    assert write_mooncake(tmp_path / "out.jsonl", arrival, prompt, cached, output) == 5
    back = read_trace(tmp_path / "out.jsonl", "mooncake", max_requests=10)
    assert back.arrival_s.tolist() == [0.0, 1.235, 2.5, 2.5, 3.0]  # whole milliseconds
    assert back.prompt_tokens.tolist() == prompt.tolist() and back.output_tokens.tolist() == output.tolist()
    # Whole cached blocks: 1100 -> 2 blocks (the first to reach depth 2 reads as a miss), 1600 -> 3 (depth 3 is new),
    # 299 -> 0 blocks (less than one block).
    assert back.hit_blocks.tolist() == [0, 0, 0, 2, 0]


def test_simulate_exports_a_replayable_day(tmp_path: Path) -> None:
    out = tmp_path / "day.jsonl"
    result = invoke("simulate", str(EXAMPLES / "mooncake-conversation-trace.yaml"), "--option", "sonnet", "--export-trace", str(out))
    assert result.exit_code == 0, result.stderr
    back = read_trace(out, "mooncake", max_requests=10_000)
    source = read_trace(EXAMPLES / "data" / "mooncake-fast25-conversation-15min.jsonl", "mooncake", max_requests=10_000)
    assert len(back) == len(source) == 2728
    assert back.prompt_tokens.tolist() == source.prompt_tokens.tolist()
    assert np.allclose(back.arrival_s, source.arrival_s, atol=1e-3)


def _openai(created: int, prompt: int, output: int, cached: int | None = None, *, wrap: bool = False) -> str:
    usage: dict[str, object] = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": created, "model": "m", "usage": usage}
    return json.dumps({"response": body} if wrap else body) + "\n"


def test_openai_logs_use_the_servers_own_cached_counts(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        _openai(1_700_000_000, 2000, 100) + _openai(1_700_000_003, 2100, 50, 1920, wrap=True) + _openai(1_700_000_003, 10, 5, 10)
    )
    trace = read_trace(path, "openai-log", max_requests=10)
    assert trace.arrival_s.tolist() == [0.0, 3.0, 3.0]
    assert trace.prompt_tokens.tolist() == [2000, 2100, 10] and trace.output_tokens.tolist() == [100, 50, 5]
    assert trace.cached_tokens(512).tolist() == [0, 1920, 9]  # none reported -> 0; reported; at most prompt - 1


def test_bad_openai_logs_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text(_openai(10, 100, 10) + _openai(5, 100, 10))
    result = invoke("simulate", str(_scenario(tmp_path, "{path: t.jsonl, format: openai-log}")))
    assert_user_error(result, "t.jsonl", "line 2", "back in time")
    (tmp_path / "t.jsonl").write_text('{"created": 1, "choices": []}\n')
    assert_user_error(invoke("simulate", str(_scenario(tmp_path, "{path: t.jsonl, format: openai-log}"))), "line 1", "usage")
    (tmp_path / "t.jsonl").write_text(_openai(1, 100, 10, 500))
    assert_user_error(invoke("simulate", str(_scenario(tmp_path, "{path: t.jsonl, format: openai-log}"))), "line 1", "cached_tokens")


def test_a_generic_csv_with_named_columns(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("when_ms,user_email,in,out\n1000,a@example.com,300,20\n1500,b@example.com,400,30\n")
    columns = "{timestamp: when_ms, input: in, output: out, timestamp_unit: ms}"
    scenario = load_scenario(_scenario(tmp_path, f"{{path: t.csv, format: csv, columns: {columns}}}"))
    trace = scenario.workload.trace
    assert trace is not None
    read = trace.read()
    assert read.arrival_s.tolist() == [0.0, 0.5] and read.prompt_tokens.tolist() == [300, 400]
    day = simulate_day(ApiServing(ttft_s=1.0, tok_s=50.0), scenario.workload).log
    assert day is not None and "example.com" not in json.dumps(scenario.model_dump(mode="json"))
    (tmp_path / "u.csv").write_text("ts,in,out\n2025-01-01T09:00:00,300,20\n2025-01-01T09:00:02.5,400,30\n")
    iso = load_scenario(_scenario(tmp_path, "{path: u.csv, format: csv, columns: {timestamp: ts, input: in, output: out}}"))
    assert iso.workload.trace is not None and iso.workload.trace.read().arrival_s.tolist() == [0.0, 2.5]


def test_generic_csv_mistakes_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("ts,in\n1,300\n")
    bad = _scenario(tmp_path, "{path: t.csv, format: csv, columns: {timestamp: ts, input: in, output: out}}")
    assert_user_error(invoke("simulate", str(bad)), "t.csv", "line 1", "out")
    assert_user_error(invoke("simulate", str(_scenario(tmp_path, "{path: t.csv, format: csv}"))), "s.yaml", "columns")


def test_a_non_ascii_digit_is_a_bad_length_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,\u00b2,44\n", encoding="utf-8")
    assert_user_error(invoke("plan", str(_scenario(tmp_path, "{path: t.csv, format: azure}")), "--no-report"), "line 2", "ContextTokens")


def test_cache_writes_from_block_hashes_by_hand(tmp_path: Path) -> None:
    trace = read_trace(_mooncake(tmp_path, MOONCAKE), "mooncake", max_requests=10)
    # Request 0 first sent blocks 1, 2 (hit by request 1) and 3 (hit by request 3): it wrote three blocks, capped at
    # its 1,500-token prompt; blocks 4, 5, 6 were never hit again, so nobody paid to write them.
    assert trace.write_blocks.tolist() == [3, 0, 0, 0, 0]
    assert trace.write_tokens(512).tolist() == [1500, 0, 0, 0, 0]


def test_an_api_bills_a_traces_cache_writes_and_reads(tmp_path: Path) -> None:
    from tokenlane.cost import api_tokens

    _mooncake(tmp_path, MOONCAKE)
    scenario = _scenario(tmp_path, "{path: t.jsonl, format: mooncake}")
    log = simulate_day(ApiServing(ttft_s=1.0, tok_s=50.0), load_scenario(scenario).workload).log
    assert log is not None
    tokens = api_tokens(log, caching=True)
    assert tokens.cache_write_tokens.tolist() == [1500, 0, 0, 0, 0]
    assert tokens.cache_read_tokens.tolist() == [0, 1024, 0, 1536, 299]
    assert not api_tokens(log, caching=False).cache_write_tokens.any()
