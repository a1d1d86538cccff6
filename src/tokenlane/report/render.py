"""Write a PlanReport as a self-contained HTML file (Plotly inline), Markdown and JSON."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import jinja2
from plotly.offline import get_plotlyjs

from tokenlane.errors import InputError
from tokenlane.plan import PlanReport
from tokenlane.report.charts import FIGURES
from tokenlane.simulate import ScenarioSimulation
from tokenlane.units import TOKENS_PER_MTOK, format_tokens, format_usd

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("tokenlane.report", "templates"), autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True
)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _context(plan: PlanReport) -> dict[str, object]:
    return {
        "plan": plan,
        "usd": format_usd,
        "num": _num,
        "tokens": format_tokens,
        "version": importlib.metadata.version("tokenlane"),
        "tokens_m": (plan.cost.input_tokens_per_day + plan.cost.output_tokens_per_day) / TOKENS_PER_MTOK,
    }


def render_html(plan: PlanReport) -> str:
    """One self-contained HTML page: plotly.js inline, every chart interactive, no network needed."""
    charts = [fig(plan).to_html(full_html=False, include_plotlyjs=False, div_id=fig.__name__) for fig in FIGURES]
    return _ENV.get_template("report.html.j2").render(**_context(plan), charts=charts, plotly_js=get_plotlyjs())


def render_markdown(plan: PlanReport) -> str:
    """The report as Markdown tables, for pasting into documents."""
    return _ENV.get_template("report.md.j2").render(**_context(plan))


def write_outcomes(path: str | Path, sim: ScenarioSimulation) -> Path:
    """Every simulated request's outcome as JSONL, one line per request with its option's name."""
    path = Path(path)
    try:
        with path.open("w", encoding="utf-8") as fh:
            for result in sim.results:
                for outcome in result.per_request or []:
                    fh.write(json.dumps({"option": result.option, **outcome.model_dump(mode="json")}) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror})", path=str(path)) from exc
    return path


def write_report(plan: PlanReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.html, report.md and report.json into `out_dir` (created if missing); returns their paths."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"html": out / "report.html", "markdown": out / "report.md", "json": out / "report.json"}
        paths["html"].write_text(render_html(plan), encoding="utf-8")
        paths["markdown"].write_text(render_markdown(plan), encoding="utf-8")
        paths["json"].write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report ({exc.strerror})", path=str(out)) from exc
    return paths
