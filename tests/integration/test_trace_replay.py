"""`bench --trace` against `emulate` matches `simulate` of the same trace, per request and at the median."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.cli.helpers import assert_user_error, invoke
from tests.integration.servers import emulator_process
from tokenlane import build_deployment, builtin_catalog
from tokenlane.bench.replay import prompt_text, replay_requests
from tokenlane.scenario import load_scenario
from tokenlane.simulate import simulate_day

DEP = build_deployment(builtin_catalog(), hardware="dgx-spark", model="qwen3-8b", quant="int4-awq", engine="vllm")
SPEEDUP = 2.0


def _trace(tmp_path: Path) -> Path:
    """40 requests over 16 s of log time: a shared 512-token system block on most, then their own blocks."""
    rng = np.random.default_rng(7)
    arrival_ms = np.cumsum(rng.exponential(400, 40)).astype(int)
    lines, fresh = [], 100
    for t in arrival_ms.tolist():
        prompt = int(rng.integers(700, 1500))
        blocks = -(-prompt // 512)
        shared = [0] if rng.random() < 0.7 else []
        ids = shared + list(range(fresh, fresh + blocks - len(shared)))
        fresh += blocks
        lines.append(json.dumps({"timestamp": t, "input_length": prompt, "output_length": int(rng.integers(24, 48)), "hash_ids": ids}))
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_replayed_blocks_share_text_exactly_where_the_log_shares_hashes(tmp_path: Path) -> None:
    requests = list(replay_requests(str(_trace(tmp_path)), "mooncake", columns=None, block_tokens=512, speedup=1.0, limit=100))
    texts = [prompt_text(r, tokens_per_word=1.25, block_tokens=512) for r in requests]
    block = math.ceil(512 / 1.25)
    heads = {tuple(t.split(" ")[:block]) for r, t in zip(requests, texts, strict=True) if r.keys[0] == 0}
    assert len(heads) == 1  # every request carrying hash 0 starts with the same 410 words
    others = [t.split(" ")[:block] for r, t in zip(requests, texts, strict=True) if r.keys[0] != 0]
    assert all(o != list(next(iter(heads))) for o in others)
    assert [len(t.split(" ")) for t in texts] == [round(r.prompt_tokens / 1.25) for r in requests]


def _replay(url: str, trace: Path, out: Path) -> tuple[dict, dict[int, dict]]:
    result = invoke(
        "bench", url, "--model", "qwen3-8b", "--trace", str(trace), "--trace-format", "mooncake", "--speedup", str(SPEEDUP),
        "--out", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.json(), {r["index"]: r for r in map(json.loads, (out / "requests.jsonl").read_text().splitlines())}


def _simulated(tmp_path: Path, trace: Path) -> tuple[np.ndarray, np.ndarray]:
    """(TTFT s, decode tok/s) of each request of the trace, simulated on the emulator's deployment."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: t\nworkload: {{users: 1, trace: {{path: {trace.name}, format: mooncake, rate_multiplier: {SPEEDUP}}}}}\n"
        "options:\n  - {name: spark, kind: self_host, hardware: dgx-spark, model: qwen3-8b, quant: int4-awq, engine: vllm}\n"
    )
    day = simulate_day(DEP, load_scenario(scenario).workload)
    log = day.log
    assert log is not None
    return log.first_token_s - log.arrival_s, (log.generated_tokens - 1) / (log.finished_s - log.first_token_s)


def test_bench_replay_against_emulate_sends_every_request_of_the_trace(tmp_path: Path) -> None:
    """The deterministic part: every request of the log is sent once, in order, and served; the output tokens are the
    simulator's (`--trace` asks for the logged output)."""
    trace = _trace(tmp_path)
    with emulator_process("--hardware", "dgx-spark", "--model", "qwen3-8b", "--quant", "int4-awq", "--engine", "vllm") as (url, _):
        doc, records = _replay(url, trace, tmp_path / "out")
    assert doc["trace"]["requests"] == 40 and doc["levels"][0]["errors"] == 0
    assert sorted(records) == list(range(40))
    assert all(r["token_method"] == "usage" for r in records.values())


@pytest.mark.timing
def test_bench_replay_against_emulate_matches_simulate_of_the_same_trace(tmp_path: Path) -> None:
    """Wall-clock agreement, median of three replays: the client and HTTP add milliseconds, and a shared 2-core machine
    has added up to ~30 ms to one run's median (the tolerance)."""
    trace = _trace(tmp_path)
    ttft, tok_s = _simulated(tmp_path, trace)
    runs = []
    for k in range(3):  # a fresh emulator each time: a second replay would hit the first one's prefix cache
        with emulator_process("--hardware", "dgx-spark", "--model", "qwen3-8b", "--quant", "int4-awq", "--engine", "vllm") as (url, _):
            runs.append(_replay(url, trace, tmp_path / f"out{k}"))
    ttft_p50 = float(np.median([doc["levels"][0]["ttft_s"]["p50"] for doc, _ in runs]))
    tok_s_p50 = float(np.median([doc["levels"][0]["per_user_tok_s"]["p50"] for doc, _ in runs]))
    assert ttft_p50 == pytest.approx(float(np.median(ttft)), rel=0.05, abs=0.03)
    assert tok_s_p50 == pytest.approx(float(np.median(tok_s)), rel=0.05)
    # Request by request (the record's index is its place in the log): the 90th percentile of the gap in the middle
    # run, not the worst request (one stream in forty can be held up by the test process itself).
    gaps = []
    for _, records in runs:
        per_request = np.array([(records[i]["first_token_ns"] - records[i]["intended_ns"]) / 1e9 for i in range(40)])
        gaps.append(float(np.percentile(np.abs(per_request - ttft), 90)))
    assert float(np.median(gaps)) < 0.03


def test_trace_bench_mistakes_are_one_line(tmp_path: Path) -> None:
    trace = str(_trace(tmp_path))
    url = "http://127.0.0.1:9"
    assert_user_error(invoke("bench", url, "--model", "m", "--trace", trace), "--trace-format")
    assert_user_error(invoke("bench", url, "--model", "m", "--trace", trace, "--trace-format", "mooncake", "--rate", "2"), "--rate")
    assert_user_error(invoke("bench", url, "--model", "m", "--trace", trace, "--trace-format", "nope"), "nope")
    assert_user_error(invoke("bench", url, "--model", "m", "--trace-format", "mooncake"), "--trace-format", "--trace")
