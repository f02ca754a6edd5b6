"""The console summary: the seed 000 block always; per-protocol and counter blocks when they have content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamtestbench.outputs.summary import render_summary

DEMO = Path(__file__).parent / "fixtures" / "results_demo.json"


def demo() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(DEMO.read_text())
    return results


def test_a_single_protocol_run_shows_no_per_protocol_table() -> None:
    text = render_summary(demo())
    assert "Results Summary" in text and "Per protocol" not in text and "Injected failures" not in text


def test_a_mixed_run_lists_each_protocol_and_the_counter_groups() -> None:
    results = demo()
    row = {"totalMessages": 10, "throughputQps": 5.0, "errorRate": 0.1,
           "latencyMs": {"p95": 3.5}}
    results["protocols"] = {"http": row, "mqtt": {**row, "totalMessages": 99}}
    results["httpStatusClasses"] = {"2xx": 9, "5xx": 1}
    results["injectedFailures"] = {"duplicate": 4}
    results["delivery"] = {"lost": 2}
    text = render_summary(results)
    assert "Per protocol" in text
    assert any(line.split()[:2] == ["mqtt", "99"] for line in text.splitlines())
    assert "2xx 9, 5xx 1" in text and "duplicate 4" in text and "lost 2" in text
