"""The MQTT codec against hand-written 3.1.1 and 5 bytes, including malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.protocols.mqtt.codec import (
    MQTT_5,
    MQTT_311,
    ConnAck,
    Disconnect,
    MqttDecoder,
    MqttProtocolError,
    PacketType,
    PingResp,
    Prop,
    PubAckLike,
    Publish,
    SubAck,
    UnsubAck,
    Will,
    encode_ack,
    encode_connect,
    encode_disconnect,
    encode_publish,
    encode_subscribe,
    encode_unsubscribe,
)


def decode(data: bytes, version: int = MQTT_5) -> list[object]:
    return list(MqttDecoder(version).feed(data))


# -- encoding ---------------------------------------------------------------------------------------------------
def test_mqtt5_connect_with_properties_will_and_credentials() -> None:
    packet = encode_connect(
        "c1", version=MQTT_5, clean=True, keepalive=30, username="u", password="p",
        properties={Prop.SESSION_EXPIRY_INTERVAL: 10},
        will=Will("w", b"x", qos=1, retain=True, properties={Prop.WILL_DELAY_INTERVAL: 5}))
    assert packet == bytes([
        0x10, 38,
        0x00, 0x04, *b"MQTT", 0x05, 0xEE, 0x00, 0x1E,
        0x05, 0x11, 0x00, 0x00, 0x00, 0x0A,          # properties: session expiry 10
        0x00, 0x02, *b"c1",
        0x05, 0x18, 0x00, 0x00, 0x00, 0x05,          # will properties: will delay 5
        0x00, 0x01, *b"w", 0x00, 0x01, *b"x",
        0x00, 0x01, *b"u", 0x00, 0x01, *b"p",
    ])


def test_mqtt311_connect_is_the_classic_layout() -> None:
    assert encode_connect("id", keepalive=60, clean=False) == bytes([
        0x10, 14, 0x00, 0x04, *b"MQTT", 0x04, 0x00, 0x00, 0x3C, 0x00, 0x02, *b"id"])


def test_mqtt311_refuses_a_password_without_username() -> None:
    with pytest.raises(MqttProtocolError, match="password without a username"):
        encode_connect("id", password="secret")


def test_publish_subscribe_unsubscribe_and_acks() -> None:
    assert encode_publish("a/b", b"hi", qos=1, packet_id=7, version=MQTT_311) == \
        bytes([0x32, 9, 0x00, 0x03, *b"a/b", 0x00, 0x07, *b"hi"])
    assert encode_publish("a", b"", retain=True, version=MQTT_5) == bytes([0x31, 4, 0x00, 0x01, *b"a", 0x00])
    assert encode_publish("a", b"x", qos=2, dup=True, packet_id=1) == bytes([0x3C, 6, 0, 1, *b"a", 0, 1, *b"x"])
    assert encode_subscribe(3, [("s/#", 1)], version=MQTT_5) == bytes([0x82, 9, 0, 3, 0, 0, 3, *b"s/#", 1])
    assert encode_unsubscribe(4, ["s/+"]) == bytes([0xA2, 7, 0, 4, 0, 3, *b"s/+"])
    assert encode_ack(PacketType.PUBREL, 9) == b"\x62\x02\x00\x09"
    assert encode_ack(PacketType.PUBACK, 9, reason=0x10, version=MQTT_5) == b"\x40\x04\x00\x09\x10\x00"
    assert encode_disconnect() == b"\xe0\x00"
    assert encode_disconnect(0x04, version=MQTT_5) == b"\xe0\x02\x04\x00"


def test_qos1_publish_needs_a_packet_id() -> None:
    with pytest.raises(MqttProtocolError, match="packet id"):
        encode_publish("t", b"", qos=1)


# -- decoding hand-written MQTT 5 bytes ------------------------------------------------------------------------
def test_mqtt5_connack_with_properties() -> None:
    data = bytes([
        0x20, 22, 0x01, 0x00, 19,
        0x21, 0x00, 0x14,                            # receive maximum 20
        0x22, 0x00, 0x0A,                            # topic alias maximum 10
        0x12, 0x00, 0x03, *b"abc",                   # assigned client identifier
        0x26, 0x00, 0x01, *b"k", 0x00, 0x01, *b"v",  # user property
    ])
    assert decode(data) == [ConnAck(True, 0, {Prop.RECEIVE_MAXIMUM: 20, Prop.TOPIC_ALIAS_MAXIMUM: 10,
                                              Prop.ASSIGNED_CLIENT_IDENTIFIER: "abc",
                                              Prop.USER_PROPERTY: [("k", "v")]})]


def test_mqtt5_publish_with_properties() -> None:
    data = bytes([0x32, 15, 0x00, 0x03, *b"a/b", 0x00, 0x07, 0x05, 0x01, 0x01, 0x23, 0x00, 0x05, *b"hi"])
    assert decode(data) == [Publish("a/b", b"hi", 1, False, False, 7,
                                    {Prop.PAYLOAD_FORMAT_INDICATOR: 1, Prop.TOPIC_ALIAS: 5})]


def test_mqtt5_acks_with_and_without_reason_codes() -> None:
    data = b"\x40\x02\x00\x01" + b"\x50\x03\x00\x02\x87" + b"\x70\x04\x00\x03\x92\x00" + \
        bytes([0x40, 9, 0, 4, 0x80, 5, 0x1F, 0, 2, *b"no"])
    assert decode(data) == [PubAckLike(PacketType.PUBACK, 1, 0, None), PubAckLike(PacketType.PUBREC, 2, 0x87, None),
                            PubAckLike(PacketType.PUBCOMP, 3, 0x92, {}),
                            PubAckLike(PacketType.PUBACK, 4, 0x80, {Prop.REASON_STRING: "no"})]


def test_suback_unsuback_pingresp_disconnect() -> None:
    data = bytes([0x90, 5, 0, 1, 0, 0x01, 0x87]) + bytes([0xB0, 4, 0, 2, 0, 0x11]) + b"\xd0\x00" + b"\xe0\x02\x8e\x00"
    assert decode(data) == [SubAck(1, [1, 0x87], {}), UnsubAck(2, [0x11], {}), PingResp(), Disconnect(0x8E, {})]


def test_mqtt311_bodies_have_no_properties() -> None:
    data = b"\x20\x02\x00\x05" + b"\x90\x03\x00\x01\x80" + b"\x30\x05\x00\x01tab"
    assert decode(data, MQTT_311) == [ConnAck(False, 5, None), SubAck(1, [0x80], None), Publish("t", b"ab")]


def test_packets_split_anywhere_come_out_whole() -> None:
    data = encode_publish("x/y", b"payload" * 30, qos=1, packet_id=5) + b"\x40\x02\x00\x05" + b"\xd0\x00"
    decoder = MqttDecoder(MQTT_311)
    packets: list[object] = []
    for index in range(len(data)):
        packets += decoder.feed(data[index:index + 1])
        if index < len(data) - 1:
            assert decoder.pending or packets
    assert packets == [Publish("x/y", b"payload" * 30, 1, False, False, 5),
                       PubAckLike(PacketType.PUBACK, 5), PingResp()]
    assert decoder.pending == 0


@given(topic=st.text(min_size=1, max_size=40).filter(lambda t: len(t.encode()) < 200),
       payload=st.binary(max_size=20_000), qos=st.integers(0, 2), retain=st.booleans(),
       version=st.sampled_from([MQTT_311, MQTT_5]), cut=st.integers(0, 30_000))
def test_publish_round_trips_whatever_the_split(topic: str, payload: bytes, qos: int, retain: bool, version: int,
                                                cut: int) -> None:
    data = encode_publish(topic, payload, qos=qos, retain=retain, packet_id=qos and 42, version=version)
    decoder = MqttDecoder(version)
    cut = min(cut, len(data))
    packets = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
    assert packets == [Publish(topic, payload, qos, retain, False, qos and 42, {} if version == MQTT_5 else None)]


# -- malformed input: an error naming the rule, never a wait ---------------------------------------------------
@pytest.mark.parametrize(("data", "message"), [
    (b"\x30\xff\xff\xff\xff\x01", "malformed remaining length"),
    (b"\x30\x03\x00\x05a", "truncated: topic of 5 bytes"),
    (b"\x32\x03\x00\x01a", "truncated: no room for the packet id"),
    (b"\x40\x01\x00", "PUBACK is truncated"),
    (b"\x60\x02\x00\x01", "PUBREL has fixed-header flags 0x0"),
    (b"\x91\x03\x00\x01\x00", "SUBACK has fixed-header flags 0x1"),
    (b"\x36\x03\x00\x01a", "QoS 3"),
    (b"\x38\x03\x00\x01a", "must not set the DUP flag"),
    (b"\x00\x00", "packet type 0 is reserved"),
    (b"\x40\x04\x00\x01\x00\x09", "property length 9 runs past the packet"),
    (b"\x20\x07\x00\x00\x04\x21\x00\x14\x21", "CONNACK is truncated: property 0x21 needs 2 bytes"),
    (b"\x20\x05\x00\x00\x02\x7f\x00", "unknown property id 0x7f"),
    (b"\x20\x09\x00\x00\x06\x21\x00\x01\x21\x00\x02", "appears twice"),
    (b"\x20\x03\x02\x00\x00", "reserved bits"),
    (b"\x30\x04\x00\x02\xc3\x28", "not valid UTF-8"),
    (b"\x10\x00", "does not expect CONNECT"),
    (b"\x90\x03\x00\x01\x00\x00", "SUBACK carries no return codes"),
    (b"\xd0\x01\x00", "PINGRESP has 1 unexpected bytes"),
])
def test_malformed_mqtt5_input_raises_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(MqttProtocolError, match=message):
        decode(data)


def test_property_overflow_inside_a_property() -> None:
    # a UTF-8 reason string whose length runs past the property block
    with pytest.raises(MqttProtocolError, match="truncated"):
        decode(bytes([0x40, 8, 0, 1, 0x80, 4, 0x1F, 0, 9, *b"a"]))


def test_a_packet_larger_than_allowed_is_refused_before_it_arrives() -> None:
    decoder = MqttDecoder(MQTT_311, max_packet_size=1024)
    with pytest.raises(MqttProtocolError, match="exceeds the maximum 1024"):
        decoder.feed(b"\x30\x80\x10")


def test_good_packets_before_malformed_bytes_come_back_and_the_error_follows() -> None:
    decoder = MqttDecoder(MQTT_311)
    assert decoder.feed(b"\x20\x02\x00\x00" + b"\x36\x03\x00\x01a") == [ConnAck(False, 0, None)]
    assert decoder.error is not None and "QoS 3" in str(decoder.error)
    with pytest.raises(MqttProtocolError, match="QoS 3"):
        decoder.feed(b"\xd0\x00")
