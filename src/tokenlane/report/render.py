"""Write a PlanReport as a self-contained HTML file (Plotly inline), Markdown and JSON."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path

import jinja2
from plotly.offline import get_plotlyjs

from tokenlane.errors import InputError
from tokenlane.plan import PlanReport
from tokenlane.report.charts import figures, option_colours
from tokenlane.search import SearchReport
from tokenlane.simulate import OUTCOMES, RequestLog, ScenarioSimulation
from tokenlane.units import MS_PER_S, TOKENS_PER_MTOK, format_tokens, format_usd, plural

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("tokenlane.report", "templates"), autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True
)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _context(plan: PlanReport, search: SearchReport | None = None) -> dict[str, object]:
    return {
        "plan": plan,
        "search": search,
        "usd": format_usd,
        "plural": plural,
        "colours": option_colours(plan),
        "num": _num,
        "tokens": format_tokens,
        "version": importlib.metadata.version("tokenlane"),
        "tokens_m": (plan.cost.input_tokens_per_day + plan.cost.output_tokens_per_day) / TOKENS_PER_MTOK,
    }


def render_html(plan: PlanReport, search: SearchReport | None = None) -> str:
    """One self-contained HTML page: plotly.js inline, every chart interactive, no network needed."""
    charts = [figure.to_html(full_html=False, include_plotlyjs=False, div_id=name) for name, figure in figures(plan, search)]
    return _ENV.get_template("report.html.j2").render(**_context(plan, search), charts=charts, plotly_js=get_plotlyjs())


def render_body(plan: PlanReport, chart_divs: list[str]) -> str:
    """The report's body (verdict, tables, the given chart placeholders) as an HTML fragment, for a page that draws
    the charts itself (`tokenlane serve`)."""
    return _ENV.get_template("report_body.html.j2").render(**_context(plan), charts=chart_divs)


def render_markdown(plan: PlanReport, search: SearchReport | None = None) -> str:
    """The report as Markdown tables, for pasting into documents."""
    return _ENV.get_template("report.md.j2").render(**_context(plan, search))


def write_outcomes(path: str | Path, sim: ScenarioSimulation) -> Path:
    """Every simulated request as JSONL, one line each with its option's name, outcome, tokens and times (seconds;
    null where the event never happened): served, truncated, rejected (with the cause) and unfinished alike."""
    path = Path(path)
    try:
        with path.open("w", encoding="utf-8") as fh:
            for result in sim.results:
                if result.log is not None:
                    for row in request_rows(result.log):
                        fh.write(json.dumps({"option": result.option, **row}) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror})", path=str(path)) from exc
    return path


def request_rows(log: RequestLog) -> Iterator[dict[str, object]]:
    """One dict per request of `log`, in request order (queue wait, TTFT, TPOT, tok/s and end-to-end derived)."""
    cols = {
        name: getattr(log, name).tolist()
        for name in (
            "arrival_s",
            "prompt_tokens",
            "cached_tokens",
            "output_tokens",
            "generated_tokens",
            "job",
            "outcome",
            "admitted_s",
            "first_token_s",
            "finished_s",
        )
    }
    for i in range(len(log)):
        arrival, admitted, first, finished = cols["arrival_s"][i], cols["admitted_s"][i], cols["first_token_s"][i], cols["finished_s"][i]
        generated = cols["generated_tokens"][i]
        done = finished >= 0
        decode_s = finished - first if done else 0.0
        yield {
            "request": i,
            "job": cols["job"][i] if cols["job"][i] >= 0 else None,
            "outcome": OUTCOMES[cols["outcome"][i]],
            "arrival_s": arrival,
            "queue_wait_s": admitted - arrival if admitted >= 0 else None,
            "ttft_s": first - arrival if first >= 0 else None,
            "tpot_ms": decode_s / (generated - 1) * MS_PER_S if done and generated > 1 and decode_s > 0 else None,
            "tok_s": (generated - 1) / decode_s if done and generated > 1 and decode_s > 0 else None,
            "e2e_s": finished - arrival if done else None,
            "prompt_tokens": cols["prompt_tokens"][i],
            "cached_tokens": cols["cached_tokens"][i],
            "output_tokens": cols["output_tokens"][i],
            "generated_tokens": generated,
        }


def report_json(plan: PlanReport, search: SearchReport | None = None) -> str:
    """The plan (and the search that found its best configuration, under `search`) as one JSON document."""
    doc = json.loads(plan.model_dump_json())
    if search is not None:
        doc["search"] = json.loads(search.model_dump_json())
    return json.dumps(doc, indent=2)


def write_report(plan: PlanReport, out_dir: str | Path, search: SearchReport | None = None) -> dict[str, Path]:
    """Write report.html, report.md and report.json into `out_dir` (created if missing); returns their paths."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"html": out / "report.html", "markdown": out / "report.md", "json": out / "report.json"}
        paths["html"].write_text(render_html(plan, search), encoding="utf-8")
        paths["markdown"].write_text(render_markdown(plan, search), encoding="utf-8")
        paths["json"].write_text(report_json(plan, search), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report ({exc.strerror})", path=str(out)) from exc
    return paths
