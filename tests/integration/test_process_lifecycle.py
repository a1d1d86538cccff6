"""Killing a run ends all of it: `tokenlane plan` and `tokenlane search` leave no worker behind after SIGTERM (the CLI
unwinds and terminates its pool) or SIGKILL (each worker exits once its parent is gone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from /proc (Linux)")

SLOW = """name: a long plan
workload: {users: 5, active_hours: 9, requests_per_user_hour: 2, difficulty: narrow,
           batch_jobs: [{name: docs, requests: 5000000, prompt_tokens: 1200, output_tokens: 80, window_hours: 8}]}
options:
  - {name: a, kind: self_host, hardware: h100-sxm, model: llama-3.1-8b, quant: fp8, engine: vllm, max_units: 64}
  - {name: b, kind: cloud_gpu, hardware: h100-sxm, model: llama-3.1-8b, quant: fp8, engine: vllm, max_units: 64}
  - {name: mini, kind: api, provider: openai, model: gpt-5.4-mini, batch_api: true}
"""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(c) for c in text.split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], set[int]]:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW)
    env = {**os.environ, "NO_COLOR": "1"}
    code = "from tokenlane.cli.app import main; main()"
    log = tmp_path / "stderr.txt"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args, str(path), "--no-report"], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = _children(proc.pid)
        if len(children) >= 2:
            return proc, children
        if proc.poll() is not None:
            pytest.fail(f"the run ended before starting its workers: {log.read_text()}")
        time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    pytest.fail("no workers started within 60 s")


def _all_gone(pids: set[int], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    for p in pids:
        if _alive(p):
            os.kill(p, signal.SIGKILL)
    return False


def _stop(proc: subprocess.Popen[bytes], how: signal.Signals, workers: set[int]) -> None:
    """Send `how`, wait for the run to end, and leave nothing behind whatever happens (a failed check included)."""
    try:
        os.kill(proc.pid, how)
        proc.wait(timeout=10)
        assert _all_gone(workers, within_s=5.0), "workers outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_killing_plan_ends_its_workers(tmp_path: Path, how: signal.Signals) -> None:
    proc, workers = _start(tmp_path, "plan")
    _stop(proc, how, workers)
    if how == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM


def test_killing_search_ends_its_pool(tmp_path: Path) -> None:
    proc, workers = _start(tmp_path, "search")
    _stop(proc, signal.SIGTERM, workers)
