"""The run gate: thresholds and baselines checked before a run, applied to its results after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streamtestbench import exit_codes
from streamtestbench.scenario.errors import ScenarioError
from streamtestbench.scenario.loader import scenario_from_data
from streamtestbench.slo.gate import apply_gate, prepare_gate

FIXTURE = Path(__file__).parent / "fixtures" / "demo_results.json"


def _results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def _scenario(**validation: Any) -> Any:
    data: dict[str, Any] = {"name": "g", "endpoint": "ws://127.0.0.1:1/ws", "duration_seconds": 1, "connections": 1}
    if validation:
        data["validation"] = validation
    return scenario_from_data(data)


def test_an_unknown_metric_stops_the_run_before_it_starts() -> None:
    with pytest.raises(ScenarioError, match="unknown metric 'p96'"):
        prepare_gate(_scenario(), extra=("p96 < 1",))


def test_a_missing_baseline_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="--baseline"):
        prepare_gate(_scenario(), baseline=str(tmp_path / "nope.json"))


def test_failed_thresholds_give_exit_code_1_and_are_recorded() -> None:
    gate = prepare_gate(_scenario(maxP95LatencyMs=0.0001), extra=("warning: p99 < 0.0001", "error_rate < 0.5"))
    results = _results()
    code, lines = apply_gate(gate, results)
    assert code == exit_codes.SLO_FAILED
    assert results["thresholds"]["passed"] is False
    assert any("FAIL" in line for line in lines)


def test_warnings_alone_do_not_fail_the_run() -> None:
    gate = prepare_gate(_scenario(), extra=("warning: p99 < 0.0001",))
    code, _ = apply_gate(gate, _results())
    assert code == exit_codes.PASSED


def test_comparing_a_run_with_itself_finds_no_regression(tmp_path: Path) -> None:
    gate = prepare_gate(_scenario(), baseline=str(FIXTURE))
    results = _results()
    code, _ = apply_gate(gate, results)
    assert code == exit_codes.PASSED
    assert results["comparison"]["verdict"] == "no significant change"


def test_save_baseline_writes_a_named_store_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    gate = prepare_gate(_scenario(), save_as="nightly")
    results = _results()
    results["status"] = "completed"
    apply_gate(gate, results)
    assert (tmp_path / ".streamtestbench" / "baselines" / "nightly.json").exists()


@pytest.mark.integration
def test_run_exits_1_with_a_failing_threshold(tmp_path: Path) -> None:
    from streamtestbench.target.process import TargetProcess

    output = tmp_path / "r.json"
    with TargetProcess() as target:
        done = subprocess.run([sys.executable, "-m", "streamtestbench", "run", "-p", "websocket", "-e",
                               f"ws://127.0.0.1:{target.port}/ws", "-c", "2", "-r", "10", "-d", "2", "--workers", "1",
                               "--threshold", "p95 < 0.0001", "-o", str(output)],
                              capture_output=True, text=True, timeout=60, env={**os.environ})
    assert done.returncode == exit_codes.SLO_FAILED, done.stdout + done.stderr
    assert "FAIL  p95 < 0.0001" in done.stdout
    assert json.loads(output.read_text())["exitCode"] == exit_codes.SLO_FAILED


@pytest.mark.integration
def test_abort_on_fail_stops_the_run_after_the_delay(tmp_path: Path) -> None:
    from streamtestbench.target.process import TargetProcess

    output = tmp_path / "r.json"
    scenario_file = tmp_path / "s.json"
    with TargetProcess() as target:
        scenario_file.write_text(json.dumps({
            "name": "abort", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{target.port}/ws",
            "duration_seconds": 60, "connections": 2, "rates": {"messagesPerSecond": 10},
            "validation": {"thresholds": ["p95 < 0.0001"], "abortOnFail": True, "abortDelay": "2s"}}))
        done = subprocess.run([sys.executable, "-m", "streamtestbench", "run", "-s", str(scenario_file),
                               "--workers", "1", "-o", str(output)], capture_output=True, text=True, timeout=60)
    results = json.loads(output.read_text())
    assert done.returncode == exit_codes.SLO_FAILED, done.stdout + done.stderr
    assert results["status"] == "stopped"
    assert results["durationSeconds"] < 20
    assert "abortOnFail" in " ".join(results["notes"])
