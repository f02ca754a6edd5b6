"""Per-interval time series as CSV: one row per interval (normally one second)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamtestbench.outputs.report.series import ALL_MESSAGES, PERCENTILES, interval_rows, latency

COLUMNS: tuple[str, ...] = (
    "interval",
    "elapsed_s",
    "phase",
    "step",
    "throughput",
    "completed",
    "failures",
    *(f"{p}_corrected_ms" for p in PERCENTILES),
    *(f"{p}_uncorrected_ms" for p in PERCENTILES),
    "active_connections",
)


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def render_csv(results: Mapping[str, Any], label: str = ALL_MESSAGES) -> str:
    """Latency columns use ``label`` (default: upper bound over all message labels); empty when absent."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in interval_rows(results):
        w.writerow(
            [
                r.index,
                f"{r.elapsed_s:.3f}",
                r.phase,
                r.step,
                f"{r.throughput:.3f}",
                r.completed,
                r.failures,
                *(_fmt(latency(r, label, "corrected", p)) for p in PERCENTILES),
                *(_fmt(latency(r, label, "uncorrected", p)) for p in PERCENTILES),
                "" if r.active_connections is None else r.active_connections,
            ]
        )
    return buf.getvalue()


def write_csv(results: Mapping[str, Any], path: str | Path, label: str = ALL_MESSAGES) -> Path:
    p = Path(path)
    p.write_text(render_csv(results, label), encoding="utf-8", newline="")
    return p
