"""The capacity ladder's knee: which step held its SLO, where it broke."""

from __future__ import annotations

from typing import Any

import pytest

from streamtestbench.slo.knee import ladder_knee
from streamtestbench.slo.thresholds import parse_thresholds


def _stage(name: str, p99: float, total: int = 1000, failed: int = 0) -> dict[str, Any]:
    latency = {"avg": p99 / 3, "min": 0.1, "max": p99 * 2, "p50": p99 / 4, "p90": p99 / 2, "p95": p99 * 0.8,
               "p99": p99, "p999": p99 * 1.5}
    return {"name": name, "totalMessages": total, "successfulMessages": total - failed, "failedMessages": failed,
            "latencyMs": latency, "uncorrectedLatencyMs": latency}


def _results(*stages: dict[str, Any]) -> dict[str, Any]:
    return {"protocol": "WEBSOCKET", "stages": list(stages)}


def test_the_knee_is_the_first_step_whose_p99_breaks_the_slo() -> None:
    results = _results(_stage("step 1 ramp", 5), _stage("step 1 sustain", 8), _stage("step 2 sustain", 40),
                       _stage("step 3 sustain", 400))
    knee = ladder_knee(results, parse_thresholds(["p99 < 100"]))
    assert knee is not None
    assert [row["held"] for row in knee["steps"]] == [True, True, False]
    assert (knee["lastHeld"], knee["brokeAt"]) == ("step 2", "step 3")


def test_errors_break_a_step_too_and_defaults_apply_without_thresholds() -> None:
    results = _results(_stage("a sustain", 5), _stage("b sustain", 5, failed=200))
    knee = ladder_knee(results, [])
    assert knee is not None
    assert knee["rules"]  # seed 002's websocket SLOs
    assert (knee["lastHeld"], knee["brokeAt"]) == ("a", "b")


def test_other_runs_have_no_knee() -> None:
    assert ladder_knee(_results(_stage("steady", 5)), parse_thresholds(["p99 < 1"])) is None


@pytest.mark.integration
def test_a_real_ladder_run_reports_its_knee() -> None:
    from streamtestbench.engine.runner import RunOptions, execute
    from streamtestbench.scenario.loader import scenario_from_data
    from streamtestbench.scenario.plan import build_plan
    from streamtestbench.target.process import TargetProcess

    with TargetProcess() as target:
        scenario = scenario_from_data({
            "name": "ladder", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{target.port}/ws",
            "rates": {"messagesPerSecond": 20},
            "ladder": {"steps": [{"connections": 2, "sustainSeconds": 1.5}, {"connections": 4, "sustainSeconds": 1.5}],
                       "cooldownSeconds": 0.5}})
        results = execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False)).results
    knee = ladder_knee(results, parse_thresholds(["p99 < 1000"]))
    assert knee is not None
    assert [row["step"] for row in knee["steps"]] == ["step 1", "step 2"]
    assert knee["lastHeld"] == "step 2" and knee["brokeAt"] is None
