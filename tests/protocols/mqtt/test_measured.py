"""MeasuredClient without sockets: what reaches the Recorder for acks, refusals, losses and expects."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.protocols.matching import SubsetMatch
from streamtestbench.protocols.mqtt.codec import MQTT_5, PacketType, Publish, encode_publish
from streamtestbench.protocols.mqtt.measured import MeasuredClient
from streamtestbench.protocols.mqtt.session import ClientSession, PublishEncoder, SessionConfig


class Recorded(NullRecorder):
    def __init__(self) -> None:
        self.messages: list[tuple[str, int, int, int, int, str | None]] = []
        self.closed: list[str | None] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.messages.append((name, intended_ns, start_ns, end_ns, nbytes, error))

    def connection_closed(self, error: str | None = None) -> None:
        self.closed.append(error)


class LoopbackBroker:
    """Stands in for the connection: answers SUBSCRIBE/UNSUBSCRIBE with fixed reason codes, records writes."""

    def __init__(self, client: MeasuredClient, suback: list[int]) -> None:
        self.client = client
        self.suback = suback
        self.written: list[bytes] = []
        self.is_open = True

    def flush(self) -> None:
        session = self.client.session
        for packet in session.data_to_send(0):
            self.written.append(packet)
            if packet[0] in (0x82, 0xA2):
                kind = 0x90 if packet[0] == 0x82 else 0xB0
                reply = bytes([kind, 2 + 1 + len(self.suback), packet[2], packet[3], 0, *self.suback])
                asyncio.get_running_loop().call_soon(self._deliver, reply)

    def flush_soon(self) -> None:
        self.flush()

    def _deliver(self, data: bytes) -> None:
        for event in self.client.session.receive_data(data):
            self.client.on_request_done(event.kind, event.token, event.reasons)  # type: ignore[union-attr]


def client_with(suback: list[int]) -> tuple[MeasuredClient, Recorded, LoopbackBroker]:
    recorder = Recorded()
    client = MeasuredClient(ClientSession(SessionConfig("m", version=MQTT_5)), recorder, keep_recent=True)
    broker = LoopbackBroker(client, suback)
    client.conn = broker  # type: ignore[assignment]
    return client, recorder, broker


def test_failing_puback_reason_becomes_the_publish_error() -> None:
    client, recorder, _ = client_with([0])
    client.on_publish_done((10, 20, 5), 0x87)
    client.on_publish_done((30, 40, 5), 0x10)  # "no matching subscribers" is a success
    assert [(m[0], m[1], m[2], m[5]) for m in recorder.messages] == [
        ("mqtt.publish", 10, 20, "mqtt reason 0x87"), ("mqtt.publish", 30, 40, None)]


def test_refused_subscription_is_a_recorded_error() -> None:
    async def run() -> tuple[bool, list[tuple[str, str | None]]]:
        client, recorder, _ = client_with([0x87])
        accepted = await client.request(PacketType.SUBSCRIBE, "a/#", 1, 0)
        return accepted, [(m[0], m[5]) for m in recorder.messages]

    assert asyncio.run(run()) == (False, [("mqtt.subscribe", "mqtt reason 0x87")])


def test_subscription_records_its_round_trip() -> None:
    recorder_box: list[Recorded] = []

    async def run() -> bool:
        client, recorder, _ = client_with([1])
        recorder_box.append(recorder)
        return await client.request(PacketType.SUBSCRIBE, "a/#", 1, 0)

    assert asyncio.run(run()) is True
    assert [(m[0], m[5]) for m in recorder_box[0].messages] == [("mqtt.subscribe", None)]


def test_publish_window_and_lost_publishes() -> None:
    client, recorder, broker = client_with([0])
    client.window = 2
    encoder = PublishEncoder("t", qos=1, version=MQTT_5)
    client.publish(encoder, b"a", 1)
    assert client.has_room
    client.publish(encoder, b"b", 2)
    assert not client.has_room
    assert len(broker.written) == 2
    client.on_lost(client.session.connection_lost())
    assert [(m[1], m[5]) for m in recorder.messages] == [(1, "connection lost"), (2, "connection lost")]
    assert client.has_room


def test_unacknowledged_publishes_become_timeouts_when_settled() -> None:
    client, recorder, _ = client_with([0])
    broker: Any = client.conn
    broker.is_open = False
    client.publish(PublishEncoder("t", qos=1, version=MQTT_5), b"a", 7)
    asyncio.run(client.settle(0.0))
    assert [(m[1], m[5]) for m in recorder.messages] == [(7, "timeout")]


def test_expect_finds_a_message_that_arrived_before_it_started() -> None:
    async def run() -> list[tuple[str, str | None]]:
        client, recorder, _ = client_with([0])
        early = Publish("t", orjson.dumps({"kind": "early"}))
        client.on_message(early)
        found = await client.expect(SubsetMatch.of({"kind": "early"}), 0.5)
        missing = await client.expect(SubsetMatch.of({"kind": "early"}), 0.01)  # consumed already
        assert (found, missing) == (True, False)
        return [(m[0], m[5]) for m in recorder.messages]

    assert asyncio.run(run()) == [("mqtt.expect", None), ("mqtt.expect", "timeout")]


def test_expect_is_woken_by_a_matching_message() -> None:
    async def run() -> bool:
        client, _, _ = client_with([0])
        waiter = asyncio.ensure_future(client.expect(SubsetMatch.of(None, "needle"), 2.0))
        await asyncio.sleep(0)
        for event in client.session.receive_data(encode_publish("t", b"hay", version=MQTT_5) +
                                                 encode_publish("t", b"a needle", version=MQTT_5)):
            client.on_message(event)  # type: ignore[arg-type]
        return await waiter

    assert asyncio.run(run()) is True


def test_a_close_is_recorded_only_for_a_connection_that_opened() -> None:
    client, recorder, _ = client_with([0])
    client.on_closed("mqtt reason 0x8c")  # refused at CONNACK: already recorded as a failed connection
    assert recorder.closed == []
