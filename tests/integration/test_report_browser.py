"""Render the HTML report in headless Chromium (system package): every chart draws, its axes fit its data, and the
charts that judge against the SLO carry a labelled SLO line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.browser import launch_options
from tests.cli.helpers import invoke
from tokenlane import load_scenario
from tokenlane.report.charts import FIGURES, THRESHOLD_CHARTS

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AXES_JS = """(id) => {
  const gd = document.getElementById(id);
  const out = {shapes: (gd.layout.shapes || []).length, annotations: (gd.layout.annotations || []).map(a => String(a.text)), axes: {}};
  for (const ax of ['xaxis', 'yaxis']) {
    const full = gd._fullLayout[ax];
    const values = [];
    for (const trace of gd.data) {
      for (const v of (trace[ax[0]] || [])) { if (typeof v === 'number' && isFinite(v)) values.push(v); }
    }
    out.axes[ax] = {type: full.type, range: full.range, values: values};
  }
  return out;
}"""


def _check_axis(chart: str, name: str, axis: dict) -> None:
    """The axis spans at most 100x beyond its data on either side."""
    values = axis["values"]
    if axis["type"] not in ("log", "linear") or not values:
        return
    low, high = axis["range"]
    if axis["type"] == "log":
        positive = [v for v in values if v > 0]
        assert positive, f"{chart}.{name}: log axis without positive data"
        assert 10**high <= 100 * max(positive) and min(positive) <= 100 * 10**low, f"{chart}.{name}: {axis['range']} vs data"
    else:
        span = max(max(values) - min(values), max(abs(v) for v in values), 1e-12)
        assert high - low <= 100 * span, f"{chart}.{name}: {axis['range']} spans far beyond the data"
        assert not (math.isnan(low) or math.isnan(high))


INTERACTIVE_CHARTS = {"latency_cdf", "speed_at_peak", "cost_vs_speed"}
"""Charts of interactive requests: drawn when the day has them, left out (not drawn empty) when it has none."""


TRACE_CHARTS = {"trace_arrivals", "trace_lengths"}
"""Charts of a replayed trace: drawn only when the workload is one."""
SCALED_CHARTS = {"replicas_over_day"}
"""Charts of an autoscaled fleet: drawn only when an option is one."""


@pytest.mark.parametrize(
    ("scenario", "interactive"),
    [
        (None, True),
        ("nightly-batch.yaml", True),
        ("finetuned-extraction.yaml", False),
        ("mooncake-conversation-trace.yaml", True),
        ("rented-office-hours.yaml", True),
    ],
    ids=["built-in", "nightly-batch", "batch-only", "trace", "autoscaled"],
)
def test_report_charts_draw_fit_their_data_and_carry_their_slo_line(tmp_path: Path, scenario: str | None, interactive: bool) -> None:
    from playwright.sync_api import sync_playwright

    args = [str(EXAMPLES / scenario)] if scenario else []
    assert invoke("plan", *args, "--out", str(tmp_path)).exit_code == 0
    options = launch_options()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**options)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((tmp_path / "report.html").as_uri())
        page.wait_for_selector("#cost_breakdown .main-svg", timeout=30000)
        trace = scenario is not None and "trace" in scenario
        scaled = scenario is not None and any(o.autoscale for o in load_scenario(EXAMPLES / scenario).options)
        expected = [
            f.__name__
            for f in FIGURES
            if (interactive or f.__name__ not in INTERACTIVE_CHARTS)
            and (trace or f.__name__ not in TRACE_CHARTS)
            and (scaled or f.__name__ not in SCALED_CHARTS)
        ]
        assert page.locator(".js-plotly-plot").count() == len(expected)
        for chart in expected:
            assert page.locator(f"#{chart} .scatterlayer .trace, #{chart} .barlayer .trace").count() > 0, chart
            layout = page.evaluate(AXES_JS, chart)
            for name, axis in layout["axes"].items():
                _check_axis(chart, name, axis)
            if chart in THRESHOLD_CHARTS:
                assert layout["shapes"] >= 1 and any("SLO" in a for a in layout["annotations"]), f"{chart} lacks its SLO line"
        assert "Recommendation" in page.locator("#verdict").inner_text()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not errors
    assert (tmp_path / "report.png").stat().st_size > 10000
