"""The sans-IO client session: packet ids, QoS 1/2 handshakes both ways, persistence, keepalive."""

from __future__ import annotations

import pytest

from streamtestbench.protocols.mqtt.codec import (
    MQTT_5,
    MQTT_311,
    MqttDecoder,
    MqttProtocolError,
    PacketType,
    Prop,
    encode_publish,
)
from streamtestbench.protocols.mqtt.session import (
    ClientSession,
    Connected,
    PublishDone,
    PublishEncoder,
    Requested,
    SessionConfig,
    connack_error,
    reason_error,
)

S = 1_000_000_000


def connected(version: int = MQTT_311, *, clean: bool = True, keepalive_s: int = 60) -> ClientSession:
    session = ClientSession(SessionConfig("c", version=version, clean=clean, keepalive_s=keepalive_s))
    session.connect(0)
    session.data_to_send(0)
    connack = b"\x20\x03\x00\x00\x00" if version == MQTT_5 else b"\x20\x02\x00\x00"
    assert session.receive_data(connack) == [Connected(False, 0, {} if version == MQTT_5 else None)]
    return session


def sent(session: ClientSession) -> bytes:
    return b"".join(session.data_to_send(0))


def test_connect_queues_connect_and_connack_marks_connected() -> None:
    session = ClientSession(SessionConfig("abc", keepalive_s=30))
    session.connect(0)
    assert sent(session) == bytes([0x10, 15, 0, 4, *b"MQTT", 4, 2, 0, 30, 0, 3, *b"abc"])
    assert not session.connected
    session.receive_data(b"\x20\x02\x00\x00")
    assert session.connected


def test_persistent_mqtt5_session_asks_the_broker_to_keep_it() -> None:
    session = ClientSession(SessionConfig("abc", version=MQTT_5, clean=False))
    session.connect(0)
    packet = sent(session)
    # properties: session expiry 3600, maximum packet size 64 MiB
    assert bytes([10, 0x11, 0, 0, 0x0E, 0x10, 0x27, 0x04, 0, 0, 0]) in packet
    assert packet[9] & 0x02 == 0


def test_oversized_incoming_packet_is_refused() -> None:
    session = ClientSession(SessionConfig("c", max_packet_size=100))
    session.connect(0)
    with pytest.raises(MqttProtocolError, match="exceeds the maximum 100"):
        session.receive_data(encode_publish("t", b"x" * 200))


def test_qos0_publish_is_fire_and_forget() -> None:
    session = connected()
    assert session.publish(PublishEncoder("t"), b"x") == 0
    assert sent(session) == b"\x30\x04\x00\x01tx"
    assert session.in_flight == 0


def test_qos1_publish_completes_on_puback() -> None:
    session = connected()
    encoder = PublishEncoder("t", qos=1)
    first = session.publish(encoder, b"a", "token-a")
    second = session.publish(encoder, b"b", "token-b")
    assert (first, second) == (1, 2)
    assert sent(session) == b"\x32\x06\x00\x01t\x00\x01a" + b"\x32\x06\x00\x01t\x00\x02b"
    assert session.in_flight == 2
    assert session.receive_data(b"\x40\x02\x00\x02") == [PublishDone("token-b", 0)]
    assert session.receive_data(b"\x40\x02\x00\x01") == [PublishDone("token-a", 0)]
    assert session.in_flight == 0


def test_qos2_publish_goes_through_pubrec_pubrel_pubcomp() -> None:
    session = connected()
    session.publish(PublishEncoder("t", qos=2), b"a", "tok")
    sent(session)
    assert session.receive_data(b"\x50\x02\x00\x01") == []
    assert sent(session) == b"\x62\x02\x00\x01"
    assert session.receive_data(b"\x70\x02\x00\x01") == [PublishDone("tok", 0)]
    assert session.in_flight == 0


def test_mqtt5_failing_pubrec_ends_the_exchange_with_its_reason() -> None:
    session = connected(MQTT_5)
    session.publish(PublishEncoder("t", qos=2, version=MQTT_5), b"a", "tok")
    sent(session)
    assert session.receive_data(b"\x50\x03\x00\x01\x87") == [PublishDone("tok", 0x87)]
    assert sent(session) == b""


def test_a_pubcomp_before_pubrec_breaks_the_handshake() -> None:
    session = connected()
    session.publish(PublishEncoder("t", qos=2), b"a")
    with pytest.raises(MqttProtocolError, match="PUBCOMP for packet id 1 does not fit"):
        session.receive_data(b"\x70\x02\x00\x01")


def test_acks_for_unknown_ids_are_ignored() -> None:
    session = connected()
    assert session.receive_data(b"\x40\x02\x00\x09") == []


def test_incoming_qos1_is_acknowledged_and_delivered() -> None:
    session = connected()
    events = session.receive_data(encode_publish("t", b"m", qos=1, packet_id=5))
    assert [(e.topic, e.payload, e.qos) for e in events] == [("t", b"m", 1)]  # type: ignore[union-attr]
    assert sent(session) == b"\x40\x02\x00\x05"


def test_incoming_qos2_is_delivered_once_even_when_repeated() -> None:
    session = connected()
    packet = encode_publish("t", b"m", qos=2, packet_id=5)
    assert len(session.receive_data(packet)) == 1
    assert sent(session) == b"\x50\x02\x00\x05"
    assert session.receive_data(encode_publish("t", b"m", qos=2, packet_id=5, dup=True)) == []
    assert sent(session) == b"\x50\x02\x00\x05"
    assert session.receive_data(b"\x62\x02\x00\x05") == []
    assert sent(session) == b"\x70\x02\x00\x05"
    assert len(session.receive_data(packet)) == 1  # the id is free again: a new message


def test_subscribe_and_unsubscribe_return_their_tokens() -> None:
    session = connected()
    sub_id = session.subscribe([("a/#", 1)], "sub")
    unsub_id = session.unsubscribe(["a/#"], "unsub")
    sent(session)
    assert session.receive_data(bytes([0x90, 3, 0, sub_id, 1])) == [Requested(PacketType.SUBACK, "sub", [1])]
    assert session.receive_data(bytes([0xB0, 2, 0, unsub_id])) == [Requested(PacketType.UNSUBACK, "unsub", [])]


def test_packet_ids_wrap_and_skip_those_in_use() -> None:
    session = connected()
    encoder = PublishEncoder("t", qos=1)
    session._next_id = 65534
    ids = [session.publish(encoder, b"", n) for n in range(3)]
    assert ids == [65535, 1, 2]
    session.receive_data(b"\x40\x02\xff\xff")
    session._next_id = 65534
    assert session.publish(encoder, b"") == 65535


def test_clean_session_hands_back_what_a_lost_connection_never_finished() -> None:
    session = connected()
    session.publish(PublishEncoder("t", qos=1), b"a", "pub")
    session.subscribe([("x", 0)], "sub")
    assert sorted(session.connection_lost()) == ["pub", "sub"]
    assert session.in_flight == 0


def test_persistent_session_resends_with_dup_after_reconnect() -> None:
    session = connected(clean=False)
    session.publish(PublishEncoder("t", qos=1), b"a", "one")
    session.publish(PublishEncoder("t", qos=2), b"b", "two")
    sent(session)
    session.receive_data(b"\x50\x02\x00\x02")  # QoS 2 reached PUBREL
    sent(session)
    assert session.connection_lost() == []
    assert session.in_flight == 2
    session.connect(0)
    sent(session)
    session.receive_data(b"\x20\x02\x01\x00")  # session present
    assert sent(session) == b"\x3a\x06\x00\x01t\x00\x01a" + b"\x62\x02\x00\x02"
    assert session.receive_data(b"\x40\x02\x00\x01\x70\x02\x00\x02") == [PublishDone("one", 0), PublishDone("two", 0)]


def test_broker_without_our_session_gets_the_publishes_as_new_ones() -> None:
    session = connected(clean=False)
    session.publish(PublishEncoder("t", qos=1), b"a", "one")
    sent(session)
    session.connection_lost()
    session.connect(0)
    sent(session)
    session.receive_data(b"\x20\x02\x00\x00")
    assert sent(session) == b"\x32\x06\x00\x01t\x00\x01a"


def test_keepalive_pings_when_idle_and_times_out_without_pingresp() -> None:
    session = connected(keepalive_s=10)
    assert session.on_timer(4 * S) == 6 * S
    assert session.on_timer(10 * S) == 10 * S
    assert session.data_to_send(10 * S) == [b"\xc0\x00"]
    session.receive_data(b"\xd0\x00")
    assert session.on_timer(13 * S) == 7 * S
    session.on_timer(20 * S)
    assert session.data_to_send(20 * S) == [b"\xc0\x00"]
    with pytest.raises(TimeoutError, match="keepalive"):
        session.on_timer(30 * S)


def test_keepalive_off_never_pings() -> None:
    assert connected(keepalive_s=0).on_timer(10**15) is None


def test_server_keepalive_and_receive_maximum_from_connack() -> None:
    session = ClientSession(SessionConfig("c", version=MQTT_5, keepalive_s=60))
    session.connect(0)
    session.receive_data(bytes([0x20, 9, 0, 0, 6, 0x13, 0, 5, 0x21, 0, 20]))
    assert session.server_receive_maximum == 20
    assert session.on_timer(0) == 5 * S


def test_error_kinds_for_reason_codes() -> None:
    assert reason_error(0) is None
    assert reason_error(0x87) == "mqtt reason 0x87"
    assert connack_error(0x86, MQTT_5) == "mqtt reason 0x86"
    assert connack_error(5, MQTT_311) == "mqtt connack refused 0x05"
    assert connack_error(0, MQTT_311) is None


def test_encoder_header_cache_matches_full_encoding() -> None:
    for version in (MQTT_311, MQTT_5):
        encoder = PublishEncoder("topic/x", version=version)
        for size in (0, 100, 200, 20_000):
            payload = b"p" * size
            assert encoder.head(size) + encoder.fixed + payload == encoder.encode(payload)
            assert encoder.encode(payload) == encode_publish("topic/x", payload, version=version)
    decoded = MqttDecoder(MQTT_5).feed(PublishEncoder("a", qos=1, version=MQTT_5).encode(b"z", 3))
    assert decoded[0].properties == {} and Prop.TOPIC_ALIAS not in decoded[0].properties  # type: ignore[union-attr]
