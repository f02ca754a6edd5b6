"""Seed 000's MQTT example against mosquitto, and a MIXED run against mosquitto and the reference target."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamtestbench.target.process import TargetProcess

from .scenario_runs import generate, run_file

pytestmark = pytest.mark.integration

MQTT_ENV = {"MQTT_URL": "mqtt://127.0.0.1:1883"}


@pytest.mark.parametrize("file_name", ["mqtt_graphql_load.json", "mqtt_qos1.json", "mqtt_pubsub_flow.json"])
def test_mqtt_examples_run_clean_against_mosquitto(tmp_path: Path, file_name: str) -> None:
    generated = generate("mqtt", tmp_path / "generated")
    results = run_file(generated / file_name, MQTT_ENV, tmp_path / "results.json")
    assert results["status"] == "completed"
    assert results["totalMessages"] > 0
    assert results["failedMessages"] == 0, results["errors"]
    assert set(results["protocols"]) == {"mqtt"}


def test_a_mixed_run_reports_each_protocol_and_the_sum(tmp_path: Path) -> None:
    generated = generate("mixed", tmp_path / "generated")
    with TargetProcess() as target:
        env = {**MQTT_ENV, "BASE_URL": f"http://127.0.0.1:{target.port}",
               "WS_URL": f"ws://127.0.0.1:{target.port}/ws"}
        results = run_file(generated / "mixed_protocols.json", env, tmp_path / "results.json")
    protocols = results["protocols"]
    assert {"ws", "mqtt", "http"} <= set(protocols)
    assert sum(row["totalMessages"] for row in protocols.values()) == results["totalMessages"]
    assert results["failedMessages"] == 0, results["errors"]
    # 50 connections dealt 3:1:1
    assert results["connectionMetrics"]["successfulConnections"] >= 50
