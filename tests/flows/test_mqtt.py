"""MQTT behaviour runs against mosquitto on 127.0.0.1:1883: publishers, flows, delivery, sessions."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import orjson
import pytest

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.delivery import DeliveryTracker
from streamtestbench.flows.mqtt import BATCH, MqttBehaviour
from streamtestbench.protocols.mqtt import ClientSession, PacketType, SessionConfig
from streamtestbench.protocols.mqtt.measured import MeasuredClient
from streamtestbench.scenario.model import Scenario

from ..protocols.mqtt._support import Inbox, connect, subscribe, unique_prefix


class Recorded(NullRecorder):
    def __init__(self) -> None:
        self.messages: list[tuple[str, int, int, int, int, str | None]] = []
        self.pushes: list[tuple[str, int, int]] = []
        self.counts: Counter[str] = Counter()
        self.opened = 0
        self.failed: list[str] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.messages.append((name, intended_ns, start_ns, end_ns, nbytes, error))

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        self.pushes.append((name, latency_ns, nbytes))

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def connection_open(self, connect_ns: int) -> None:
        self.opened += 1

    def connection_failed(self, error: str) -> None:
        self.failed.append(error)

    def named(self, name: str) -> list[tuple[str, int, int, int, int, str | None]]:
        return [m for m in self.messages if m[0] == name]


def scenario(flow: list[Any] | None = None, **mqtt: Any) -> Scenario:
    data: dict[str, Any] = {"name": "mqtt test", "protocol": "MQTT", "endpoint": "mqtt://127.0.0.1:1883",
                            "duration_seconds": 5, "connections": 1, "payloads": ["HEARTBEAT"], "mqtt": mqtt}
    if flow is not None:
        data["flow"] = flow
    return Scenario.model_validate(data)


def behaviour(scn: Scenario, recorder: Recorded, grace_s: float = 2.0) -> MqttBehaviour:
    return MqttBehaviour(scn, recorder, random.Random(7), grace_s=grace_s)


# -- against mosquitto ------------------------------------------------------------------------------------------
live = pytest.mark.integration


def paced(count: int, period_s: float) -> Any:
    start = time.monotonic_ns()
    return lambda i: start + int(i * period_s * 1e9) if i < count else None


@live
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_rate_driven_publisher_without_a_flow(qos: int) -> None:
    prefix = unique_prefix()
    recorder = Recorded()

    async def run() -> list[tuple[str, bytes]]:
        inbox = Inbox()
        conn, session, _ = await connect("stb-watch-" + prefix[-12:], inbox)
        await subscribe(conn, session, inbox, f"{prefix}/#", qos=1)
        scn = scenario(topic=prefix + "/${clientId}", qos=qos, clientId="stb-rate-${vu}-" + prefix[-8:])
        await behaviour(scn, recorder).run_connection(4, StopSignal(), paced(30, 0.002))
        await inbox.wait("messages", 30)
        await conn.close()
        return [(m.topic, m.payload) for m in inbox.messages]

    received = asyncio.run(run())
    publishes = recorder.named("mqtt.publish")
    assert len(publishes) == 30 and all(m[5] is None for m in publishes)
    if qos == 0:
        assert all(m[3] == m[2] for m in publishes)  # one way: end == start
    assert recorder.opened == 1
    assert {topic for topic, _ in received} == {f"{prefix}/stb-rate-4-{prefix[-8:]}"}
    stamps = [orjson.loads(payload)["_stb"] for _, payload in received]
    assert [s["s"] for s in stamps] == list(range(30))
    assert orjson.loads(received[0][1])["type"] == "heartbeat"


@live
def test_flat_out_qos1_refills_the_window_from_acks_and_stops() -> None:
    prefix = unique_prefix()
    stop = StopSignal()

    class StopAfter(Recorded):
        def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                    error: str | None = None) -> None:
            super().message(name, intended_ns, start_ns, end_ns, nbytes, error)
            if len(self.messages) == 100:
                stop.set()

    recorder = StopAfter()
    scn = scenario(topic=prefix + "/t", qos=1, maxInflight=8, clientId="stb-flat-" + prefix[-8:])
    asyncio.run(behaviour(scn, recorder).run_connection(0, stop, None))
    publishes = recorder.named("mqtt.publish")
    # what was in flight when stopped still completes: up to a window, plus acks of the same read not yet recorded
    assert 100 <= len(publishes) <= 100 + 2 * 8
    assert all(m[5] is None for m in publishes)


@live
def test_flat_out_qos0_publishes_stamped_batches() -> None:
    prefix = unique_prefix()
    topic = f"{prefix}/flood"
    stop = StopSignal()

    class StopAfter(Recorded):
        def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                    error: str | None = None) -> None:
            super().message(name, intended_ns, start_ns, end_ns, nbytes, error)
            if len(self.messages) == 2_000:
                stop.set()

    recorder = StopAfter()
    watcher = Recorded()

    async def run() -> DeliveryTracker:
        tracker = DeliveryTracker(watcher)
        subscriber = MeasuredClient(ClientSession(SessionConfig("stb-floodwatch-" + prefix[-8:])), watcher,
                                    on_delivery=tracker.observe)
        assert await subscriber.connect("127.0.0.1", 1883)
        assert await subscriber.request(PacketType.SUBSCRIBE, topic, 0, time.monotonic_ns())
        scn = scenario(topic=topic, qos=0, clientId="stb-flood-" + prefix[-8:])
        await behaviour(scn, recorder).run_connection(0, stop, None)
        await _until_quiet(tracker)
        await subscriber.close()
        return tracker

    tracker = asyncio.run(run())
    publishes = recorder.named("mqtt.publish")
    assert len(publishes) % BATCH == 0 and len(publishes) >= 2_000
    assert all(m[2] == m[3] and m[5] is None for m in publishes)
    summary = tracker.summary()
    assert summary["received"] > 0 and summary["duplicates"] == 0
    assert summary["received"] + summary["lost"] <= len(publishes)


@live
def test_unpaced_qos0_publish_step_goes_in_batches_and_honours_stop() -> None:
    prefix = unique_prefix()
    stop = StopSignal()

    class StopAfter(Recorded):
        def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                    error: str | None = None) -> None:
            super().message(name, intended_ns, start_ns, end_ns, nbytes, error)
            if len(self.messages) == 1_000:
                stop.set()

    recorder = StopAfter()
    flow = [{"publish": {"topic": f"{prefix}/many", "json": {"n": 1}, "count": 1_000_000}}]
    asyncio.run(behaviour(scenario(flow, clientId="stb-many-" + prefix[-8:]), recorder).run_connection(0, stop, None))
    publishes = recorder.named("mqtt.publish")
    assert len(publishes) % BATCH == 0 and 1_000 <= len(publishes) < 1_000 + BATCH
    assert all(m[4] > len(b'{"n":1,"_stb":{"p":"","s":0,"t":0}}') for m in publishes)  # every payload stamped


@live
@pytest.mark.parametrize("qos", [1, 2])
def test_unpaced_acknowledged_publish_step_sends_exactly_its_count(qos: int) -> None:
    prefix = unique_prefix()
    recorder = Recorded()
    flow = [{"publish": {"topic": f"{prefix}/acked", "json": {"n": 1}, "count": 300, "qos": qos}}]
    scn = scenario(flow, clientId="stb-acked-" + prefix[-8:], maxInflight=16)
    asyncio.run(behaviour(scn, recorder).run_iteration(0, time.monotonic_ns(), StopSignal()))
    publishes = recorder.named("mqtt.publish")
    assert len(publishes) == 300 and all(m[5] is None for m in publishes)


@live
def test_publish_subscribe_flow_measures_delivery() -> None:
    prefix = unique_prefix()
    recorder = Recorded()
    flow = [
        {"subscribe": {"topic": f"{prefix}/sensors/#", "qos": 1}},
        {"publish": {"topic": f"{prefix}/sensors/" + "${clientId}", "payload": "METRICS", "qos": 1, "count": 20,
                     "rate": 500}},
        {"expect": {"match": {"type": "metrics"}, "timeoutMs": 2000}},
        {"unsubscribe": {"topic": f"{prefix}/sensors/#"}},
        {"disconnect": True},
    ]

    async def run() -> None:
        await behaviour(scenario(flow, clientId="stb-flow-${vu}-" + prefix[-8:]), recorder).run_iteration(
            1, time.monotonic_ns(), StopSignal())

    asyncio.run(run())
    assert [m[5] for m in recorder.named("mqtt.subscribe")] == [None]
    assert [m[5] for m in recorder.named("mqtt.unsubscribe")] == [None]
    assert len(recorder.named("mqtt.publish")) == 20
    assert [m[5] for m in recorder.named("mqtt.expect")] == [None]
    assert len(recorder.pushes) == 20 and all(p[0] == "mqtt.deliver" and p[1] > 0 for p in recorder.pushes)
    assert not recorder.counts


@live
def test_expect_without_a_message_is_a_timeout() -> None:
    prefix = unique_prefix()
    recorder = Recorded()
    flow = [{"subscribe": {"topic": f"{prefix}/quiet", "qos": 0}},
            {"expect": {"contains": "never", "timeoutMs": 100}}]
    asyncio.run(behaviour(scenario(flow, clientId="stb-quiet-" + prefix[-8:]), recorder).run_iteration(
        0, time.monotonic_ns(), StopSignal()))
    assert [m[5] for m in recorder.named("mqtt.expect")] == ["timeout"]


@live
def test_live_loss_is_counted_and_joining_late_is_not() -> None:
    """QoS 0 messages published before the subscriber joins are not loss; those mosquitto drops while the
    subscriber stalls are, and every message from the first received to the last is either received or lost."""
    prefix = unique_prefix()
    topic = f"{prefix}/stream"
    recorder = Recorded()
    publisher = behaviour(scenario(topic=topic, qos=0, clientId="stb-stream-" + prefix[-8:]), Recorded())

    first_seq: list[int] = []

    async def run() -> DeliveryTracker:
        await publisher.run_connection(0, StopSignal(), paced(200, 0))
        tracker = DeliveryTracker(recorder)

        def observe(topic: str, payload: bytes, now_ns: int) -> None:
            if not first_seq:
                first_seq.append(orjson.loads(payload)["_stb"]["s"])
            tracker.observe(topic, payload, now_ns)

        subscriber = MeasuredClient(ClientSession(SessionConfig("stb-stall-" + prefix[-8:])), recorder,
                                    on_delivery=observe)
        assert await subscriber.connect("127.0.0.1", 1883)
        assert await subscriber.request(PacketType.SUBSCRIBE, topic, 0, time.monotonic_ns())
        assert subscriber.conn is not None and subscriber.conn.transport is not None
        subscriber.conn.transport.pause_reading()
        await publisher.run_connection(0, StopSignal(), paced(STALLED, 0))
        subscriber.conn.transport.resume_reading()
        await _until_quiet(tracker)
        await publisher.run_connection(0, StopSignal(), paced(20, 0.001))
        await _until_quiet(tracker)
        await subscriber.close()
        return tracker

    tracker = asyncio.run(run())
    summary = tracker.summary()
    assert summary["lost"] > 0, "mosquitto should have dropped QoS 0 messages for the stalled subscriber"
    assert (summary["duplicates"], summary["reordered"]) == (0, 0)
    # Every message from the first received to the last (seq 200 + STALLED + 19) arrived or is counted lost;
    # nothing before the first is (the broker may still deliver a few sent just before we subscribed).
    last_seq = 200 + STALLED + 19
    assert summary["received"] + summary["lost"] == last_seq - first_seq[0] + 1
    assert first_seq[0] <= 200
    assert recorder.counts["delivery.lost"] == summary["lost"]
    assert len(recorder.pushes) == summary["received"]


STALLED = 60_000
"""QoS 0 messages published while the subscriber does not read: more than mosquitto and the sockets hold."""


async def _until_quiet(tracker: DeliveryTracker, quiet_s: float = 0.3) -> None:
    last = -1
    while tracker.received != last:
        last = tracker.received
        await asyncio.sleep(quiet_s)


@live
def test_injected_duplicates_are_seen_as_duplicates_by_a_subscriber() -> None:
    prefix = unique_prefix()
    recorder = Recorded()
    scn = Scenario.model_validate({
        "name": "dups", "protocol": "MQTT", "endpoint": "mqtt://127.0.0.1:1883", "duration_seconds": 5,
        "connections": 1, "payloads": ["HEARTBEAT"],
        "mqtt": {"topic": f"{prefix}/d", "qos": 1, "clientId": "stb-dup-" + prefix[-8:]},
        "failureInjection": {"enabled": True, "duplicateMessages": {"probability": 1.0, "maxDuplicates": 1}},
    })

    async def run() -> dict[str, int]:
        inbox = Inbox()
        tracker = DeliveryTracker(recorder)
        conn, session, _ = await connect("stb-dupwatch-" + prefix[-8:], inbox)
        await subscribe(conn, session, inbox, f"{prefix}/d", qos=1)
        await behaviour(scn, recorder).run_connection(0, StopSignal(), paced(10, 0.002))
        await inbox.wait("messages", 20)
        await conn.close()
        for message in inbox.messages:
            tracker.observe(message.topic, message.payload, time.time_ns())
        return tracker.summary()

    summary = asyncio.run(run())
    assert (summary["received"], summary["duplicates"], summary["lost"]) == (20, 10, 0)
    assert recorder.counts["injected.duplicate"] == 10


@live
def test_persistent_session_receives_what_was_queued_between_iterations() -> None:
    prefix = unique_prefix()
    recorder = Recorded()
    topic = f"{prefix}/inbox"
    flow = [{"subscribe": {"topic": topic, "qos": 1}}, {"think": 0.2}]
    consumer = behaviour(scenario(flow, cleanSession=False, clientId="stb-durable-" + prefix[-8:]), recorder)

    async def run() -> None:
        await consumer.run_iteration(0, time.monotonic_ns(), StopSignal())
        inbox = Inbox()
        conn, session, _ = await connect("stb-feeder-" + prefix[-8:], inbox)
        from streamtestbench.protocols.mqtt import PublishEncoder

        for seq in range(5):
            session.publish(PublishEncoder(topic, 1), orjson.dumps({"_stb": {"p": "feeder", "s": seq, "t": 1}}), seq)
        conn.flush()
        await inbox.wait("done", 5)
        await conn.close()
        await consumer.run_iteration(0, time.monotonic_ns(), StopSignal())
        cleanup, _, _ = await connect("stb-durable-" + prefix[-8:], Inbox(), clean=True)
        await cleanup.close()

    asyncio.run(run())
    assert consumer.units[0].tracker.summary()["received"] == 5


@live
def test_a_flow_that_cannot_connect_retries_at_a_pace_and_stops() -> None:
    recorder = Recorded()
    scn = Scenario.model_validate({
        "name": "down", "protocol": "MQTT", "endpoint": "mqtt://127.0.0.1:1", "duration_seconds": 5,
        "connections": 1, "flow": [{"connect": {}}, {"publish": {"topic": "t", "json": {"n": 1}}}]})
    stop = StopSignal()

    async def run() -> None:
        asyncio.get_running_loop().call_later(0.5, stop.set)
        await behaviour(scn, recorder).run_connection(0, stop, None)

    asyncio.run(run())
    assert 1 <= len(recorder.failed) <= 2 and set(recorder.failed) == {"Connection refused"}
    assert recorder.messages == []


def test_the_scenarios_will_is_set_per_client_with_its_topic_rendered() -> None:
    scn = scenario(clientId="stb-will-${vu}", will={"topic": "status/${clientId}", "payload": "gone", "qos": 1})
    config = behaviour(scn, Recorded())._unit(3).session.config
    assert config.will is not None
    assert (config.will.topic, config.will.payload, config.will.qos) == ("status/stb-will-3", b"gone", 1)
    assert behaviour(scenario(), Recorded())._unit(0).session.config.will is None


def test_custom_payloads_render_the_scenarios_template() -> None:
    data = scenario().model_dump(mode="json", by_alias=True, exclude_none=True)
    data.update(payloads=["CUSTOM"], customPayload={"kind": "probe", "n": "{{ $randomInt(5, 5) }}"})
    body = behaviour(Scenario.model_validate(data), Recorded()).paced_bodies.generators[0].next(0, 1)
    assert (body["kind"], body["n"]) == ("probe", 5)
