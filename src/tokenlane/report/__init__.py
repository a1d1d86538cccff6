"""Reports: self-contained HTML with Plotly charts, Markdown, JSON."""

from tokenlane.report.charts import figures
from tokenlane.report.render import render_body, render_html, render_markdown, report_json, write_outcomes, write_report

__all__ = ["figures", "render_body", "render_html", "render_markdown", "report_json", "write_outcomes", "write_report"]
