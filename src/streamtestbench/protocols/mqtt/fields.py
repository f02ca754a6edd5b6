"""MQTT's field encodings: variable byte integers, length-prefixed strings and binary, MQTT 5 properties.

The building blocks the packet codec shares; nothing here knows about packets.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any

__all__ = [
    "BINARY",
    "BYTE",
    "FOUR_BYTES",
    "MAX_REMAINING_LENGTH",
    "PAIR",
    "PROP_KIND",
    "REPEATABLE",
    "TWO_BYTES",
    "U16",
    "U32",
    "UTF8",
    "VARINT",
    "MqttProtocolError",
    "Prop",
    "Properties",
    "binary_field",
    "encode_properties",
    "encode_varint",
    "utf8_field",
]

MAX_REMAINING_LENGTH = 268_435_455
"""The largest value four varint bytes hold."""


class MqttProtocolError(ValueError):
    """Bytes that break the MQTT specification; the message says which rule."""


class Prop(IntEnum):
    """MQTT 5 property identifiers."""

    PAYLOAD_FORMAT_INDICATOR = 0x01
    MESSAGE_EXPIRY_INTERVAL = 0x02
    CONTENT_TYPE = 0x03
    RESPONSE_TOPIC = 0x08
    CORRELATION_DATA = 0x09
    SUBSCRIPTION_IDENTIFIER = 0x0B
    SESSION_EXPIRY_INTERVAL = 0x11
    ASSIGNED_CLIENT_IDENTIFIER = 0x12
    SERVER_KEEP_ALIVE = 0x13
    AUTHENTICATION_METHOD = 0x15
    AUTHENTICATION_DATA = 0x16
    REQUEST_PROBLEM_INFORMATION = 0x17
    WILL_DELAY_INTERVAL = 0x18
    REQUEST_RESPONSE_INFORMATION = 0x19
    RESPONSE_INFORMATION = 0x1A
    SERVER_REFERENCE = 0x1C
    REASON_STRING = 0x1F
    RECEIVE_MAXIMUM = 0x21
    TOPIC_ALIAS_MAXIMUM = 0x22
    TOPIC_ALIAS = 0x23
    MAXIMUM_QOS = 0x24
    RETAIN_AVAILABLE = 0x25
    USER_PROPERTY = 0x26
    MAXIMUM_PACKET_SIZE = 0x27
    WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
    SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
    SHARED_SUBSCRIPTION_AVAILABLE = 0x2A


# How each property's value is written: byte, two-byte int, four-byte int, varint, UTF-8, binary, string pair.
BYTE, TWO_BYTES, FOUR_BYTES, VARINT, UTF8, BINARY, PAIR = range(7)
PROP_KIND: dict[int, int] = {
    Prop.PAYLOAD_FORMAT_INDICATOR: BYTE, Prop.MESSAGE_EXPIRY_INTERVAL: FOUR_BYTES, Prop.CONTENT_TYPE: UTF8,
    Prop.RESPONSE_TOPIC: UTF8, Prop.CORRELATION_DATA: BINARY, Prop.SUBSCRIPTION_IDENTIFIER: VARINT,
    Prop.SESSION_EXPIRY_INTERVAL: FOUR_BYTES, Prop.ASSIGNED_CLIENT_IDENTIFIER: UTF8, Prop.SERVER_KEEP_ALIVE: TWO_BYTES,
    Prop.AUTHENTICATION_METHOD: UTF8, Prop.AUTHENTICATION_DATA: BINARY, Prop.REQUEST_PROBLEM_INFORMATION: BYTE,
    Prop.WILL_DELAY_INTERVAL: FOUR_BYTES, Prop.REQUEST_RESPONSE_INFORMATION: BYTE, Prop.RESPONSE_INFORMATION: UTF8,
    Prop.SERVER_REFERENCE: UTF8, Prop.REASON_STRING: UTF8, Prop.RECEIVE_MAXIMUM: TWO_BYTES,
    Prop.TOPIC_ALIAS_MAXIMUM: TWO_BYTES, Prop.TOPIC_ALIAS: TWO_BYTES, Prop.MAXIMUM_QOS: BYTE,
    Prop.RETAIN_AVAILABLE: BYTE,
    Prop.USER_PROPERTY: PAIR, Prop.MAXIMUM_PACKET_SIZE: FOUR_BYTES, Prop.WILDCARD_SUBSCRIPTION_AVAILABLE: BYTE,
    Prop.SUBSCRIPTION_IDENTIFIER_AVAILABLE: BYTE, Prop.SHARED_SUBSCRIPTION_AVAILABLE: BYTE,
}
REPEATABLE = frozenset({Prop.USER_PROPERTY, Prop.SUBSCRIPTION_IDENTIFIER})

Properties = dict[int, Any]
"""Property id -> value; user properties are a list of (name, value), subscription identifiers a list of ints."""

U16 = struct.Struct("!H")
U32 = struct.Struct("!I")


# -- primitives -----------------------------------------------------------------------------------------------
def encode_varint(value: int) -> bytes:
    """The variable byte integer of the remaining length and of MQTT 5 property lengths."""
    if value < 128:
        return bytes((value,))
    if not 0 <= value <= MAX_REMAINING_LENGTH:
        raise MqttProtocolError(f"variable byte integer {value} is out of range 0..{MAX_REMAINING_LENGTH}")
    out = bytearray()
    while True:
        digit = value & 0x7F
        value >>= 7
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def utf8_field(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 0xFFFF:
        raise MqttProtocolError(f"a string of {len(raw)} bytes exceeds MQTT's 65535-byte limit")
    return U16.pack(len(raw)) + raw


def binary_field(raw: bytes) -> bytes:
    if len(raw) > 0xFFFF:
        raise MqttProtocolError(f"binary data of {len(raw)} bytes exceeds MQTT's 65535-byte limit")
    return U16.pack(len(raw)) + raw


def encode_properties(props: Properties | None) -> bytes:
    """Property length (varint) followed by the properties; an empty set is the single byte 0."""
    if not props:
        return b"\x00"
    out = bytearray()
    for ident, value in props.items():
        kind = PROP_KIND.get(ident)
        if kind is None:
            raise MqttProtocolError(f"unknown MQTT 5 property 0x{ident:02x}")
        values = value if ident in REPEATABLE else [value]
        for item in values:
            out.append(ident)
            if kind == BYTE:
                out.append(int(item))
            elif kind == TWO_BYTES:
                out += U16.pack(int(item))
            elif kind == FOUR_BYTES:
                out += U32.pack(int(item))
            elif kind == VARINT:
                out += encode_varint(int(item))
            elif kind == UTF8:
                out += utf8_field(str(item))
            elif kind == BINARY:
                out += binary_field(bytes(item))
            else:
                name, text = item
                out += utf8_field(str(name)) + utf8_field(str(text))
    return encode_varint(len(out)) + bytes(out)
