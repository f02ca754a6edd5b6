"""MQTT 3.1.1 and 5 packets as bytes, with no I/O: encoders, and a streaming decoder.

``MqttDecoder.feed(data)`` takes whatever the socket gave and returns the complete packets in it,
keeping a partial packet for the next call. Anything that breaks the specification raises
``MqttProtocolError`` naming what was wrong; the decoder never waits on bytes that cannot come.
Encoders return ``bytes`` so callers can pre-encode what does not change (topics, fixed headers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .fields import (
    BINARY,
    BYTE,
    FOUR_BYTES,
    MAX_REMAINING_LENGTH,
    PROP_KIND,
    REPEATABLE,
    TWO_BYTES,
    U16,
    U32,
    UTF8,
    VARINT,
    MqttProtocolError,
    Prop,
    Properties,
    binary_field,
    encode_properties,
    encode_varint,
    utf8_field,
)

__all__ = [
    "MQTT_5",
    "MQTT_311",
    "PINGREQ",
    "Auth",
    "ConnAck",
    "Disconnect",
    "MqttDecoder",
    "MqttProtocolError",
    "Packet",
    "PacketType",
    "PingResp",
    "Prop",
    "Properties",
    "PubAckLike",
    "Publish",
    "SubAck",
    "UnsubAck",
    "Will",
    "encode_ack",
    "encode_connect",
    "encode_disconnect",
    "encode_properties",
    "encode_publish",
    "encode_subscribe",
    "encode_unsubscribe",
    "encode_varint",
    "publish_prefix",
]

MQTT_311 = 4
"""Protocol level byte of MQTT 3.1.1."""
MQTT_5 = 5


class PacketType(IntEnum):
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


# -- packets a client sends -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Will:
    """The message the broker publishes for a client that vanishes without DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = field(default_factory=dict)


def encode_connect(client_id: str, *, version: int = MQTT_311, clean: bool = True, keepalive: int = 60,
                   username: str | None = None, password: str | None = None, will: Will | None = None,
                   properties: Properties | None = None) -> bytes:
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
    if version == MQTT_311 and password is not None and username is None:
        raise MqttProtocolError("MQTT 3.1.1 does not allow a password without a username")
    body = bytearray(utf8_field("MQTT"))
    body += bytes((version, flags)) + U16.pack(keepalive)
    if version == MQTT_5:
        body += encode_properties(properties)
    body += utf8_field(client_id)
    if will is not None:
        if version == MQTT_5:
            body += encode_properties(will.properties)
        body += utf8_field(will.topic) + binary_field(will.payload)
    if username is not None:
        body += utf8_field(username)
    if password is not None:
        body += binary_field(password.encode())
    return _packet(0x10, bytes(body))


def publish_prefix(topic: str, *, qos: int = 0, retain: bool = False) -> tuple[int, bytes]:
    """The fixed first byte and the topic (+ empty MQTT 5 properties) that every publish to ``topic`` shares.

    A publisher encodes this once; each message then costs a varint and a concatenation.
    """
    if not 0 <= qos <= 2:
        raise MqttProtocolError(f"QoS {qos} is not 0, 1 or 2")
    first = 0x30 | (qos << 1) | (1 if retain else 0)
    return first, utf8_field(topic)


def encode_publish(topic: str, payload: bytes, *, qos: int = 0, retain: bool = False, dup: bool = False,
                   packet_id: int = 0, version: int = MQTT_311, properties: Properties | None = None) -> bytes:
    first, topic_bytes = publish_prefix(topic, qos=qos, retain=retain)
    if dup:
        first |= 0x08
    body = topic_bytes
    if qos:
        if not 1 <= packet_id <= 0xFFFF:
            raise MqttProtocolError(f"a QoS {qos} publish needs a packet id 1..65535, not {packet_id}")
        body += U16.pack(packet_id)
    if version == MQTT_5:
        body += encode_properties(properties)
    return _packet(first, body + payload)


def encode_ack(kind: PacketType, packet_id: int, reason: int = 0, version: int = MQTT_311) -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP; MQTT 5 adds the reason code only when it is not success."""
    first = (kind << 4) | (0x02 if kind == PacketType.PUBREL else 0)
    if version == MQTT_5 and reason:
        return bytes((first, 4)) + U16.pack(packet_id) + bytes((reason, 0))
    return bytes((first, 2)) + U16.pack(packet_id)


def encode_subscribe(packet_id: int, topics: list[tuple[str, int]], *, version: int = MQTT_311,
                     properties: Properties | None = None) -> bytes:
    body = bytearray(U16.pack(packet_id))
    if version == MQTT_5:
        body += encode_properties(properties)
    for topic, qos in topics:
        body += utf8_field(topic) + bytes((qos,))
    return _packet(0x82, bytes(body))


def encode_unsubscribe(packet_id: int, topics: list[str], *, version: int = MQTT_311) -> bytes:
    body = bytearray(U16.pack(packet_id))
    if version == MQTT_5:
        body += b"\x00"
    for topic in topics:
        body += utf8_field(topic)
    return _packet(0xA2, bytes(body))


def encode_disconnect(reason: int = 0, version: int = MQTT_311, properties: Properties | None = None) -> bytes:
    if version == MQTT_5 and (reason or properties):
        return _packet(0xE0, bytes((reason,)) + encode_properties(properties))
    return b"\xe0\x00"


PINGREQ = b"\xc0\x00"


# -- packets a client receives --------------------------------------------------------------------------------
@dataclass(slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int = 0
    properties: Properties | None = None


@dataclass(slots=True)
class ConnAck:
    session_present: bool
    reason: int
    properties: Properties | None = None


@dataclass(slots=True)
class PubAckLike:
    """PUBACK, PUBREC, PUBREL or PUBCOMP: which one is in ``kind``."""

    kind: PacketType
    packet_id: int
    reason: int = 0
    properties: Properties | None = None


@dataclass(slots=True)
class SubAck:
    packet_id: int
    reasons: list[int]
    properties: Properties | None = None


@dataclass(slots=True)
class UnsubAck:
    packet_id: int
    reasons: list[int]
    properties: Properties | None = None


@dataclass(slots=True)
class PingResp:
    """The broker's answer to PINGREQ."""


@dataclass(slots=True)
class Disconnect:
    reason: int = 0
    properties: Properties | None = None


@dataclass(slots=True)
class Auth:
    reason: int = 0
    properties: Properties | None = None


Packet = Publish | ConnAck | PubAckLike | SubAck | UnsubAck | PingResp | Disconnect | Auth

# Flags the fixed header's low nibble must carry for each packet type (PUBLISH varies).
_REQUIRED_FLAGS = {t: 0 for t in PacketType} | {PacketType.PUBREL: 2, PacketType.SUBSCRIBE: 2,
                                                 PacketType.UNSUBSCRIBE: 2}
_ACK_KINDS = (PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP)
_PLAIN_ACKS = {(kind << 4) | _REQUIRED_FLAGS[kind]: kind for kind in _ACK_KINDS}
"""First byte (type and its required flags) -> kind, for the two-byte acks on the QoS 1/2 hot path."""


class _Reader:
    """Reads fields of one packet body; running past its end is a protocol error, never a wait."""

    __slots__ = ("data", "end", "name", "pos")

    def __init__(self, data: memoryview, pos: int, end: int, name: str) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.name = name

    def need(self, count: int, what: str) -> None:
        if self.pos + count > self.end:
            raise MqttProtocolError(f"{self.name} is truncated: {what} needs {count} bytes, "
                                    f"{self.end - self.pos} left in the packet")

    def byte(self, what: str) -> int:
        self.need(1, what)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u16(self, what: str) -> int:
        self.need(2, what)
        value: int = U16.unpack_from(self.data, self.pos)[0]
        self.pos += 2
        return value

    def u32(self, what: str) -> int:
        self.need(4, what)
        value: int = U32.unpack_from(self.data, self.pos)[0]
        self.pos += 4
        return value

    def varint(self, what: str) -> int:
        value = 0
        for shift in (0, 7, 14, 21):
            digit = self.byte(what)
            value |= (digit & 0x7F) << shift
            if not digit & 0x80:
                return value
        raise MqttProtocolError(f"{self.name}: {what} is a variable byte integer longer than 4 bytes")

    def binary(self, what: str) -> bytes:
        length = self.u16(what + " length")
        self.need(length, what)
        value = bytes(self.data[self.pos:self.pos + length])
        self.pos += length
        return value

    def utf8(self, what: str) -> str:
        raw = self.binary(what)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise MqttProtocolError(f"{self.name}: {what} is not valid UTF-8") from None

    def properties(self) -> Properties:
        length = self.varint("property length")
        if self.pos + length > self.end:
            raise MqttProtocolError(f"{self.name}: property length {length} runs past the packet "
                                    f"({self.end - self.pos} bytes left)")
        outer_end, self.end = self.end, self.pos + length
        props: Properties = {}
        try:
            while self.pos < self.end:
                ident = self.byte("property id")
                kind = PROP_KIND.get(ident)
                if kind is None:
                    raise MqttProtocolError(f"{self.name}: unknown property id 0x{ident:02x}")
                what = f"property 0x{ident:02x}"
                value: Any
                if kind == BYTE:
                    value = self.byte(what)
                elif kind == TWO_BYTES:
                    value = self.u16(what)
                elif kind == FOUR_BYTES:
                    value = self.u32(what)
                elif kind == VARINT:
                    value = self.varint(what)
                elif kind == UTF8:
                    value = self.utf8(what)
                elif kind == BINARY:
                    value = self.binary(what)
                else:
                    value = (self.utf8(what + " name"), self.utf8(what + " value"))
                if ident in REPEATABLE:
                    props.setdefault(ident, []).append(value)
                elif ident in props:
                    raise MqttProtocolError(f"{self.name}: property 0x{ident:02x} appears twice")
                else:
                    props[ident] = value
        finally:
            self.end = outer_end
        return props

    def rest(self) -> bytes:
        value = bytes(self.data[self.pos:self.end])
        self.pos = self.end
        return value


class MqttDecoder:
    """Bytes in, packets out. One per connection; ``version`` decides whether bodies carry properties."""

    __slots__ = ("_buffer", "error", "max_packet_size", "version")

    def __init__(self, version: int = MQTT_311, max_packet_size: int = MAX_REMAINING_LENGTH) -> None:
        self.version = version
        self.max_packet_size = max_packet_size
        self._buffer = bytearray()
        self.error: MqttProtocolError | None = None
        """Set when bytes after some good packets broke the rules: those packets came back, this is raised next."""

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet held for the next ``feed``."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        """The complete packets in the bytes so far; raises ``MqttProtocolError`` for malformed input.

        When good packets come before the malformed bytes, they are returned and ``error`` is set
        (a later ``feed`` raises it), so the caller can act on them before closing the connection.
        """
        if self.error is not None:
            raise self.error
        if self._buffer:
            self._buffer += data
            buffer: bytes | bytearray = self._buffer
        else:
            buffer = data
        packets: list[Packet] = []
        view = memoryview(buffer)
        size = len(buffer)
        pos = 0
        try:
            while pos < size:
                first = buffer[pos]
                # remaining length: up to four varint bytes after the first byte
                length = 0
                shift = 0
                index = pos + 1
                while True:
                    if index >= size:
                        length = -1
                        break
                    digit = buffer[index]
                    index += 1
                    length |= (digit & 0x7F) << shift
                    if not digit & 0x80:
                        break
                    shift += 7
                    if shift > 21:
                        raise MqttProtocolError("malformed remaining length: more than 4 bytes")
                if length < 0:
                    break
                if length > self.max_packet_size:
                    raise MqttProtocolError(f"packet of {length} bytes exceeds the maximum {self.max_packet_size}")
                end = index + length
                if end > size:
                    break
                packets.append(self._decode(first, view, index, end))
                pos = end
        except MqttProtocolError as error:
            if not packets:
                raise
            self.error = error
            return packets
        finally:
            view.release()
        if pos == size:
            self._buffer = bytearray()
        elif buffer is self._buffer:
            del self._buffer[:pos]
        else:
            self._buffer = bytearray(buffer[pos:])
        return packets

    def _decode(self, first: int, view: memoryview, start: int, end: int) -> Packet:
        kind = first >> 4
        flags = first & 0x0F
        if kind == 3:
            return self._publish(flags, view, start, end)
        if end - start == 2 and first in _PLAIN_ACKS:  # the common success ack: just a packet id
            return PubAckLike(_PLAIN_ACKS[first], (view[start] << 8) | view[start + 1])
        if kind == 0:
            raise MqttProtocolError("packet type 0 is reserved")
        packet_type = PacketType(kind)
        if flags != _REQUIRED_FLAGS[packet_type]:
            raise MqttProtocolError(f"{packet_type.name} has fixed-header flags 0x{flags:x}; "
                                    f"the specification requires 0x{_REQUIRED_FLAGS[packet_type]:x}")
        reader = _Reader(view, start, end, packet_type.name)
        v5 = self.version == MQTT_5
        packet: Packet
        if packet_type in _ACK_KINDS:
            packet_id = reader.u16("packet id")
            reason = reader.byte("reason code") if v5 and reader.pos < end else 0
            props = reader.properties() if v5 and reader.pos < end else None
            packet = PubAckLike(packet_type, packet_id, reason, props)
        elif packet_type == PacketType.CONNACK:
            ack_flags = reader.byte("acknowledge flags")
            if ack_flags & 0xFE:
                raise MqttProtocolError(f"CONNACK acknowledge flags 0x{ack_flags:02x} set reserved bits")
            reason = reader.byte("return code")
            packet = ConnAck(bool(ack_flags & 1), reason, reader.properties() if v5 and reader.pos < end else None)
        elif packet_type in (PacketType.SUBACK, PacketType.UNSUBACK):
            packet_id = reader.u16("packet id")
            props = reader.properties() if v5 else None
            reasons = list(reader.rest())
            if packet_type == PacketType.SUBACK:
                if not reasons:
                    raise MqttProtocolError("SUBACK carries no return codes")
                packet = SubAck(packet_id, reasons, props)
            else:
                packet = UnsubAck(packet_id, reasons, props)
        elif packet_type == PacketType.PINGRESP:
            packet = PingResp()
        elif packet_type == PacketType.DISCONNECT:
            reason = reader.byte("reason code") if v5 and reader.pos < end else 0
            packet = Disconnect(reason, reader.properties() if v5 and reader.pos < end else None)
        elif packet_type == PacketType.AUTH and v5:
            reason = reader.byte("reason code") if reader.pos < end else 0
            packet = Auth(reason, reader.properties() if reader.pos < end else None)
        else:
            raise MqttProtocolError(f"a client does not expect {packet_type.name} from the server")
        if reader.pos != end:
            raise MqttProtocolError(f"{packet_type.name} has {end - reader.pos} unexpected bytes at its end")
        return packet

    def _publish(self, flags: int, view: memoryview, start: int, end: int) -> Publish:
        qos = (flags >> 1) & 3
        if qos == 3:
            raise MqttProtocolError("PUBLISH with QoS 3 (both QoS bits set) is malformed")
        if qos == 0 and flags & 0x08:
            raise MqttProtocolError("PUBLISH at QoS 0 must not set the DUP flag")
        if end - start < 2:
            raise MqttProtocolError("PUBLISH is truncated: no room for the topic length")
        topic_len = (view[start] << 8) | view[start + 1]
        pos = start + 2 + topic_len
        if pos > end:
            raise MqttProtocolError(f"PUBLISH is truncated: topic of {topic_len} bytes runs past the packet")
        try:
            topic = str(view[start + 2:pos], "utf-8")
        except UnicodeDecodeError:
            raise MqttProtocolError("PUBLISH topic is not valid UTF-8") from None
        packet_id = 0
        if qos:
            if pos + 2 > end:
                raise MqttProtocolError("PUBLISH is truncated: no room for the packet id")
            packet_id = (view[pos] << 8) | view[pos + 1]
            if packet_id == 0:
                raise MqttProtocolError("PUBLISH at QoS > 0 has packet id 0")
            pos += 2
        props = None
        if self.version == MQTT_5:
            reader = _Reader(view, pos, end, "PUBLISH")
            props = reader.properties()
            pos = reader.pos
        return Publish(topic, bytes(view[pos:end]), qos, bool(flags & 1), bool(flags & 8), packet_id, props)
