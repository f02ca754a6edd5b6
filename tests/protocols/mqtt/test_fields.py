"""MQTT field encodings: variable byte integers and MQTT 5 properties."""

from __future__ import annotations

from typing import Any

import pytest

from streamtestbench.protocols.mqtt.fields import (
    MqttProtocolError,
    Prop,
    binary_field,
    encode_properties,
    encode_varint,
    utf8_field,
)


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"), (16_384, b"\x80\x80\x01"),
    (2_097_151, b"\xff\xff\x7f"), (268_435_455, b"\xff\xff\xff\x7f"),
])
def test_varint_matches_the_specification_table(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded


def test_varint_beyond_four_bytes_is_refused() -> None:
    with pytest.raises(MqttProtocolError, match="out of range"):
        encode_varint(268_435_456)


def test_user_properties_and_subscription_ids_repeat() -> None:
    props: dict[int, Any] = {Prop.USER_PROPERTY: [("k", "v"), ("k", "w")], Prop.SUBSCRIPTION_IDENTIFIER: [200]}
    encoded = encode_properties(props)
    assert encoded == bytes([17, 0x26, 0, 1, *b"k", 0, 1, *b"v", 0x26, 0, 1, *b"k", 0, 1, *b"w", 0x0B, 0xC8, 0x01])


def test_empty_properties_are_one_zero_byte() -> None:
    assert encode_properties(None) == b"\x00"
    assert encode_properties({}) == b"\x00"


def test_unknown_property_is_refused() -> None:
    with pytest.raises(MqttProtocolError, match="unknown MQTT 5 property 0x7f"):
        encode_properties({0x7F: 1})


def test_strings_and_binary_are_length_prefixed_and_bounded() -> None:
    assert utf8_field("é") == b"\x00\x02\xc3\xa9"
    assert binary_field(b"\x00\x01") == b"\x00\x02\x00\x01"
    with pytest.raises(MqttProtocolError, match="65535-byte limit"):
        utf8_field("x" * 65536)
