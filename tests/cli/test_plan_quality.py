"""Quality from the user's evals: bars enforced for every kind, an eval counts only for its task, frontier from the
catalog's tier (never from price)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import invoke

BOX = "  - {name: box, kind: self_host, hardware: h100-sxm, model: qwen3-30b-a3b, quant: fp8, engine: vllm}\n"
SONNET = "  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
MINI = "  - {name: mini, kind: api, provider: openai, model: gpt-5-mini}\n"


def _plan(tmp_path: Path, workload: str, options: str) -> dict:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: quality\nworkload: {workload}\noptions:\n{options}")
    result = invoke("plan", str(path), "--json", "--no-report")
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_an_api_below_its_tasks_bar_is_excluded(tmp_path: Path) -> None:
    workload = (
        "{users: 20, active_hours: 1, difficulty: narrow, tasks: [{name: extraction, share: 1.0, min_pass_rate: 0.8, "
        "pass_rates: {mini: 0.72, sonnet: 0.95}}]}"
    )
    doc = _plan(tmp_path, workload, SONNET + MINI)
    mini = next(o for o in doc["options"] if o["name"] == "mini")
    assert not mini["eligible"] and any("72%, below that task's bar of 80%" in i for i in mini["issues"])
    assert doc["verdict"]["option"] == "sonnet"


def test_an_eval_counts_only_for_its_task(tmp_path: Path) -> None:
    workload = (
        "{users: 20, active_hours: 1, difficulty: hard, tasks: [{name: chat, share: 0.8, pass_rates: {sonnet: 0.9}}, "
        "{name: extraction, share: 0.2, pass_rates: {box: 0.99, sonnet: 0.99}}]}"
    )
    doc = _plan(tmp_path, workload, BOX + SONNET)
    box = next(o for o in doc["options"] if o["name"] == "box")
    assert box["quality_risk"] and any("only 20% of the traffic" in i for i in box["issues"])


def test_the_same_model_through_a_pricier_endpoint_never_wins(tmp_path: Path) -> None:
    regional = (
        "  - {name: sonnet-regional, kind: api, provider: anthropic, model: claude-sonnet-4-5, "
        "price: {input_usd_per_mtok: 3.3, output_usd_per_mtok: 16.5}}\n"
    )
    doc = _plan(tmp_path, "{users: 20, active_hours: 1, difficulty: hard}", regional + SONNET + MINI)
    assert doc["verdict"]["option"] == "sonnet"
    tiers = {o["name"]: o["quality_tier"] for o in doc["options"]}
    assert tiers == {"sonnet-regional": "frontier", "sonnet": "frontier", "mini": "mid"}
