"""Every number in every output means something: `plan` on every example and the built-in scenario, read in every
format (terminal at 80 columns, Markdown, HTML text and chart data, JSON), never shows NaN, inf, None or $0 for real
traffic; a scenario nothing qualifies for says so and what would change it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.helpers import invoke

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
MEANINGLESS = re.compile(r"(?i:\b(nan|inf|infinity)\b)|\bNone\b|\$0(/month|\b(?![.,]\d))")


PINNED = {
    "azure-conversation-trace": ("cloud_api", "gpt-mini", "cloud-api"),
    "coding-team-quality-bar": ("cloud_api", "sonnet-4.6", "cloud-api"),
    "desk-box": ("cloud_api", "claude-sonnet", "cloud-api"),
    "eu-insurer-jurisdiction": ("cloud_api", "sonnet-eu-endpoint", "allowed-jurisdictions"),
    "finetuned-extraction": ("private_cloud", "tuned-8b", "fine-tuned"),
    "long-prompt-disaggregated": ("cloud_api", "claude-haiku", "cloud-api"),
    "mooncake-conversation-trace": ("cloud_api", "sonnet", "cloud-api"),
    "narrow-extraction-volume": ("self_host", "h100-node", "batch-workload"),
    "nightly-batch": ("cloud_api", "gpt-mini-batch", "cloud-api"),
    "open-model-maker-api-vs-self-host": ("cloud_api", "gpt-mini", "allowed-jurisdictions"),
    "regulated-on-prem": ("self_host", "spark", "on-prem-residency"),
    "rented-office-hours": ("cloud_api", "claude-sonnet", "cloud-api"),
    "sixteen-h100-397b": ("cloud_api", "claude-sonnet", "cloud-api"),
    "team-assistant": ("cloud_api", "claude-sonnet", "cloud-api"),
    "built-in": ("cloud_api", "claude-sonnet", "cloud-api"),
}
"""Each example's verdict (recommendation, option, rule), pinned: a change to a rule, a price or the model that moves
one must say so here (and in the example's comment when its point changes)."""


def _visible_html(html: str) -> tuple[str, list[str]]:
    """(the page's text outside scripts, the JSON of each chart's Plotly.newPlot call)."""
    charts = re.findall(r"Plotly\.newPlot\((.*?)\)\s*\};?\s*</script>", html, flags=re.DOTALL)
    text = re.sub(r"<script.*?</script>", " ", html, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", text), charts


def _strict_json(text: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"JSON holds {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("path", [*EXAMPLES, None], ids=lambda p: p.stem if p else "built-in")
def test_no_meaningless_number_in_any_format(path: Path | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "report"
    result = invoke("plan", *([str(path)] if path else []), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    text, charts = _visible_html((out / "report.html").read_text())
    for name, content in (("terminal", result.stdout), ("markdown", (out / "report.md").read_text()), ("html", text)):
        found = MEANINGLESS.search(content)
        assert found is None, f"{name}: {found.group(0)!r} in …{content[max(0, found.start() - 80) : found.end() + 40]}…"
    for always in ("speed_vs_users", "cost_vs_volume", "cost_breakdown"):  # the others need interactive requests
        assert any(f'"{always}"' in chart for chart in charts), always
    for chart in charts:
        assert "NaN" not in chart and "Infinity" not in chart
    doc = _strict_json((out / "report.json").read_text())
    assert isinstance(doc, dict)
    for option in doc["cost"]["options"]:
        if option["kind"] == "api":
            assert option["monthly_usd"] > 0 and option["breakdown"]["api_usd"] > 0, option["name"]
    for reason in doc["verdict"]["reasons"]:
        assert MEANINGLESS.search(reason) is None, reason
    verdict = doc["verdict"]
    assert (verdict["recommendation"], verdict["option"], verdict["rule"]) == PINNED[path.stem if path else "built-in"]
    assert isinstance(verdict["robust"], bool) and verdict["robust_reason"] + "." in verdict["reasons"]
    for name, ends in doc["robustness"]["options"].items():  # each varied box at its interval's ends, both numbers real
        low, high = ends["speed_factors"]
        assert 0 < low < 1 < high, name
        assert ends["replicas"][0] >= ends["replicas"][1] >= 1, name  # a slower box never needs fewer replicas


def test_nothing_qualifies_says_so_and_what_would_change_it(tmp_path: Path) -> None:
    scenario = tmp_path / "tight.yaml"
    scenario.write_text(
        "name: clinic on a shoestring\nworkload: {users: 5, active_hours: 1, prompt_tokens: 800, output_tokens: 200}\n"
        "options:\n"
        "  - {name: spark, kind: self_host, hardware: dgx-spark, model: gpt-oss-20b, quant: mxfp4-gguf, engine: llama.cpp}\n"
        "  - {name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
        "constraints: {data_residency: on_prem, max_budget_usd_per_month: 600}\n"
    )
    result = invoke("plan", str(scenario), "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.stderr
    headline = result.stdout.splitlines()[0].lower()
    assert "no option qualifies" in headline and "self host" not in headline
    doc = invoke("plan", str(scenario), "--json", "--no-report").json()
    assert doc["verdict"]["recommendation"] == "none" and doc["verdict"]["option"] is None
    reasons = " ".join(doc["verdict"]["reasons"])
    assert "spark qualifies with a budget of $" in reasons and "FTE of engineering" in reasons
    assert "sonnet cannot qualify: it processes prompts external" in reasons
    assert (tmp_path / "r" / "report.md").read_text().splitlines()[4].startswith("## No option qualifies")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_eighty_columns_cut_no_number(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns every command's tables drop less important columns rather than cut a cell: no '…', and every
    option's monthly cost appears whole."""
    monkeypatch.setenv("COLUMNS", "80")
    plan = invoke("plan", str(path), "--no-report")
    for command in (plan, invoke("cost", str(path)), invoke("simulate", str(path))):
        assert command.exit_code == 0, command.stderr
        assert "…" not in command.stdout
    doc = invoke("plan", str(path), "--json", "--no-report").json()
    for option in doc["options"]:
        if option["monthly_usd"] is not None:
            assert f"${option['monthly_usd']:,.0f}" in plan.stdout, option["name"]
    verdict = doc["verdict"]
    if verdict["option"] is not None:  # the verdict and its option are whole on the first line, whatever the name's length
        assert verdict["option"] in plan.stdout.splitlines()[0]
