"""A hybrid is priced as a split: the local part sized and simulated on the box, the rest billed to the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import invoke

SCENARIO = """\
name: documents at night, people by day
workload:
  users: 30
  active_hours: 9
  requests_per_user_hour: 4
  prompt_tokens: {mean: 1200, p90: 2500}
  output_tokens: {mean: 300, p90: 600}
  batch_jobs:
    - {name: nightly, requests: 300000, prompt_tokens: 2000, output_tokens: 50, window_hours: 12}
  slo: {min_tok_s_per_user: 250, max_ttft_s: 3, percentile: 95}
options:
  - {name: box, kind: self_host, hardware: rtx-pro-6000, model: qwen3-30b-a3b, quant: fp8, engine: vllm}
  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5, tok_s: 300}
"""


def test_batch_local_and_people_on_the_api_is_a_priced_split(tmp_path: Path) -> None:
    path = tmp_path / "hybrid.yaml"
    path.write_text(SCENARIO)
    result = invoke("plan", str(path), "--json", "--no-report")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["verdict"]["recommendation"] == "hybrid" and doc["verdict"]["option"] == "box"
    split = doc["hybrid"][0]
    assert (split["local"], split["api"], split["local_part"]) == ("box", "sonnet", "the batch jobs")
    assert split["total_usd_per_month"] == pytest.approx(split["local_usd_per_month"] + split["api_usd_per_month"])
    assert split["total_usd_per_month"] < split["all_api_usd_per_month"]
    box = next(o for o in doc["options"] if o["name"] == "box")
    assert not box["eligible"], "the box alone misses the interactive SLO; only the split makes it useful"
    assert any(r.startswith("Split: box keeps the batch jobs local") for r in doc["verdict"]["reasons"])
