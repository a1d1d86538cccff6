"""bench against emulate (closing the loop), bench against broken servers, the emulator's own contract."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import assert_user_error, invoke
from tests.integration.servers import emulator_process, misbehaving_app, serve_in_thread
from tokenlane import build_deployment, builtin_catalog, concurrency_curve
from tokenlane.bench import BenchConfig, RequestRecord, stream_one
from tokenlane.bench.client import make_client
from tokenlane.emulate import create_app

DEP = build_deployment(builtin_catalog(), hardware="dgx-spark", model="qwen3-8b", quant="int4-awq", engine="vllm")
PROMPT, OUTPUT = 128, 40


@pytest.fixture(scope="module")
def emulator() -> str:
    args = ("--hardware", "dgx-spark", "--model", "qwen3-8b", "--quant", "int4-awq", "--engine", "vllm", "--max-streams", "64")
    with emulator_process(*args) as (url, _):
        yield url


def test_bench_reproduces_the_capacity_model(emulator: str, tmp_path: Path) -> None:
    result = invoke(
        "bench",
        emulator,
        "--model",
        "qwen3-8b",
        "--concurrency",
        "1,4,16",
        "--requests-per-level",
        "4",
        "--prompt-tokens",
        str(PROMPT),
        "--output-tokens",
        str(OUTPUT),
        "--out",
        str(tmp_path),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    curve = concurrency_curve(DEP, [1, 4, 16], context_tokens=PROMPT + OUTPUT // 2, prompt_tokens=PROMPT)
    for level, point in zip(doc["levels"], curve.points, strict=True):
        assert level["errors"] == 0
        assert level["per_user_tok_s"]["p50"] == pytest.approx(point.stream_tok_s, rel=0.05), level["concurrency"]
    lines = (tmp_path / "requests.jsonl").read_text().splitlines()
    assert len(lines) == 4 * 3
    assert json.loads((tmp_path / "summary.json").read_text())["definitions"].startswith("What one streamed request")


def test_resume_runs_only_what_is_missing(emulator: str, tmp_path: Path) -> None:
    args = ["bench", emulator, "--model", "qwen3-8b", "--concurrency", "4", "--prompt-tokens", "32", "--output-tokens", "8"]
    assert invoke(*args, "--requests-per-level", "4", "--out", str(tmp_path)).exit_code == 0
    doc = invoke(*args, "--requests-per-level", "6", "--resume", str(tmp_path), "--json").json()
    assert doc["levels"][0]["requests"] == 6
    assert len((tmp_path / "requests.jsonl").read_text().splitlines()) == 6


def test_api_key_never_reaches_results(emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENLANE_API_KEY", "sk-very-secret-123")
    result = invoke(
        "bench",
        emulator,
        "--model",
        "qwen3-8b",
        "--concurrency",
        "2",
        "--requests-per-level",
        "2",
        "--prompt-tokens",
        "16",
        "--output-tokens",
        "4",
        "--api-key-env",
        "TOKENLANE_API_KEY",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert result.exit_code == 0
    everything = result.stdout + result.stderr + "".join(p.read_text() for p in tmp_path.iterdir())
    assert "sk-very-secret" not in everything


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("ok", None),
        ("reset", "reset"),
        ("500", "http_5xx"),
        ("400", "http_4xx"),
        ("stall", "stall"),
        ("badsse", "malformed_sse"),
        ("badjson", "malformed_json"),
        ("nodone", "no_done"),
        ("empty", "empty"),
        ("cut", "interrupted"),
        ("shape_choices", "bad_response"),
        ("shape_delta", "bad_response"),
        ("shape_usage", "bad_response"),
        ("shape_list", "bad_response"),
        ("longline", "line_too_long"),
        ("redirect", "redirect"),
        ("redirect_same", "redirect"),
    ],
)
def test_faults_become_classified_errors(mode: str, error: str | None) -> None:
    with serve_in_thread(misbehaving_app()) as url:
        cfg = BenchConfig(base_url=url + "/v1", model=mode, output_tokens=5, stall_timeout_s=0.5, request_timeout_s=3)

        async def go() -> RequestRecord:
            async with make_client(cfg, 1) as client:
                return await stream_one(client, cfg, "hello", RequestRecord(level=1, index=0, intended_ns=0))

        record = asyncio.run(go())
    assert record.error == error, record.error_detail
    if mode == "ok":
        assert record.output_tokens == 5 and len(record.chunk_ns) == 5 and not record.short
    if mode.startswith("shape_"):
        assert record.error_detail.split(":")[0] in ("chunk", "choices[0]", "choices[0].delta", "usage.completion_tokens"), (
            record.error_detail
        )
    if mode == "redirect":
        assert "127.0.0.1:9" in record.error_detail


def test_same_host_redirects_are_followed_only_when_asked() -> None:
    with serve_in_thread(misbehaving_app()) as url:
        cfg = BenchConfig(base_url=url + "/v1", model="redirect_same", output_tokens=5, follow_redirects=True, request_timeout_s=3)
        other = BenchConfig(base_url=url + "/v1", model="redirect", output_tokens=5, follow_redirects=True, request_timeout_s=3)

        async def go(c: BenchConfig) -> RequestRecord:
            async with make_client(c, 1) as client:
                return await stream_one(client, c, "hello", RequestRecord(level=1, index=0, intended_ns=0))

        followed, refused = asyncio.run(go(cfg)), asyncio.run(go(other))
    assert followed.error is None and followed.redirected_to and followed.redirected_to.endswith("/v2/chat/completions")
    assert refused.error == "redirect"


def test_a_short_stream_is_flagged() -> None:
    with serve_in_thread(misbehaving_app()) as url:
        cfg = BenchConfig(base_url=url + "/v1", model="short", output_tokens=64, request_timeout_s=3)

        async def go() -> RequestRecord:
            async with make_client(cfg, 1) as client:
                return await stream_one(client, cfg, "hello", RequestRecord(level=1, index=0, intended_ns=0))

        record = asyncio.run(go())
    assert record.error is None and record.short


def test_high_error_rate_is_reported(tmp_path: Path) -> None:
    with serve_in_thread(misbehaving_app()) as url:
        doc = invoke(
            "bench",
            url,
            "--model",
            "flaky",
            "--concurrency",
            "2",
            "--requests-per-level",
            "8",
            "--output-tokens",
            "5",
            "--out",
            str(tmp_path),
            "--json",
        ).json()
    level = doc["levels"][0]
    assert level["errors"] >= 3 and level["errors_by_class"].get("http_5xx") == level["errors"]
    assert any("failed" in w for w in doc["warnings"])


def test_refused_connection_is_one_clear_line(tmp_path: Path) -> None:
    from tests.integration.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert_user_error(invoke("bench", url, "--model", "x", "--out", str(tmp_path)), url, "cannot connect")
    assert_user_error(invoke("bench", "localhost:8000", "--model", "x"), "not an http(s) URL")


def test_emulator_contract(emulator: str) -> None:
    with httpx.Client(base_url=emulator, timeout=10) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/v1/models").json()["data"][0]["id"] == "qwen3-8b"
        bad = client.post("/v1/chat/completions", json={"model": "qwen3-8b", "messages": []})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
        assert client.post("/v1/chat/completions", content=b"{oops", headers={"content-type": "application/json"}).status_code == 400
        missing = client.post("/v1/completions", json={"model": "nope", "prompt": "hi"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
        done = client.post("/v1/completions", json={"model": "qwen3-8b", "prompt": "hello world", "max_tokens": 3}).json()
        assert done["usage"]["completion_tokens"] == 3 and done["usage"]["prompt_tokens"] == 3
        assert "tokenlane_generated_tokens_total" in client.get("/metrics").text


def test_emulator_caps_streams_with_429() -> None:
    with serve_in_thread(create_app(DEP, max_streams=2)) as url:

        async def go() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                body = {"model": "qwen3-8b", "messages": [{"role": "user", "content": "x"}], "max_tokens": 20}
                replies = await asyncio.gather(*(client.post("/v1/chat/completions", json=body) for _ in range(5)))
                return [r.status_code for r in replies]

        codes = asyncio.run(go())
    assert codes.count(200) >= 2 and 429 in codes


def test_openai_client_streams_from_the_emulator(emulator: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=emulator + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="qwen3-8b", messages=[{"role": "user", "content": "hi"}], max_tokens=4, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 4 and chunks[-1].usage.completion_tokens == 4


def test_measured_curve_feeds_capacity_and_plan(emulator: str, tmp_path: Path) -> None:
    bench_dir = tmp_path / "bench"
    assert (
        invoke(
            "bench",
            emulator,
            "--model",
            "qwen3-8b",
            "--concurrency",
            "1,4",
            "--requests-per-level",
            "2",
            "--prompt-tokens",
            "64",
            "--output-tokens",
            "16",
            "--out",
            str(bench_dir),
        ).exit_code
        == 0
    )
    doc = invoke(
        "capacity",
        "--hardware",
        "dgx-spark",
        "--model",
        "qwen3-8b",
        "--quant",
        "int4-awq",
        "--engine",
        "vllm",
        "--context",
        "72",
        "--prompt-tokens",
        "64",
        "--measured",
        str(bench_dir / "summary.json"),
        "--json",
    ).json()
    assert [p["concurrency"] for p in doc["measured"]] == [1, 4] == [p["batch"] for p in doc["points"]]
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: measured\nworkload: {users: 4, active_hours: 0.5, prompt_tokens: 64, output_tokens: 16}\n"
        "options:\n  - {name: spark, kind: self_host, hardware: dgx-spark, model: qwen3-8b, quant: int4-awq, engine: vllm,"
        " measured: bench/summary.json}\n"
    )
    plan = invoke("plan", str(scenario), "--json", "--no-report").json()
    assert [p["concurrency"] for p in plan["measured"]["spark"]] == [1, 4]
    claim = next(c for c in plan["claims"] if "real endpoint" in c["claim"])
    assert claim["holds"] is True
    assert_user_error(invoke("capacity", "--measured", str(scenario)), "s.yaml", "not a tokenlane bench summary")


def test_dataset_prompts(emulator: str, tmp_path: Path) -> None:
    data = tmp_path / "prompts.jsonl"
    data.write_text('{"prompt": "' + "word " * 400 + '"}\n{"text": "short question"}\n')
    doc = invoke(
        "bench",
        emulator,
        "--model",
        "qwen3-8b",
        "--concurrency",
        "2",
        "--requests-per-level",
        "2",
        "--output-tokens",
        "4",
        "--dataset",
        str(data),
        "--out",
        str(tmp_path / "r"),
        "--json",
    ).json()
    assert doc["levels"][0]["requests"] == 2 and doc["levels"][0]["errors"] == 0
    prompts = sorted(json.loads(line)["usage_prompt_tokens"] for line in (tmp_path / "r" / "requests.jsonl").read_text().splitlines())
    assert prompts == [4, 500]  # the emulator counts 4 bytes per token: "short question" and 400 x "word "
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"nothing": 1}\n')
    assert_user_error(invoke("bench", emulator, "--model", "qwen3-8b", "--dataset", str(bad)), "bad.jsonl", "line 2", "prompt")
