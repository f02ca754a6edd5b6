"""An MQTT client's state with no I/O: packet ids, QoS 1/2 handshakes, receive-side QoS, keepalive.

Bytes go in through ``receive_data`` and come back as events; everything to write piles up in
``outbox`` until the adapter takes it with ``data_to_send`` (one write per batch). Timers are the
adapter's job: it asks ``on_timer(now_ns)`` when to call again. The session outlives one TCP
connection, so a persistent session resends what was in flight when the broker says it kept it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from .codec import (
    MQTT_5,
    MQTT_311,
    PINGREQ,
    ConnAck,
    Disconnect,
    MqttDecoder,
    MqttProtocolError,
    PacketType,
    PingResp,
    Prop,
    Properties,
    PubAckLike,
    Publish,
    SubAck,
    UnsubAck,
    Will,
    encode_ack,
    encode_connect,
    encode_disconnect,
    encode_subscribe,
    encode_unsubscribe,
    encode_varint,
    publish_prefix,
)

__all__ = [
    "DEFAULT_MAX_PACKET_SIZE",
    "DEFAULT_SESSION_EXPIRY_S",
    "ClientSession",
    "Connected",
    "Message",
    "PublishDone",
    "PublishEncoder",
    "Requested",
    "ServerDisconnected",
    "SessionConfig",
    "connack_error",
    "reason_error",
]

DEFAULT_SESSION_EXPIRY_S = 3600
"""MQTT 5 ends a session when the connection closes unless an expiry is given; persistent sessions ask for this."""

DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024
"""Bounds what one connection buffers for a packet still arriving (the protocol allows 256 MiB)."""

_PUBACK, _PUBREC, _PUBREL, _PUBCOMP = PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP
_U16 = struct.Struct("!H").pack
_AWAIT_ACK, _AWAIT_REC, _AWAIT_COMP = 1, 2, 3


def reason_error(reason: int) -> str | None:
    """The error kind for a failing MQTT 5 reason code (>= 0x80; 0x80 is also 3.1.1's SUBACK failure)."""
    if reason >= 0x80:
        return f"mqtt reason 0x{reason:02x}"
    return None


def connack_error(reason: int, version: int) -> str | None:
    """The error kind for a refused connection: MQTT 5 reason codes, or MQTT 3.1.1 return codes 1-5."""
    if version == MQTT_5:
        return reason_error(reason)
    return f"mqtt connack refused 0x{reason:02x}" if reason else None


@dataclass(frozen=True)
class SessionConfig:
    client_id: str
    version: int = MQTT_311
    clean: bool = True
    keepalive_s: int = 60
    username: str | None = None
    password: str | None = None
    will: Will | None = None
    session_expiry_s: int | None = None
    """MQTT 5 only; None means 0 for a clean session and ``DEFAULT_SESSION_EXPIRY_S`` for a persistent one."""
    receive_maximum: int | None = None
    """MQTT 5 only: how many QoS 1/2 messages the broker may have in flight to us."""
    properties: Properties | None = None
    """MQTT 5 only: further CONNECT properties (user properties, authentication method...)."""
    max_packet_size: int = DEFAULT_MAX_PACKET_SIZE
    """Larger incoming packets are a protocol error; MQTT 5 also tells the broker not to send them."""


# -- events ---------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Connected:
    session_present: bool
    reason: int
    properties: Properties | None


@dataclass(slots=True)
class PublishDone:
    """A QoS 1 publish got its PUBACK, or a QoS 2 one its PUBCOMP (or a failing PUBREC)."""

    token: Any
    reason: int


@dataclass(slots=True)
class Requested:
    """A SUBACK or UNSUBACK for the request made with ``token``."""

    kind: PacketType
    token: Any
    reasons: list[int]


@dataclass(slots=True)
class ServerDisconnected:
    reason: int


Message = Publish
"""An application message delivered to us: the decoded PUBLISH itself."""
Event = Connected | PublishDone | Requested | ServerDisconnected | Publish


class PublishEncoder:
    """Encodes publishes to one topic: the first byte and topic are built once, per message only the length."""

    __slots__ = ("_heads", "first", "fixed", "qos", "tail", "topic")

    def __init__(self, topic: str, qos: int = 0, retain: bool = False, version: int = MQTT_311) -> None:
        self.first, self.topic = publish_prefix(topic, qos=qos, retain=retain)
        self.qos = qos
        self.tail = b"\x00" if version == MQTT_5 else b""
        self.fixed = self.topic + self.tail
        """What follows the fixed header of a QoS 0 publish, before its payload."""
        self._heads: dict[int, bytes] = {}

    def head(self, payload_size: int) -> bytes:
        """The fixed header (first byte + remaining length) of a QoS 0 publish of ``payload_size`` bytes."""
        found = self._heads.get(payload_size)
        if found is None:
            if len(self._heads) > 4096:
                self._heads.clear()
            found = self._heads[payload_size] = bytes((self.first,)) + encode_varint(len(self.fixed) + payload_size)
        return found

    def encode(self, payload: bytes, packet_id: int = 0) -> bytes:
        topic = self.topic
        size = len(topic) + len(self.tail) + len(payload) + (2 if self.qos else 0)
        if size < 128:
            head = bytes((self.first, size))
        elif size < 16384:
            head = bytes((self.first, (size & 0x7F) | 0x80, size >> 7))
        else:
            head = bytes((self.first,)) + encode_varint(size)
        if self.qos:
            return head + topic + _U16(packet_id) + self.tail + payload
        return head + topic + self.tail + payload


class ClientSession:
    """One MQTT client identity; survives reconnects so a persistent session can resume."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.version = config.version
        self.outbox: list[bytes] = []
        self.decoder = MqttDecoder(config.version, config.max_packet_size)
        self.connected = False
        self.server_receive_maximum = 65535
        self.assigned_client_id: str | None = None
        # packet id -> [state, stored bytes to resend, token]
        self._in_flight: dict[int, list[Any]] = {}
        self._requests: dict[int, Any] = {}
        self._incoming_qos2: set[int] = set()
        self._next_id = 0
        self._last_sent_ns = 0
        self._ping_sent_ns = 0
        self._keepalive_ns = config.keepalive_s * 1_000_000_000

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def connect(self, now_ns: int) -> None:
        """Start a (re)connection: a fresh decoder and a CONNECT waiting in the outbox."""
        config = self.config
        self.decoder = MqttDecoder(config.version, config.max_packet_size)
        self.outbox = []
        self.connected = False
        self._ping_sent_ns = 0
        self._last_sent_ns = now_ns
        props: Properties = dict(config.properties or {})
        if config.version == MQTT_5:
            expiry = config.session_expiry_s
            if expiry is None:
                expiry = 0 if config.clean else DEFAULT_SESSION_EXPIRY_S
            if expiry:
                props[Prop.SESSION_EXPIRY_INTERVAL] = expiry
            if config.receive_maximum is not None:
                props[Prop.RECEIVE_MAXIMUM] = config.receive_maximum
            props.setdefault(Prop.MAXIMUM_PACKET_SIZE, config.max_packet_size)
        self.outbox.append(encode_connect(
            config.client_id, version=config.version, clean=config.clean, keepalive=config.keepalive_s,
            username=config.username, password=config.password, will=config.will, properties=props))

    def disconnect(self) -> None:
        """Queue a clean DISCONNECT (the broker then discards the will)."""
        self.outbox.append(encode_disconnect(version=self.version))
        self.connected = False

    def connection_lost(self) -> list[Any]:
        """The TCP connection ended: tokens of requests and (for a clean session) publishes that are now lost."""
        self.connected = False
        lost = list(self._requests.values())
        self._requests.clear()
        if self.config.clean:
            lost.extend(entry[2] for entry in self._in_flight.values())
            self._in_flight.clear()
            self._incoming_qos2.clear()
        return lost

    def abandon_in_flight(self) -> list[Any]:
        """Stop waiting for every unfinished publish (a run ending); their tokens come back."""
        tokens = [entry[2] for entry in self._in_flight.values()]
        self._in_flight.clear()
        return tokens

    def data_to_send(self, now_ns: int) -> list[bytes]:
        out = self.outbox
        if out:
            self.outbox = []
            self._last_sent_ns = now_ns
        return out

    # -- requests ----------------------------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        """Outgoing QoS 1/2 publishes not yet completed."""
        return len(self._in_flight)

    def _allocate_id(self) -> int:
        if len(self._in_flight) + len(self._requests) >= 65535:
            raise MqttProtocolError("all 65535 packet ids are in use")
        packet_id = self._next_id
        while True:
            packet_id = packet_id + 1 if packet_id < 65535 else 1
            if packet_id not in self._in_flight and packet_id not in self._requests:
                self._next_id = packet_id
                return packet_id

    def publish(self, encoder: PublishEncoder, payload: bytes, token: Any = None) -> int:
        """Queue one publish; QoS 1/2 ones are tracked until acknowledged and ``token`` comes back then."""
        if not encoder.qos:
            self.outbox.append(encoder.encode(payload))
            return 0
        packet_id = self._allocate_id()
        packet = encoder.encode(payload, packet_id)
        self._in_flight[packet_id] = [_AWAIT_ACK if encoder.qos == 1 else _AWAIT_REC, packet, token]
        self.outbox.append(packet)
        return packet_id

    def subscribe(self, topics: list[tuple[str, int]], token: Any = None) -> int:
        packet_id = self._allocate_id()
        self._requests[packet_id] = token
        self.outbox.append(encode_subscribe(packet_id, topics, version=self.version))
        return packet_id

    def unsubscribe(self, topics: list[str], token: Any = None) -> int:
        packet_id = self._allocate_id()
        self._requests[packet_id] = token
        self.outbox.append(encode_unsubscribe(packet_id, topics, version=self.version))
        return packet_id

    # -- keepalive ---------------------------------------------------------------------------------------------
    def on_timer(self, now_ns: int) -> int | None:
        """Queue a PINGREQ when one is due; returns ns until the next check, None when keepalive is off.

        Raises ``TimeoutError`` when a PINGRESP is overdue (the broker or the path is gone).
        """
        interval = self._keepalive_ns
        if not interval:
            return None
        if self._ping_sent_ns and now_ns - self._ping_sent_ns >= interval:
            raise TimeoutError("keepalive timeout: no PINGRESP")
        due = self._last_sent_ns + interval
        if now_ns >= due and not self._ping_sent_ns:
            self.outbox.append(PINGREQ)
            self._ping_sent_ns = now_ns
            return interval
        return max(due - now_ns, interval // 4) if not self._ping_sent_ns else interval

    # -- receiving ---------------------------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        append = events.append
        outbox = self.outbox
        in_flight = self._in_flight
        for packet in self.decoder.feed(data):
            kind = type(packet)
            if kind is Publish:
                assert isinstance(packet, Publish)
                qos = packet.qos
                if qos == 0:
                    append(packet)
                elif qos == 1:
                    outbox.append(b"\x40\x02" + _U16(packet.packet_id))
                    append(packet)
                else:
                    outbox.append(b"\x50\x02" + _U16(packet.packet_id))
                    if packet.packet_id not in self._incoming_qos2:
                        self._incoming_qos2.add(packet.packet_id)
                        append(packet)
            elif kind is PubAckLike:
                assert isinstance(packet, PubAckLike)
                self._ack(packet, in_flight, events)
            elif kind is ConnAck:
                assert isinstance(packet, ConnAck)
                append(self._connack(packet))
            elif kind is SubAck or kind is UnsubAck:
                assert isinstance(packet, SubAck | UnsubAck)
                token = self._requests.pop(packet.packet_id, None)
                append(Requested(PacketType.SUBACK if kind is SubAck else PacketType.UNSUBACK, token,
                                 packet.reasons))
            elif kind is PingResp:
                self._ping_sent_ns = 0
            elif kind is Disconnect:
                assert isinstance(packet, Disconnect)
                self.connected = False
                append(ServerDisconnected(packet.reason))
        return events

    def _ack(self, packet: PubAckLike, in_flight: dict[int, list[Any]], events: list[Event]) -> None:
        kind = packet.kind
        packet_id = packet.packet_id
        if kind is _PUBREL:
            self._incoming_qos2.discard(packet_id)
            self.outbox.append(encode_ack(_PUBCOMP, packet_id))
            return
        entry = in_flight.get(packet_id)
        if entry is None:
            return  # an ack for a publish a clean reconnect already gave up on
        if (kind is _PUBACK and entry[0] == _AWAIT_ACK) or (kind is _PUBCOMP and entry[0] == _AWAIT_COMP):
            del in_flight[packet_id]
            events.append(PublishDone(entry[2], packet.reason))
        elif kind is _PUBREC and entry[0] == _AWAIT_REC:
            if packet.reason >= 0x80:
                del in_flight[packet_id]
                events.append(PublishDone(entry[2], packet.reason))
                return
            entry[0] = _AWAIT_COMP
            entry[1] = encode_ack(_PUBREL, packet_id)
            self.outbox.append(entry[1])
        elif kind is _PUBREC and entry[0] == _AWAIT_COMP:
            self.outbox.append(entry[1])  # our PUBREL was lost with a connection: send it again
        else:
            raise MqttProtocolError(f"{kind.name} for packet id {packet_id} does not fit its QoS handshake")

    def _connack(self, packet: ConnAck) -> Connected:
        if packet.reason == 0:
            self.connected = True
            props = packet.properties or {}
            self.server_receive_maximum = int(props.get(Prop.RECEIVE_MAXIMUM, 65535))
            assigned = props.get(Prop.ASSIGNED_CLIENT_IDENTIFIER)
            self.assigned_client_id = str(assigned) if assigned is not None else None
            server_keepalive = props.get(Prop.SERVER_KEEP_ALIVE)
            if server_keepalive is not None:
                self._keepalive_ns = int(server_keepalive) * 1_000_000_000
            self._resend_in_flight(packet.session_present)
        return Connected(packet.session_present, packet.reason, packet.properties)

    def _resend_in_flight(self, session_present: bool) -> None:
        """Unfinished publishes go again: with DUP set when the broker kept our session, as new ones when not."""
        if not session_present:
            self._incoming_qos2.clear()
        for state, packet, _token in self._in_flight.values():
            dup = session_present and state != _AWAIT_COMP
            self.outbox.append(bytes((packet[0] | 0x08,)) + packet[1:] if dup else packet)
