"""What the server says about itself while a level runs: its Prometheus `/metrics` scraped every second, beside the
client's own timings (`bench --server-metrics`).

Running and waiting requests, KV-cache use and power are read under the names vLLM, SGLang, llama-server (started
with `--metrics`) and Hugging Face TGI give them, and NVIDIA's DCGM exporter for power where the server exposes it.
A server without `/metrics`, or with none of these names, gives one warning and no section, never an error.
# Source: docs.vllm.ai "Production Metrics" (vllm:*); docs.sglang.ai "Production Metrics" (sglang:*); llama.cpp
# tools/server/README.md "/metrics" (llamacpp:*); huggingface.co/docs/text-generation-inference "Metrics" (tgi_*);
# github.com/NVIDIA/dcgm-exporter default counters (DCGM_FI_DEV_POWER_USAGE).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

SCRAPE_INTERVAL_S = 1.0
SERIES = {
    "running": ("vllm:num_requests_running", "sglang:num_running_reqs", "llamacpp:requests_processing", "tgi_batch_current_size"),
    "waiting": ("vllm:num_requests_waiting", "sglang:num_queue_reqs", "llamacpp:requests_deferred", "tgi_queue_size"),
    "kv_cache_use": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage", "llamacpp:kv_cache_usage_ratio"),
    "power_w": ("DCGM_FI_DEV_POWER_USAGE",),
}
"""What is read, and the names each server gives it (the first one present wins). Running, waiting and power are
summed over a name's series (several models or GPUs); KV use, a share in [0, 1], is averaged."""
_MEAN = {"kv_cache_use"}


def metrics_url(base_url: str) -> str:
    """The server's `/metrics` beside an OpenAI-style base URL (`http://host:8000/v1` -> `http://host:8000/metrics`)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    path = path[: -len("/v1")] if path.endswith("/v1") else path
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/metrics", "", ""))


def read_metrics(text: str) -> dict[str, float]:
    """The quantities of `SERIES` found in a Prometheus text exposition (absent ones left out)."""
    found: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(float(sample.value))
    values: dict[str, float] = {}
    for quantity, names in SERIES.items():
        name = next((n for n in names if n in found), None)
        if name is not None:
            series = found[name]
            values[quantity] = sum(series) / len(series) if quantity in _MEAN else sum(series)
    return values


@dataclass
class ServerMetrics:
    """Scrapes one server's `/metrics` while a level runs (`start`, `stop`) and summarises what it saw."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    interval_s: float = SCRAPE_INTERVAL_S
    samples: list[dict[str, float]] = field(default_factory=list)
    """One entry a scrape: `t_s` (Unix time, as the request records' clock) and each quantity read."""
    problem: str | None = None
    """Why nothing could be read (the first failure ends the scraping), or None."""
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop scraping (the first scrape is taken as the level starts, so even a short level has one)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        url = metrics_url(self.base_url)
        timeout = aiohttp.ClientTimeout(total=max(2.0, 2 * self.interval_s))
        async with aiohttp.ClientSession(timeout=timeout, headers=self.headers) as session:
            while self.problem is None:
                await self._scrape(session, url)
                await asyncio.sleep(self.interval_s)

    async def _scrape(self, session: aiohttp.ClientSession, url: str) -> None:
        try:
            async with session.get(url) as response:
                if response.status != 200:
                    self.problem = f"{url} answered HTTP {response.status}"
                    return
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as exc:
            self.problem = f"{url} could not be read ({type(exc).__name__})"
            return
        try:
            values = read_metrics(text)
        except ValueError:
            self.problem = f"{url} is not Prometheus text"
            return
        if not values:
            self.problem = f"{url} has none of vLLM's, SGLang's, llama-server's or TGI's metric names"
            return
        self.samples.append({"t_s": time.time(), **values})

    def summary(self) -> dict[str, Any] | None:
        """{samples, interval_s, <quantity>: {mean, max}, series: [...]} for the level, or None when nothing was read."""
        if not self.samples:
            return None
        out: dict[str, Any] = {"samples": len(self.samples), "interval_s": self.interval_s, "series": self.samples}
        for quantity in SERIES:
            seen = [s[quantity] for s in self.samples if quantity in s]
            out[quantity] = {"mean": sum(seen) / len(seen), "max": max(seen)} if seen else None
        return out
