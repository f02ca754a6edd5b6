from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def _demo_results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "results_demo.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def demo_results(_demo_results: dict[str, Any]) -> dict[str, Any]:
    """A real results document written by `streamtestbench demo` (histograms stripped)."""
    return copy.deepcopy(_demo_results)


@pytest.fixture
def rich_results(demo_results: dict[str, Any]) -> dict[str, Any]:
    """The demo results plus hostile text, errors, threshold verdicts and a comparison block."""
    r = demo_results
    r["scenarioName"] = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    r["errors"] = [{"kind": "timeout", "count": 3}, {"kind": "<b>closed</b>", "count": 1}]
    r["thresholds"] = [
        {"threshold": "p99 < 50ms", "level": "error", "observed": 19.98, "passed": True},
        {"threshold": "error_rate < 0.01", "level": "warn", "observed": 0.02, "passed": False},
        {"threshold": "p95 < 1ms <x>", "level": "error", "observed": 1.32, "passed": False},
    ]
    r["comparison"] = {"baseline": "base.json", "deltas": [{"metric": "p99LatencyMs", "change": "+3.1%"}]}
    return r
