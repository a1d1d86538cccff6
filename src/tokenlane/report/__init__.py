"""Reports: self-contained HTML with Plotly charts, Markdown, JSON."""

from tokenlane.report.render import render_html, render_markdown, write_outcomes, write_report

__all__ = ["render_html", "render_markdown", "write_outcomes", "write_report"]
