"""Accuracy of the engine's measurements against the reference target (issue: engine targets).

1. A target that answers after a fixed 10 ms (``--fault slow:10``): the reported p50 should be
   within 0.5 ms of 10 ms.
2. A 2 s stall (``--fault stall:2@4``) during a constant-rate run with one message in flight per
   connection (wrk2's model): the corrected p99 should show the stall, the uncorrected should not.
3. Messages sent and received should equal the target's own /stats counts exactly.

Prints a table and writes bench/results/accuracy.{md,json}. Run: .venv/bin/python bench/accuracy.py
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from streamtestbench.engine.runner import RunOptions, execute
from streamtestbench.scenario.loader import scenario_from_data
from streamtestbench.scenario.plan import build_plan
from streamtestbench.target.process import TargetProcess

RESULTS = Path(__file__).parent / "results"


def _run(port: int, seconds: float, connections: int, rate: float, max_in_flight: int | None) -> dict[str, Any]:
    rates: dict[str, Any] = {"messagesPerSecond": rate}
    if max_in_flight is not None:
        rates["maxInFlight"] = max_in_flight
    scenario = scenario_from_data({"name": "accuracy", "protocol": "WEBSOCKET",
                                   "endpoint": f"ws://127.0.0.1:{port}/ws", "duration_seconds": seconds,
                                   "connections": connections, "rates": rates})
    return execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False)).results


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        result: dict[str, Any] = json.load(response)
        return result


def fixed_delay() -> dict[str, Any]:
    with TargetProcess("--fault", "slow:10") as target:
        results = _run(target.port, 8.0, 10, 20.0, None)
    p50 = results["uncorrectedLatencyMs"]["p50"]
    return {"check": "slow:10 -> p50 within 0.5 ms of 10 ms", "p50_ms": p50, "p99_ms": results["p99LatencyMs"],
            "error_ms": round(p50 - 10.0, 3), "holds": abs(p50 - 10.0) <= 0.5}


def stall() -> dict[str, Any]:
    with TargetProcess("--fault", "stall:2@4") as target:
        results = _run(target.port, 12.0, 10, 100.0, 1)
    corrected, uncorrected = results["p99LatencyMs"], results["uncorrectedLatencyMs"]["p99"]
    return {"check": "2 s stall: corrected p99 shows it, uncorrected does not", "corrected_p99_ms": corrected,
            "uncorrected_p99_ms": uncorrected, "uncorrected_max_ms": results["uncorrectedLatencyMs"]["max"],
            "holds": corrected >= 1000.0 and uncorrected < 100.0}


def exact_counts() -> dict[str, Any]:
    with TargetProcess() as target:
        results = _run(target.port, 6.0, 20, 50.0, None)
        time.sleep(0.2)
        stats = _stats(target.port)
    sent, received = results["messageMetrics"]["messagesSent"], results["messageMetrics"]["messagesReceived"]
    return {"check": "sent/received equal the target's /stats", "sent": sent, "target_in": stats["messages"]["in"],
            "received": received, "target_out": stats["messages"]["out"],
            "holds": sent == stats["messages"]["in"] and received == stats["messages"]["out"]}


def main() -> int:
    rows = [fixed_delay(), stall(), exact_counts()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "accuracy.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "rows": rows},
                                                      indent=2))
    lines = ["# Measurement accuracy", "", "| check | figures | holds |", "|---|---|---|"]
    for row in rows:
        figures = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("check", "holds"))
        lines.append(f"| {row['check']} | {figures} | {'yes' if row['holds'] else 'NO'} |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "accuracy.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
