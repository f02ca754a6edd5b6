"""Post-run reports: a self-contained HTML page, JUnit XML for CI servers, per-second CSV."""

from __future__ import annotations

from streamtestbench.outputs.report.csv import render_csv, write_csv
from streamtestbench.outputs.report.generate import ReportInputError, generate_reports, load_results
from streamtestbench.outputs.report.html import render_html, write_html
from streamtestbench.outputs.report.junit import render_junit, write_junit

__all__ = [
    "ReportInputError",
    "generate_reports",
    "load_results",
    "render_csv",
    "render_html",
    "render_junit",
    "write_csv",
    "write_html",
    "write_junit",
]
