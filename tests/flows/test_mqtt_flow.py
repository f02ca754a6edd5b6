"""MQTT flow compilation and payload sources, without sockets."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from streamtestbench.flows.mqtt_flow import (
    Bodies,
    Expect,
    Loop,
    Publish,
    Subscribe,
    check_flow,
    compile_flow,
    generated_bodies,
    mqtt_address,
)
from streamtestbench.flows.websocket import UnsupportedStep
from streamtestbench.scenario.enums import PayloadType
from streamtestbench.scenario.model import Scenario
from streamtestbench.templating import RenderContext


def scenario(flow: list[Any]) -> Scenario:
    return Scenario.model_validate({"name": "mqtt flow", "protocol": "MQTT", "endpoint": "mqtt://127.0.0.1:1883",
                                    "duration_seconds": 5, "connections": 1, "flow": flow})


def test_addresses() -> None:
    assert mqtt_address("mqtt://10.0.0.1:1884") == ("10.0.0.1", 1884)
    assert mqtt_address("localhost") == ("localhost", 1883)
    assert mqtt_address("tcp://127.0.0.1") == ("127.0.0.1", 1883)
    with pytest.raises(UnsupportedStep, match="TLS"):
        mqtt_address("mqtts://127.0.0.1:8883")


def test_flow_compiles_to_small_operations() -> None:
    scn = scenario([
        {"connect": {}},
        {"subscribe": {"topic": "s/#", "qos": 1}},
        {"loop": {"count": 2, "steps": [{"publish": {"topic": "s/${clientId}", "json": {"n": 1}, "qos": 1}},
                                         {"expect": {"match": {"n": 1}}}]}},
        {"unsubscribe": {"topic": "s/#"}},
        {"think": 0.1},
        {"disconnect": True},
    ])
    flow = compile_flow(scn.flow)
    assert flow.connects and flow.expects
    subscribe_op, loop = flow.ops[1], flow.ops[2]
    assert isinstance(subscribe_op, Subscribe) and subscribe_op.qos == 1 and not subscribe_op.unsubscribe
    assert isinstance(loop, Loop) and loop.count == 2
    publish, expect = loop.ops
    assert isinstance(publish, Publish) and publish.qos == 1 and publish.bodies.static == b'{"n":1}'
    assert isinstance(expect, Expect)
    assert isinstance(flow.ops[3], Subscribe) and flow.ops[3].unsubscribe


@pytest.mark.parametrize("step", [
    {"send": {"text": "hi"}},
    {"request": {"url": "/x"}},
    {"subscribe": "a-websocket-channel"},
])
def test_steps_mqtt_cannot_run_fail_before_the_run(step: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedStep):
        check_flow(scenario([step]))


def test_check_flow_accepts_the_mqtt_examples() -> None:
    from streamtestbench.scenario.examples.mqtt import MQTT_PUBSUB_FLOW, MQTT_QOS1

    for example in (MQTT_PUBSUB_FLOW, MQTT_QOS1):
        check_flow(Scenario.model_validate({**example, "endpoint": "mqtt://127.0.0.1:1883"}))


def test_bodies_from_templates_text_and_generators() -> None:
    ctx = RenderContext(vu=3, iteration=1, rng=random.Random(1), variables={"clientId": "c3"})
    flow = compile_flow(scenario([
        {"publish": {"topic": "t", "text": "from ${clientId}"}},
        {"publish": {"topic": "t", "json": {"who": "${clientId}", "n": 2}}},
        {"publish": {"topic": "t", "payload": "METRICS"}},
    ]).flow)
    text, json_body, generated = (op.bodies for op in flow.ops)
    assert text.next(ctx, 0) == b"from c3"
    assert orjson.loads(json_body.next(ctx, 0)) == {"who": "c3", "n": 2}
    assert orjson.loads(generated.next(ctx, 0))["type"]


def test_flat_out_pool_holds_open_json_bodies() -> None:
    bodies = generated_bodies([PayloadType.HEARTBEAT, PayloadType.METRICS], random.Random(1), fresh=False)
    ctx = RenderContext(vu=0, iteration=0, rng=random.Random(1))
    pool = bodies.open_pool(ctx)
    assert len(pool) == 128 and all(body[:1] == b"{" and body[-1:] != b"}" for body in pool)
    assert Bodies(static=b"plain").open_pool(ctx) == [b"{"]
