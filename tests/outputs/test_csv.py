from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from streamtestbench.outputs.report.csv import COLUMNS, render_csv, write_csv


def test_one_row_per_interval(demo_results: dict[str, Any], tmp_path: Path) -> None:
    path = write_csv(demo_results, tmp_path / "series.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert tuple(rows[0].keys()) == COLUMNS
    ts = demo_results["timeSeries"]
    assert len(rows) == len(ts)
    for row, entry in zip(rows, ts, strict=True):
        assert int(row["interval"]) == entry["index"]
        assert float(row["throughput"]) == entry["throughput"]
        assert int(row["failures"]) == entry["failures"]
        assert int(row["active_connections"]) == entry["active_connections"]
    assert [float(r["elapsed_s"]) for r in rows] == [float(i) for i in range(len(ts))]


def test_latency_is_ms_upper_bound_over_message_labels(demo_results: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(demo_results))))
    entry = demo_results["timeSeries"][1]
    msg = [m for m in entry["metrics"] if m["name"] not in ("connect", "first_message")]
    msg = [m for m in msg if not m["name"].startswith("push:")]
    for pct in ("p50", "p95", "p99"):
        for kind in ("corrected", "uncorrected"):
            expected = max(m[kind][pct] for m in msg) / 1000.0
            assert float(rows[1][f"{pct}_{kind}_ms"]) == round(expected, 3)
    # The last interval of the demo has no samples: latency cells are empty, not zero.
    assert demo_results["timeSeries"][-1]["metrics"] == []
    assert rows[-1]["p99_corrected_ms"] == ""


def test_single_label_and_empty_results(demo_results: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(demo_results, label="connect"))))
    first = demo_results["timeSeries"][0]["metrics"]
    connect = next(m for m in first if m["name"] == "connect")
    assert float(rows[0]["p99_corrected_ms"]) == round(connect["corrected"]["p99"] / 1000.0, 3)
    assert render_csv({}) == ",".join(COLUMNS) + "\n"
