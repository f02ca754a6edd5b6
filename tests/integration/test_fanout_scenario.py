"""Seed 001's fan-out example as `generate` writes it, run by `streamtestbench run` against the relaying target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streamtestbench.target.process import TargetProcess

from .scenario_runs import generate

pytestmark = pytest.mark.integration

SUBSCRIBERS = 200
MESSAGES = 100


def test_every_subscriber_gets_every_published_message(tmp_path: Path) -> None:
    data = json.loads((generate("mixed", tmp_path) / "fanout_nats.json").read_text())
    prefix = f"stb.{uuid.uuid4().hex[:10]}"
    subscribers, feed = data["groups"]
    subscribers["weight"] = SUBSCRIBERS
    feed["flow"] = [{"think": 2}, {"publish": {**feed["flow"][1]["publish"], "topic": f"{prefix}.ticks",
                                                "count": MESSAGES, "rate": 100}},
                    {"think": 3600}]
    data.update(connections=SUBSCRIBERS + 1, duration_seconds=5)
    scenario = tmp_path / "fanout.json"
    scenario.write_text(json.dumps(data))
    with TargetProcess("--broadcast-rate", "0", "--nats", "nats://127.0.0.1:4222", "--relay", f"{prefix}.>") as target:
        completed = subprocess.run(
            [sys.executable, "-m", "streamtestbench", "run", "-s", str(scenario), "-o", str(tmp_path / "r.json"),
             "--workers", "1", "--progress-interval", "60"],
            env={**os.environ, "WS_URL": f"ws://127.0.0.1:{target.port}/ws"}, capture_output=True, text=True,
            timeout=60,
        )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    results = json.loads((tmp_path / "r.json").read_text())
    pushes = results["pushMetrics"]
    assert pushes["ws.broadcast"]["received"] == SUBSCRIBERS * MESSAGES
    assert pushes["gaps"] == 0
    assert results["protocols"]["nats"]["totalMessages"] == MESSAGES
    assert results["connectionMetrics"]["successfulConnections"] == SUBSCRIBERS + 1
