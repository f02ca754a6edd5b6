"""The whole engine against the real reference target on loopback: counts, stops, dead targets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streamtestbench import exit_codes
from streamtestbench.cli import main
from streamtestbench.engine import runner
from streamtestbench.engine.runner import COORDINATOR_NICE, RunOptions, execute
from streamtestbench.scenario.loader import scenario_from_data
from streamtestbench.scenario.plan import build_plan
from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
        return data


def _rates_scenario(endpoint: str, seconds: float = 3.0, connections: int = 8, rate: float = 40.0) -> dict[str, Any]:
    return {"name": "engine test", "protocol": "WEBSOCKET", "endpoint": endpoint,
            "duration_seconds": seconds, "connections": connections, "rates": {"messagesPerSecond": rate}}


def test_counts_match_the_targets_own_stats_exactly() -> None:
    with TargetProcess() as target:
        scenario = scenario_from_data(_rates_scenario(f"ws://127.0.0.1:{target.port}/ws"))
        outcome = execute(scenario, build_plan(scenario), RunOptions(workers=2, show_progress=False))
        stats = _stats(target.port)
    results = outcome.results
    assert outcome.exit_code == exit_codes.PASSED
    assert results["messageMetrics"]["messagesSent"] == stats["messages"]["in"]
    assert results["messageMetrics"]["messagesReceived"] == stats["messages"]["out"]
    assert results["successfulMessages"] == results["totalMessages"] > 0.9 * 8 * 40 * 3
    assert results["connectionMetrics"]["successfulConnections"] == 8
    assert results["failedMessages"] == 0
    assert results["histograms"]["messages"]["corrected"]


def test_flow_with_phases_runs_each_arrival_once() -> None:
    with TargetProcess() as target:
        data = {"name": "flow", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{target.port}/ws",
                "phases": [{"duration": 2, "arrivalCount": 10}],
                "flow": [{"connect": "/ws"}, {"subscribe": "agents"},
                         {"loop": {"count": 3, "steps": [{"send": {"json": {"type": "ping"}}}, {"think": 0.05}]}},
                         {"unsubscribe": "agents"}, {"disconnect": True}]}
        scenario = scenario_from_data(data)
        outcome = execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False))
    results = outcome.results
    assert results["connectionMetrics"]["successfulConnections"] == 10
    assert results["metrics"]["ws.ping"]["successful"] == 30
    assert results["metrics"]["ws.subscribe"]["successful"] == 10
    assert results["totalMessages"] == 50 == results["successfulMessages"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_port_gives_counted_errors_and_exit_code_3() -> None:
    scenario = scenario_from_data(_rates_scenario(f"ws://127.0.0.1:{_closed_port()}/ws", seconds=2, connections=3))
    outcome = execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False))
    assert outcome.exit_code == exit_codes.ABORTED
    assert outcome.results["connectionMetrics"]["failedConnections"] >= 3
    assert {error["kind"] for error in outcome.results["errors"]} == {"Connection refused"}


def test_sigint_during_a_run_writes_partial_results(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    with TargetProcess() as target:
        command = [sys.executable, "-m", "streamtestbench", "run", "-p", "websocket",
                   "-e", f"ws://127.0.0.1:{target.port}/ws", "-c", "4", "-r", "20", "-d", "60",
                   "--workers", "1", "-o", str(output)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})
        time.sleep(4.0)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    assert child.returncode == exit_codes.ABORTED, out.decode()
    results = json.loads(output.read_text())
    assert results["status"] == "interrupted"
    assert results["successfulMessages"] > 0
    assert b"Results Summary" in out


def test_a_dead_worker_is_reported_and_its_numbers_are_kept(tmp_path: Path) -> None:
    import psutil

    output = tmp_path / "results.json"
    with TargetProcess() as target:
        command = [sys.executable, "-m", "streamtestbench", "run", "-p", "websocket",
                   "-e", f"ws://127.0.0.1:{target.port}/ws", "-c", "4", "-r", "20", "-d", "8",
                   "--workers", "2", "-o", str(output)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(4.0)
        workers = [p for p in psutil.Process(child.pid).children(recursive=True)
                   if "multiprocessing" in " ".join(p.cmdline())]
        workers = [p for p in workers if "resource_tracker" not in " ".join(p.cmdline())]
        assert len(workers) == 2
        workers[0].kill()
        out, _ = child.communicate(timeout=40)
    assert child.returncode == exit_codes.ABORTED, out.decode()
    results = json.loads(output.read_text())
    assert results["status"] == "aborted"
    assert len(results["workers"]["lost"]) == 1
    assert results["successfulMessages"] > 100  # the survivor's, plus the dead one's up to its last snapshot
    assert b"workers lost mid-run" in out


def test_connections_dropped_by_the_target_are_counted_and_reopened() -> None:
    with TargetProcess("--fault", "reset:0.2", "--seed", "7") as target:
        scenario = scenario_from_data(_rates_scenario(f"ws://127.0.0.1:{target.port}/ws", seconds=3, connections=4,
                                                      rate=20.0))
        outcome = execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False))
    results = outcome.results
    kinds = {error["kind"] for error in results["errors"]}
    assert "Connection reset" in kinds
    assert results["connectionMetrics"]["reconnects"] > 0
    assert results["connectionMetrics"]["successfulConnections"] == 4 + results["connectionMetrics"]["reconnects"]
    assert results["successfulMessages"] > 0


def test_a_stall_shows_in_corrected_latency_and_not_in_uncorrected() -> None:
    """wrk2's model: one message in flight per connection; late sends keep their intended time."""
    with TargetProcess("--fault", "stall:2@2") as target:
        data = _rates_scenario(f"ws://127.0.0.1:{target.port}/ws", seconds=7, connections=5, rate=40.0)
        data["rates"]["maxInFlight"] = 1
        scenario = scenario_from_data(data)
        outcome = execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False))
    results = outcome.results
    assert results["failedMessages"] == 0
    assert results["p99LatencyMs"] > 1000.0  # the stall, seen by every message that waited behind it
    assert results["uncorrectedLatencyMs"]["p99"] < 500.0  # only the five messages caught in it
    assert results["uncorrectedLatencyMs"]["max"] > 1000.0


def _niceness_after_lowering(by: int) -> tuple[int, int]:
    """(before, after) niceness of a child that calls ``_lower_priority(by)``: a renice cannot be undone here."""
    code = ("import os; from streamtestbench.engine.runner import _lower_priority; "
            "before = os.getpriority(os.PRIO_PROCESS, 0); "
            f"_lower_priority({by}); print(before, os.getpriority(os.PRIO_PROCESS, 0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    before, after = (int(word) for word in out.stdout.split())
    return before, after


@pytest.mark.parametrize("by", [3, 30])
def test_lower_priority_raises_the_niceness_by_the_amount_capped_at_19(by: int) -> None:
    before, after = _niceness_after_lowering(by)
    assert after == min(19, before + by)
    assert after > before or before == 19


def test_lower_priority_by_zero_changes_nothing() -> None:
    before, after = _niceness_after_lowering(0)
    assert after == before


def test_the_coordinator_keeps_its_priority_unless_asked_and_the_cli_asks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert RunOptions().coordinator_nice == 0
    seen: dict[str, Any] = {}

    def fake_run(scenario: Any, plan: Any, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(runner, "run_plan_from_cli", fake_run)
    result = CliRunner().invoke(main, ["run", "-p", "websocket", "-e", "ws://127.0.0.1:9/ws", "-d", "1"])
    assert result.exit_code == 0, result.output
    assert seen["options"].coordinator_nice == COORDINATOR_NICE > 0
