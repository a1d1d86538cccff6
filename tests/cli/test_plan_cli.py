"""`tokenlane plan` as a user runs it: the built-in example, JSON, reports, and scenarios where nothing qualifies."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import load_scenario

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_default_plan_runs_offline_and_writes_reports(tmp_path: Path) -> None:
    result = invoke("plan", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.stderr
    assert "Recommendation" not in result.stderr
    for name in ("report.html", "report.md", "report.json"):
        assert (tmp_path / "r" / name).stat().st_size > 1000
    html = (tmp_path / "r" / "report.html").read_text()
    assert _external_scripts(html) == []  # self-contained: plotly.js is inline
    assert "Assumptions" in html and "genai-prices" in html


def _external_scripts(html: str) -> list[str]:
    class Scripts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.sources: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "link") and (src := dict(attrs).get("src") or dict(attrs).get("href")):
                self.sources.append(src)

    parser = Scripts()
    parser.feed(html)
    return parser.sources


def test_json_verdict_and_options(tmp_path: Path) -> None:
    doc = invoke("plan", "--json", "--no-report").json()
    verdict = doc["verdict"]
    assert verdict["recommendation"] in {"cloud_api", "private_cloud", "self_host", "hybrid"}
    names = [o["name"] for o in doc["options"]]
    assert verdict["option"] in names
    assert verdict["reasons"] and all(isinstance(r, str) for r in verdict["reasons"])
    for o in doc["options"]:
        assert {"name", "meets_slo", "units", "monthly_usd", "data_residency_ok"} <= set(o)
    assert any("tok/s" in r for r in verdict["reasons"])  # reasons carry numbers


def test_on_prem_residency_rules_out_apis(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: on-prem\nworkload: {users: 5, active_hours: 1, prompt_tokens: 800, output_tokens: 200}\n"
        "options:\n"
        "  - {name: spark, kind: self_host, hardware: dgx-spark, model: gpt-oss-20b, quant: mxfp4-gguf, engine: llama.cpp}\n"
        "  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
        "constraints: {data_residency: on_prem}\n"
    )
    doc = invoke("plan", str(scenario), "--json", "--no-report").json()
    assert doc["verdict"]["recommendation"] == "self_host" and doc["verdict"]["option"] == "spark"
    sonnet = next(o for o in doc["options"] if o["name"] == "sonnet")
    assert sonnet["data_residency_ok"] is False


def test_no_option_fits_still_reports_why(tmp_path: Path) -> None:
    scenario = tmp_path / "none.yaml"
    scenario.write_text(
        "name: impossible\nworkload: {users: 5, active_hours: 1}\n"
        "options:\n"
        "  - {name: tiny, kind: self_host, hardware: rtx-4090, model: llama-3.1-405b, quant: bf16, engine: vllm}\n"
        "  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
        "constraints: {data_residency: on_prem}\n"
    )
    result = invoke("plan", str(scenario), "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["verdict"]["option"] is None
    text = " ".join(doc["verdict"]["reasons"])
    assert "does not fit" in text and "data residency" in text
    assert "impossible" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path: Path) -> None:
    assert load_scenario(path).options


def test_bad_input_exit_2(tmp_path: Path) -> None:
    assert_user_error(invoke("plan", str(tmp_path / "nope.yaml")), "nope.yaml", "cannot read")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nworkload: {users: 3, difficulty: impossible}\noptions: [{name: a, kind: api, provider: openai, model: gpt-5-mini}]\n"
    )
    assert_user_error(invoke("plan", str(bad)), "bad.yaml", "workload.difficulty")
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert_user_error(invoke("plan", "--out", str(blocked / "sub")), "cannot write the report")
    assert json.loads(invoke("plan", "--json", "--no-report").stdout)["scenario"]["name"]
