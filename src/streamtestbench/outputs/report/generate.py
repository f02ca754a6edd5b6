"""One call for the CLI: read a results JSON (and an optional baseline) and write the requested reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamtestbench.outputs.report.csv import write_csv
from streamtestbench.outputs.report.html import write_html
from streamtestbench.outputs.report.junit import write_junit


class ReportInputError(ValueError):
    """The results (or baseline) file is missing, unreadable or not a results document."""


def load_results(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportInputError(f"cannot read {p}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportInputError(f"{p} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportInputError(f"{p} is not a results document (top level is {type(data).__name__}, not an object)")
    return data


def generate_reports(
    results_path: str | Path,
    html_path: str | Path | None = None,
    *,
    baseline_path: str | Path | None = None,
    junit_path: str | Path | None = None,
    csv_path: str | Path | None = None,
) -> list[Path]:
    """Write each report whose path is given; returns the paths written. Raises ReportInputError on bad input."""
    results = load_results(results_path)
    baseline = load_results(baseline_path) if baseline_path is not None else None
    written: list[Path] = []
    if html_path is not None:
        written.append(write_html(results, html_path, baseline=baseline))
    if junit_path is not None:
        written.append(write_junit(results, junit_path))
    if csv_path is not None:
        written.append(write_csv(results, csv_path))
    return written
