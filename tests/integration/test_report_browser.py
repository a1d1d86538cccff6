"""Render the default HTML report in headless Chromium (system package) and check that every chart drew."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.cli.helpers import invoke

pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = os.environ.get("TOKENLANE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is required for this test: apt-get install chromium (.ci/run does this)"
    return path


def test_default_report_renders_its_charts(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert invoke("plan", "--out", str(tmp_path)).exit_code == 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((tmp_path / "report.html").as_uri())
        page.wait_for_selector("#cost_breakdown .main-svg", timeout=30000)
        assert page.locator(".js-plotly-plot").count() == 4
        for chart in ("speed_vs_users", "ttft_distribution", "cost_vs_volume", "cost_breakdown"):
            assert page.locator(f"#{chart} .scatterlayer .trace, #{chart} .barlayer .trace").count() > 0, chart
        assert "Recommendation" in page.locator("#verdict").inner_text()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not errors
    assert (tmp_path / "report.png").stat().st_size > 10000
