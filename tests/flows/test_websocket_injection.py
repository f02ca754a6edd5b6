"""Generated payloads and seed 000's failure injection in the WebSocket behaviour."""

from __future__ import annotations

import random
from typing import Any

import orjson

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.flows.websocket import Send, WebSocketBehaviour, compile_flow
from streamtestbench.scenario.enums import PayloadType
from streamtestbench.scenario.loader import scenario_from_data

SEED_000_FAULTS = {
    "enabled": True,
    "networkDelays": {"enabled": True, "rangeMs": {"start": 5, "endInclusive": 20}, "probability": 0.3},
    "duplicateMessages": {"probability": 0.3, "maxDuplicates": 2},
    "schemaDrift": {"probability": 0.3, "mutations": [
        {"type": "ADD_FIELD", "fieldPath": "extra_field", "newValue": "test_value"}]},
}


def _scenario(port: int = 1, **extra: Any) -> Any:
    data: dict[str, Any] = {"name": "inject", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{port}/ws",
                            "duration_seconds": 2, "connections": 1, "rates": {"messagesPerSecond": 5}}
    return scenario_from_data(data | extra)


def _behaviour(**extra: Any) -> WebSocketBehaviour:
    return WebSocketBehaviour(_scenario(**extra), NullRecorder(), random.Random(7), grace_s=1.0)


def test_a_payload_send_step_compiles_to_a_generated_keyed_send() -> None:
    flow = compile_flow(scenario_from_data({
        "name": "f", "protocol": "WEBSOCKET", "endpoint": "ws://127.0.0.1:1/ws",
        "phases": [{"duration": 1, "arrivalCount": 1}],
        "flow": [{"send": {"payload": "VOICE_DATA", "sizeBytes": 4000}},
                 {"send": {"payload": "METRICS", "expect": {"match": {"type": "metrics"}}}}]}).flow, "x", {})
    voice, metrics = flow.ops
    assert isinstance(voice, Send) and isinstance(metrics, Send)
    assert (voice.name, voice.payload_type, voice.size_bytes, voice.keyed) == \
        ("ws.voice_data", PayloadType.VOICE_DATA, 4000, "c")
    assert (metrics.name, metrics.reply_type, metrics.keyed) == ("ws.metrics", "metrics", "c")


def test_the_rate_sender_cycles_through_the_scenario_payload_types() -> None:
    behaviour = _behaviour(payloads=["VOICE_DATA", "BEHAVIORAL_DATA", "METRICS"])
    op = Send("ws.message", None, {}, None, "c")
    kinds = []
    for _ in range(6):
        payload, key = behaviour._materialise(op, 3)
        message = orjson.loads(payload)
        assert key == ("c", message["correlation_id"])  # the target echoes it; the reply is matched by it
        assert message["correlation_id"].startswith("3-") and isinstance(message["timestamp"], int)
        kinds.append(message["type"])
    assert set(kinds) == {"voice_data", "behavioral_data", "metrics"}


def test_size_bytes_of_a_send_step_reaches_the_wire() -> None:
    behaviour = _behaviour(flow=[{"send": {"payload": "SESSION_DATA", "sizeBytes": 3000}}])
    (op,) = behaviour.flow.ops
    payload, _ = behaviour._materialise(op, 0)
    assert 3000 - 16 <= len(payload) <= 3000


def test_without_payloads_the_rate_sender_sends_heartbeats() -> None:
    payload, _ = _behaviour()._materialise(Send("ws.message", None, {}, None, "c"), 0)
    assert orjson.loads(payload)["type"] == "heartbeat"


def test_probability_zero_keeps_the_fast_path() -> None:
    zeroed = {"connectionDrops": {"probability": 0.0}, "duplicateMessages": {"probability": 0.0}}
    behaviour = _behaviour(failureInjection=zeroed, flow=[{"send": "hello"}])
    assert behaviour.inject is None
    assert behaviour._chain_sends is not None  # flows still run as a callback chain
    assert _behaviour(failureInjection=SEED_000_FAULTS, flow=[{"send": "hello"}])._chain_sends is None


def test_schema_drift_reaches_generated_and_static_json_messages() -> None:
    always = {"schemaDrift": {"probability": 1.0, "mutations": [{"type": "NULL_FIELD", "fieldPath": "device_id"}]}}
    behaviour = _behaviour(failureInjection=always, payloads=["HEARTBEAT"],
                           flow=[{"send": {"json": {"type": "ping", "device_id": "d1"}}}])
    generated, _ = behaviour._materialise(Send("ws.message", None, {}, None, "c"), 0)
    (static_op,) = behaviour.flow.ops
    static, _ = behaviour._materialise(static_op, 0)
    assert orjson.loads(generated)["device_id"] is None
    assert orjson.loads(static) == {"type": "ping", "device_id": None}


def test_turning_injection_on_leaves_the_generated_content_unchanged() -> None:
    def messages(**extra: Any) -> list[dict[str, Any]]:
        behaviour = _behaviour(payloads=["BEHAVIORAL_DATA", "VOICE_DATA"], **extra)
        if behaviour.inject is not None:
            for _ in range(50):
                behaviour.inject.delay_s()  # faults drawn between messages, as a run would
        op = Send("ws.message", None, {}, None, "c")
        found = [orjson.loads(behaviour._materialise(op, 1)[0]) for _ in range(10)]
        return [{k: v for k, v in message.items() if k != "timestamp"} for message in found]

    delays = {"networkDelays": {"rangeMs": {"start": 1, "endInclusive": 5}, "probability": 0.5}}
    assert messages() == messages(failureInjection=delays)


def _run(scenario: Any) -> dict[str, Any]:
    from streamtestbench.engine.runner import RunOptions, execute
    from streamtestbench.scenario.plan import build_plan

    return execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False)).results


def test_connection_drops_at_probability_one_are_counted_with_their_reconnects() -> None:
    """Per-message semantics: before every send the connection is reset, reopened after 50 ms,
    and the message goes out on the new connection; the reference target answers each one."""
    from streamtestbench.target.process import TargetProcess

    drops = {"connectionDrops": {"probability": 1.0, "reconnectDelayMs": 50}}
    with TargetProcess() as target:
        results = _run(_scenario(target.port, failureInjection=drops, payloads=["METRICS"]))
    sent = results["totalMessages"]
    assert sent >= 5
    drops = results["injectedFailures"]["connection_drop"]
    assert set(results["injectedFailures"]) == {"connection_drop"}
    assert drops in (sent, sent + 1)  # one per message, plus one if the run ended during a reconnect pause
    connections = results["connectionMetrics"]
    assert connections["reconnects"] == drops
    assert connections["successfulConnections"] == sent + 1  # the first connection, then one per sent drop
    assert connections["failedConnections"] == 0
    # A reply lost to a drop fails as the injected kind, never as a server failure.
    assert {error["kind"] for error in results["errors"]} <= {"injected connection drop"}


def test_delays_duplicates_and_drift_against_the_target_leave_every_reply_matched() -> None:
    from streamtestbench.target.process import TargetProcess

    with TargetProcess() as target:
        results = _run(_scenario(target.port, failureInjection=SEED_000_FAULTS, duration_seconds=3,
                                 rates={"messagesPerSecond": 20},
                                 payloads=["VOICE_DATA", "BEHAVIORAL_DATA", "METRICS"]))
    injected = results["injectedFailures"]
    assert injected["network_delay"] > 0 and injected["duplicate"] > 0
    assert injected["schema_drift"] == injected["schema_drift.ADD_FIELD"] > 0
    assert results["failedMessages"] == 0  # duplicates' echoes were absorbed, not mistaken for replies
    assert results["messageMetrics"]["messagesSent"] == results["totalMessages"] + injected["duplicate"]


def test_a_reconnect_storm_drops_its_fraction_once_and_they_reconnect() -> None:
    from streamtestbench.target.process import TargetProcess

    storm = {"reconnectStorm": {"atSeconds": 0.5, "fraction": 0.5, "reconnectDelayMs": 100}}
    with TargetProcess() as target:
        results = _run(_scenario(target.port, failureInjection=storm, connections=4,
                                 rates={"messagesPerSecond": 10}))
    # Units 0 and 2 of 0..3 are in a half-storm (golden-ratio spread): two drops, two reconnects.
    assert results["injectedFailures"] == {"reconnect_storm": 2}
    assert results["connectionMetrics"]["reconnects"] == 2
    assert results["connectionMetrics"]["successfulConnections"] == 6


def test_drops_inside_a_flow_reconnect_to_the_flow_connection_and_carry_on() -> None:
    from streamtestbench.target.process import TargetProcess

    data = {"name": "flow", "protocol": "WEBSOCKET", "phases": [{"duration": 1, "arrivalCount": 2}],
            "failureInjection": {"connectionDrops": {"probability": 1.0, "reconnectDelayMs": 10}},
            "flow": [{"connect": "/ws"},
                     {"send": {"payload": "VOICE_DATA", "sizeBytes": 2048}},
                     {"send": {"payload": "SESSION_DATA", "expect": {"match": {"type": "session_data"}}}},
                     {"disconnect": True}]}
    with TargetProcess() as target:
        results = _run(scenario_from_data(data | {"endpoint": f"ws://127.0.0.1:{target.port}/ws"}))
    assert results["metrics"]["ws.voice_data"]["successful"] == 2
    assert results["metrics"]["ws.session_data"]["successful"] == 2
    assert results["injectedFailures"] == {"connection_drop": 4}
    assert results["connectionMetrics"]["reconnects"] == 4
    assert results["failedMessages"] == 0
