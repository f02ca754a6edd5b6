"""MIXED scenarios: weighted unit assignment, per-group scenario views, dispatch to each group's behaviour."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from streamtestbench.engine.behaviour import Behaviour
from streamtestbench.engine.mixed import GroupAssignment, MixedBehaviour, group_scenario
from streamtestbench.engine.recording import NullRecorder, Recorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.scenario.enums import Protocol
from streamtestbench.scenario.model import Scenario

MIXED = {
    "name": "mix",
    "protocol": "MIXED",
    "duration_seconds": 10,
    "connections": 10,
    "rates": {"messagesPerSecond": 2},
    "groups": [
        {"name": "ws", "weight": 3, "protocol": "WEBSOCKET", "endpoint": "ws://127.0.0.1:1/ws",
         "payloads": ["HEARTBEAT"]},
        {"name": "mqtt", "weight": 1, "protocol": "MQTT", "endpoint": "mqtt://127.0.0.1:1883",
         "mqtt": {"qos": 1}, "rates": {"messagesPerSecond": 5}},
        {"name": "http", "weight": 1, "protocol": "HTTP", "endpoint": "http://127.0.0.1:1",
         "flow": [{"get": {"url": "/health"}}]},
    ],
}


@pytest.mark.parametrize("weights", [[3, 1, 1], [1, 1], [0.2, 0.7, 0.1], [5]])
def test_every_prefix_of_units_holds_the_weighted_shares(weights: list[float]) -> None:
    assignment = GroupAssignment(weights)
    total = sum(weights)
    counts: Counter[int] = Counter()
    for unit in range(500):
        counts[assignment.group_of(unit)] += 1
        for index, weight in enumerate(weights):
            assert abs(counts[index] - (unit + 1) * weight / total) <= 1.0


def test_assignment_is_the_same_whatever_order_units_are_asked_in() -> None:
    forward = GroupAssignment([3, 1, 1])
    backward = GroupAssignment([3, 1, 1])
    expected = [forward.group_of(unit) for unit in range(50)]
    assert [backward.group_of(unit) for unit in reversed(range(50))][::-1] == expected


def test_a_group_view_takes_the_groups_protocol_and_flow_and_the_parents_load_shape() -> None:
    scenario = Scenario.model_validate(MIXED)
    ws, mqtt, http = (group_scenario(scenario, group) for group in scenario.groups)
    assert (ws.protocol, ws.endpoint, [p.value for p in ws.payloads]) == (
        Protocol.WEBSOCKET, "ws://127.0.0.1:1/ws", ["HEARTBEAT"])
    assert ws.rates is not None and ws.rates.messages_per_second == 2
    assert mqtt.rates is not None and mqtt.rates.messages_per_second == 5
    assert mqtt.mqtt is not None and mqtt.mqtt.qos == 1
    assert http.protocol is Protocol.HTTP and len(http.flow) == 1
    assert (http.duration_seconds, http.connections, http.groups) == (10, 10, [])


class FakeBehaviour:
    def __init__(self, scenario: Scenario, log: list[tuple[str, int, Any]]) -> None:
        self.name = scenario.protocol.value
        self.log = log

    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        self.log.append((self.name, unit, next_due))

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        self.log.append((self.name, unit, scheduled_ns))

    async def close(self) -> None:
        self.log.append((self.name, -1, None))


def test_units_reach_their_groups_behaviour_with_the_right_schedule() -> None:
    log: list[tuple[str, int, Any]] = []

    def make(view: Scenario, recorder: Recorder, rng: random.Random, grace_s: float) -> Behaviour:
        return FakeBehaviour(view, log)

    mixed = MixedBehaviour(Scenario.model_validate(MIXED), NullRecorder(), random.Random(1), grace_s=1.0,
                           make=make)
    parent_due: Callable[[int], int | None] = lambda index: index  # noqa: E731

    async def drive() -> None:
        for unit in range(5):
            await mixed.run_connection(unit, StopSignal(), parent_due)
        await mixed.run_iteration(7, 123, StopSignal())
        await mixed.close()

    asyncio.run(drive())
    connections = log[:5]
    assert Counter(name for name, _, _ in connections) == Counter({"WEBSOCKET": 3, "MQTT": 1, "HTTP": 1})
    due_by_protocol = {name: due for name, _, due in connections}
    assert due_by_protocol["WEBSOCKET"] is parent_due  # flowless group: the scenario's rate
    assert due_by_protocol["HTTP"] is None  # a flow loops closed
    mqtt_due = due_by_protocol["MQTT"]
    assert mqtt_due is not None and mqtt_due(5) - mqtt_due(0) == 1_000_000_000  # its own 5/s
    assert log[5][1:] == (7, 123)
    assert sorted(name for name, unit, _ in log if unit == -1) == ["HTTP", "MQTT", "WEBSOCKET"]
