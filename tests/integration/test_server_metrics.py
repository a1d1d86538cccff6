"""The server's side: the emulator speaks vLLM's Prometheus names, and `bench --server-metrics` reads them (and
SGLang's, llama-server's and TGI's) beside the client's timings; a server without /metrics gives one warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.helpers import invoke
from tests.integration.servers import serve_in_thread
from tokenlane import build_deployment, builtin_catalog
from tokenlane.bench.server_metrics import metrics_url, read_metrics
from tokenlane.emulate import create_app
from tokenlane.emulate.app import VLLM_METRICS

DEP = build_deployment(builtin_catalog(), hardware="dgx-spark", model="qwen3-8b", quant="int4-awq", engine="vllm")


def test_the_emulator_speaks_vllms_metric_names() -> None:
    with TestClient(create_app(DEP, model_name="served")) as client:
        for _ in range(3):
            assert client.post("/v1/completions", json={"model": "served", "prompt": "hello " * 40, "max_tokens": 6}).status_code == 200
        text = client.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}
    names = {name for name, _ in samples}
    for name in VLLM_METRICS:
        assert name in names or f"{name}_count" in names, name
    label = (("model_name", "served"),)
    assert samples[("vllm:generation_tokens_total", label)] == 18
    assert samples[("vllm:time_to_first_token_seconds_count", label)] == 3
    assert samples[("vllm:inter_token_latency_seconds_count", label)] == 3 * 5
    assert samples[("vllm:e2e_request_latency_seconds_count", label)] == 3
    assert samples[("vllm:prompt_tokens_total", label)] > 0
    assert samples[("vllm:num_requests_running", label)] == 0 and samples[("vllm:num_requests_waiting", label)] == 0
    assert 0.0 <= samples[("vllm:kv_cache_usage_perc", label)] <= 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'vllm:num_requests_running{model_name="a"} 3\nvllm:num_requests_running{model_name="b"} 2\n'
            'vllm:num_requests_waiting{model_name="a"} 1\nvllm:kv_cache_usage_perc{model_name="a"} 0.5\n'
            'vllm:kv_cache_usage_perc{model_name="b"} 0.25\n',
            {"running": 5, "waiting": 1, "kv_cache_use": 0.375},
        ),
        (
            "sglang:num_running_reqs 7\nsglang:num_queue_reqs 2\nsglang:token_usage 0.61\n",
            {"running": 7, "waiting": 2, "kv_cache_use": 0.61},
        ),
        (
            "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 4\n"
            "# TYPE llamacpp:requests_deferred gauge\nllamacpp:requests_deferred 9\nllamacpp:kv_cache_usage_ratio 0.2\n",
            {"running": 4, "waiting": 9, "kv_cache_use": 0.2},
        ),
        ("tgi_batch_current_size 12\ntgi_queue_size 0\n", {"running": 12, "waiting": 0}),
        ('DCGM_FI_DEV_POWER_USAGE{gpu="0"} 410.5\nDCGM_FI_DEV_POWER_USAGE{gpu="1"} 389.5\n', {"power_w": 800.0}),
        ("some_other_metric 1\n", {}),
    ],
    ids=["vllm", "sglang", "llama-server", "tgi", "dcgm", "unknown"],
)
def test_each_servers_names_are_read(text: str, expected: dict[str, float]) -> None:
    assert read_metrics(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:8000/v1", "http://h:8000/metrics"),
        ("http://h:8000/v1/", "http://h:8000/metrics"),
        ("https://h/proxy/v1", "https://h/proxy/metrics"),
    ],
)
def test_metrics_live_beside_the_api(base: str, url: str) -> None:
    assert metrics_url(base) == url


def _bench(url: str, out: Path, concurrency: str = "2,8") -> dict:
    """Levels of 8 requests of 48 tokens (about 1.4 s each on the emulated box): each level lasts over a second, so
    it is scraped at its start and at least once while its requests run."""
    args = ["bench", url, "--model", "qwen3-8b", "--concurrency", concurrency, "--requests-per-level", "8"]
    result = invoke(*args, "--prompt-tokens", "64", "--output-tokens", "48", "--server-metrics", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_bench_records_the_servers_side_of_each_level(tmp_path: Path) -> None:
    with serve_in_thread(create_app(DEP, model_name="qwen3-8b")) as url:
        doc = _bench(url, tmp_path)
    for level in doc["levels"]:
        server = level["server"]
        assert server["samples"] >= 1 and len(server["series"]) == server["samples"]
        assert server["running"]["max"] >= 1
        assert 0.0 <= server["kv_cache_use"]["max"] <= 1.0
        assert server["power_w"] is None
        times = [s["t_s"] for s in server["series"]]
        assert times == sorted(times)
    assert doc["levels"][1]["server"]["running"]["max"] > doc["levels"][0]["server"]["running"]["max"]


def test_a_server_without_metrics_gives_one_warning(tmp_path: Path) -> None:
    app = create_app(DEP, model_name="qwen3-8b")
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", "") != "/metrics"]
    with serve_in_thread(app) as url:
        doc = _bench(url, tmp_path, concurrency="8")
    assert all("server" not in level for level in doc["levels"])
    warned = [w for w in doc["warnings"] if w.startswith("--server-metrics")]
    assert len(warned) == 1 and "HTTP 404" in warned[0]
