"""Noise-aware run comparison on synthetic runs built from seeded numpy draws."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamtestbench.metrics.hdr import HdrHistogram
from streamtestbench.slo.compare import CompareRules, compare

FIXTURE = Path(__file__).parent / "fixtures" / "demo_results.json"
FAST = CompareRules(n_boot=600)


def synth_run(
    seed: int,
    *,
    n: int = 60,
    rate: float = 200.0,
    latency_scale: float = 1.0,
    error_rate: float = 0.01,
    median_ms: float = 5.0,
    sigma: float = 0.5,
    with_histogram: bool = False,
) -> dict[str, Any]:
    """A results document whose per-second intervals come from lognormal latencies.

    Each second has its own slow factor (AR(1) drift of a few percent), as real runs do.
    """
    rng = np.random.default_rng(seed)
    drift = 0.0
    series = []
    all_lat = []
    total = failed = 0
    for i in range(n):
        drift = 0.6 * drift + rng.normal(0.0, 0.04)
        count = int(rng.poisson(rate))
        lat_ms = rng.lognormal(math.log(median_ms), sigma, count) * latency_scale * math.exp(drift)
        fails = int(rng.binomial(count, error_rate))
        p50, p95, p99 = np.percentile(lat_ms, [50, 95, 99]) * 1000.0
        total += count
        failed += fails
        all_lat.append(lat_ms)
        series.append(
            {
                "index": i,
                "start_ns": i * 1_000_000_000,
                "end_ns": (i + 1) * 1_000_000_000,
                "phase": "steady",
                "completed": count,
                "failures": fails,
                "throughput": float(count),
                "partial": False,
                "metrics": [
                    {
                        "name": "req",
                        "tags": {"stage": "steady"},
                        "outcomes": {"ok": count - fails, "failed": fails, "timeout": 0},
                        "corrected": {"p50": int(p50), "p95": int(p95), "p99": int(p99)},
                    },
                    # connection metrics must not leak into the request-latency statistic
                    {"name": "connect", "outcomes": {"ok": 5}, "corrected": {"p95": 900_000}},
                ],
            }
        )
    lat = np.concatenate(all_lat)
    doc: dict[str, Any] = {
        "totalMessages": total,
        "failedMessages": failed,
        "successfulMessages": total - failed,
        "errorRate": failed / total,
        "p95LatencyMs": float(np.percentile(lat, 95)),
        "throughputQps": total / n,
        "timeSeries": series,
    }
    if with_histogram:
        hist = HdrHistogram(1, 3_600_000_000, 3)
        hist.record_many(np.maximum((lat * 1000.0).astype(np.int64), 1))
        doc["histograms"] = {"messages": {"corrected": hist.encode(), "unit": "us"}}
    return doc


def test_known_20pct_p95_shift_is_regressed() -> None:
    for seed in range(5):
        base = synth_run(2 * seed)
        new = synth_run(2 * seed + 1, latency_scale=1.2)
        cmp = compare(base, new, FAST)
        p95 = cmp.change("p95")
        assert p95.verdict == "regressed", cmp.render_text()
        assert p95.change is not None and 0.15 < p95.change < 0.25
        assert p95.ci_low is not None and p95.ci_high is not None
        assert 0.0 < p95.ci_low < p95.change < p95.ci_high
        assert cmp.verdict == "regressed" and cmp.regressed and cmp.exit_code == 1
        # and the other way round it is an improvement
        back = compare(new, base, FAST)
        assert back.change("p95").verdict == "improved"
        assert back.verdict == "improved" and back.exit_code == 0


def test_same_distribution_false_positive_rate_below_5pct() -> None:
    flagged = 0
    flagged_p95 = 0
    pairs = 200
    for i in range(pairs):
        base = synth_run(10_000 + 2 * i, n=30, rate=100.0)
        new = synth_run(10_001 + 2 * i, n=30, rate=100.0)
        cmp = compare(base, new, CompareRules(n_boot=400, seed=i))
        flagged += cmp.verdict != "no significant change"
        flagged_p95 += cmp.change("p95").verdict != "no significant change"
    rate = flagged / pairs
    print(f"false-positive rate over {pairs} same-distribution pairs: {rate:.3f} (p95 only: {flagged_p95 / pairs:.3f})")
    assert rate < 0.05


def test_error_rate_and_throughput_regressions() -> None:
    base = synth_run(1, error_rate=0.01)
    worse = synth_run(2, error_rate=0.03, rate=120.0)
    cmp = compare(base, worse, FAST)
    assert cmp.change("error_rate").verdict == "regressed"
    assert cmp.change("throughput").verdict == "regressed"
    assert cmp.change("p95").verdict == "no significant change"
    assert cmp.change("throughput").change == pytest.approx(-0.4, abs=0.05)


def test_zero_errors_in_base() -> None:
    base = synth_run(3, error_rate=0.0)
    same = synth_run(4, error_rate=0.0)
    assert compare(base, same, FAST).change("error_rate").verdict == "no significant change"
    worse = synth_run(5, error_rate=0.02)
    ch = compare(base, worse, FAST).change("error_rate")
    assert ch.verdict == "regressed"
    assert ch.change is not None and math.isfinite(ch.change)


def test_deterministic_and_json() -> None:
    base, new = synth_run(7), synth_run(8, latency_scale=1.1)
    a, b = compare(base, new, FAST), compare(base, new, FAST)
    assert a.to_json() == b.to_json()
    doc = json.loads(json.dumps(a.to_json()))
    assert doc["verdict"] in {"regressed", "improved", "no significant change"}
    assert {m["metric"] for m in doc["metrics"]} == {"p95", "error_rate", "throughput"}
    for m in doc["metrics"]:
        assert {"base", "new", "relativeChange", "ciLow", "ciHigh", "verdict", "method"} <= set(m)
    text = a.render_text()
    assert "p95" in text and "95% CI" in text


def test_histogram_fallback_without_time_series() -> None:
    base = synth_run(11, with_histogram=True)
    new = synth_run(12, latency_scale=1.3, with_histogram=True)
    for doc in (base, new):
        del doc["timeSeries"]
    cmp = compare(base, new, FAST)
    p95 = cmp.change("p95")
    assert p95.method == "histogram-bootstrap"
    assert p95.verdict == "regressed"
    assert cmp.change("error_rate").method == "rate-ratio"
    same = synth_run(13, with_histogram=True)
    del same["timeSeries"]
    assert compare(base, same, FAST).change("p95").verdict == "no significant change"


def test_point_fallback_and_missing_fields() -> None:
    cmp = compare({"p95LatencyMs": 10.0, "throughputQps": 100.0}, {"p95LatencyMs": 13.0, "throughputQps": 100.0})
    assert cmp.change("p95").method == "point"
    assert cmp.change("p95").verdict == "regressed"
    empty = compare({}, {})
    assert empty.verdict == "no significant change"
    assert all(c.change is None or c.change == 0.0 for c in empty.changes)


def test_demo_fixture_against_itself_and_scaled_copy() -> None:
    demo = json.loads(FIXTURE.read_text())
    assert compare(demo, demo, FAST).verdict == "no significant change"
    slower = copy.deepcopy(demo)
    for iv in slower["timeSeries"]:
        for m in iv["metrics"]:
            m["corrected"] = {k: int(v * 1.2) for k, v in m["corrected"].items()}
    ch = compare(demo, slower, FAST).change("p95")
    assert ch.change == pytest.approx(0.2, abs=0.01)
    # a 20 s ramp run is too noisy to call a 20% shift: the interval says so instead
    assert ch.ci_low is not None and ch.ci_low < 0.0 < ch.ci_high  # type: ignore[operator]


def test_stage_filter() -> None:
    demo = json.loads(FIXTURE.read_text())
    cmp = compare(demo, demo, CompareRules(n_boot=300, stage="stage 2"))
    assert cmp.verdict == "no significant change"
    assert cmp.change("throughput").base is not None
    missing = compare(demo, demo, CompareRules(n_boot=300, stage="nope"))
    assert any("nope" in n for n in missing.notes)
