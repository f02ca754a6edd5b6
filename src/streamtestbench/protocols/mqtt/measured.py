"""An MQTT client that measures: every publish, subscribe and expected message goes to a Recorder.

QoS 1/2 publishes share one in-flight window per client. The window is a counter: an ack runs a
callback (``refill``) that can publish the next message at once, inside the same read, so a
saturated client needs neither a task switch nor a Future per message. A publisher that paces
itself waits on one Future only when the window is full.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from ...engine.recording import Recorder
from ..matching import SubsetMatch
from .client import MqttConnectError, MqttConnection, MqttHandler, open_mqtt
from .codec import PacketType, Publish
from .session import ClientSession, PublishEncoder, reason_error

__all__ = ["PUBLISH_METRIC", "MeasuredClient"]

PUBLISH_METRIC = "mqtt.publish"
RECENT_MESSAGES = 256
"""Messages an ``expect`` may still find after they arrived (a publish can be answered before expect starts)."""


class _Request:
    """A SUBSCRIBE or UNSUBSCRIBE waiting for its SUBACK/UNSUBACK."""

    __slots__ = ("future", "intended_ns", "name", "start_ns")

    def __init__(self, name: str, intended_ns: int, future: asyncio.Future[list[int]]) -> None:
        self.name = name
        self.intended_ns = intended_ns
        self.start_ns = time.monotonic_ns()
        self.future = future


class MeasuredClient(MqttHandler):
    """One virtual user's MQTT client: a ``ClientSession`` (kept across reconnects) and its current connection."""

    def __init__(self, session: ClientSession, recorder: Recorder, *, max_inflight: int = 16,
                 on_delivery: Callable[[str, bytes, int], None] | None = None, keep_recent: bool = False) -> None:
        self.session = session
        self.recorder = recorder
        self.max_inflight = max_inflight
        self.window = max_inflight
        self.conn: MqttConnection | None = None
        self.local_host: str | None = None
        """The loopback source address connections bind to (many connections need more than one)."""
        self.refill: Callable[[], None] | None = None
        """Called after each completed QoS 1/2 publish (a saturating publisher tops the window up here)."""
        self.on_delivery = on_delivery
        self._message = recorder.message
        self._received = recorder.received
        self._room: asyncio.Future[None] | None = None
        self._expects: list[tuple[SubsetMatch, asyncio.Future[None]]] = []
        self._recent: deque[Publish] | None = deque(maxlen=RECENT_MESSAGES) if keep_recent else None
        self._opened_ns = 0
        self._first_seen = False
        self._counted_open = False

    # -- connection --------------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.conn is not None and self.conn.is_open

    async def connect(self, host: str, port: int, timeout_s: float = 10.0, local_host: str | None = None) -> bool:
        """Open a connection (recorded as CONNECT); False when it failed (also recorded)."""
        self.recorder.connection_attempt()
        started = time.monotonic_ns()
        try:
            self.conn, _connected = await open_mqtt(host, port, self.session, self, timeout_s=timeout_s,
                                                    local_host=local_host)
        except MqttConnectError as error:
            self.recorder.connection_failed(error.kind)
            return False
        self._opened_ns = time.monotonic_ns()
        self._first_seen = False
        self._counted_open = True
        self.recorder.connection_open(self._opened_ns - started)
        if self.conn.closed.done():  # it closed before this coroutine resumed: on_closed found nothing to count
            self.on_closed(self.conn.closed.result())
            return False
        self.window = max(1, min(self.max_inflight, self.session.server_receive_maximum))
        return True

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    def abort(self, error: str) -> None:
        if self.conn is not None:
            self.conn.abort(error)

    # -- publishing --------------------------------------------------------------------------------------------
    @property
    def has_room(self) -> bool:
        return self.session.in_flight < self.window

    async def wait_room(self) -> None:
        """Until the window has room (or the connection closed)."""
        while not self.has_room and self.is_open:
            if self._room is None or self._room.done():
                self._room = asyncio.get_running_loop().create_future()
            await self._room

    def publish(self, encoder: PublishEncoder, payload: bytes, intended_ns: int) -> None:
        """Queue one publish (written at the end of this loop turn); QoS 0 is recorded as sent, one way."""
        start = time.monotonic_ns()
        if encoder.qos:
            self.session.publish(encoder, payload, (intended_ns, start, len(payload)))
        else:
            self.session.publish(encoder, payload)
            self._message(PUBLISH_METRIC, intended_ns, start, start, len(payload))
        self.recorder.sent(len(payload))
        assert self.conn is not None
        self.conn.flush_soon()

    def publish_batch(self, encoder: PublishEncoder, payloads: list[tuple[bytes, bytes]]) -> None:
        """Queue many QoS 0 publishes at once (a publisher running flat out): one record each, one write.

        Each payload comes in two pieces (a body and its stamp) that are never joined on their own.
        """
        start = time.monotonic_ns()
        head = encoder.head
        fixed = encoder.fixed
        message = self._message
        total = 0
        parts: list[bytes] = []
        extend = parts.extend
        for body, stamp in payloads:
            size = len(body) + len(stamp)
            total += size
            extend((head(size), fixed, body, stamp))
            message(PUBLISH_METRIC, start, start, start, size)
        self.session.outbox.append(b"".join(parts))
        self.recorder.sent(total, len(payloads))
        assert self.conn is not None
        self.conn.flush_soon()

    def on_publish_done(self, token: Any, reason: int) -> None:
        intended, start, nbytes = token
        self._message(PUBLISH_METRIC, intended, start, time.monotonic_ns(), nbytes,
                      reason_error(reason) if reason >= 0x80 else None)
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        if self.refill is not None:
            self.refill()

    async def settle(self, grace_s: float) -> None:
        """Give unacknowledged publishes ``grace_s`` to complete; then record them as timeouts."""
        deadline = time.monotonic() + grace_s
        while self.session.in_flight and self.is_open and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        now = time.monotonic_ns()
        for intended, start, nbytes in self.session.abandon_in_flight():
            self._message(PUBLISH_METRIC, intended, start, now, nbytes, "timeout")

    # -- requests ----------------------------------------------------------------------------------------------
    async def request(self, kind: PacketType, topic: str, qos: int, intended_ns: int, timeout_s: float = 10.0) -> bool:
        """SUBSCRIBE or UNSUBSCRIBE one topic and wait for its ack; recorded as ``mqtt.subscribe``/``unsubscribe``."""
        name = "mqtt.subscribe" if kind == PacketType.SUBSCRIBE else "mqtt.unsubscribe"
        if self.conn is None or not self.conn.is_open:
            return False
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        request = _Request(name, intended_ns, future)
        if kind == PacketType.SUBSCRIBE:
            self.session.subscribe([(topic, qos)], request)
        else:
            self.session.unsubscribe([topic], request)
        self.conn.flush()
        error: str | None
        try:
            reasons = await asyncio.wait_for(future, timeout_s)
            error = next((reason_error(r) for r in reasons if r >= 0x80), None)
        except TimeoutError:
            error = "timeout"
        except ConnectionError:
            error = "connection lost"
        self._message(name, intended_ns, request.start_ns, time.monotonic_ns(), len(topic), error)
        return error is None

    def on_request_done(self, kind: PacketType, token: Any, reasons: list[int]) -> None:
        if isinstance(token, _Request) and not token.future.done():
            token.future.set_result(reasons)

    def on_lost(self, tokens: list[Any]) -> None:
        now = time.monotonic_ns()
        for token in tokens:
            if isinstance(token, _Request):
                if not token.future.done():
                    token.future.set_exception(ConnectionError("connection lost"))
            else:
                intended, start, nbytes = token
                self._message(PUBLISH_METRIC, intended, start, now, nbytes, "connection lost")

    def on_closed(self, error: str | None) -> None:
        if self._counted_open:  # a connection refused at CONNACK was recorded as failed, not as closed
            self._counted_open = False
            self.recorder.connection_closed(error)
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        for _matcher, future in self._expects:
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self._expects.clear()

    # -- receiving ---------------------------------------------------------------------------------------------
    def on_message(self, message: Publish) -> None:
        payload = message.payload
        self._received(len(payload))
        if not self._first_seen:
            self._first_seen = True
            self.recorder.first_message(time.monotonic_ns() - self._opened_ns)
        if self.on_delivery is not None:
            self.on_delivery(message.topic, payload, time.time_ns())
        if self._expects and self._offer(message):
            return
        if self._recent is not None:
            self._recent.append(message)

    def _offer(self, message: Publish) -> bool:
        parsed = _parse(message.payload)
        for index, (matcher, future) in enumerate(self._expects):
            if matcher.accepts(message.payload, parsed):
                del self._expects[index]
                if not future.done():
                    future.set_result(None)
                return True
        return False

    async def expect(self, matcher: SubsetMatch, timeout_s: float, name: str = "mqtt.expect") -> bool:
        """Wait for a message (on any subscribed topic) that ``matcher`` accepts; recorded under ``name``."""
        start = time.monotonic_ns()
        if self._recent:
            for message in list(self._recent):
                if matcher.accepts(message.payload, _parse(message.payload)):
                    self._recent.remove(message)
                    self._message(name, start, start, time.monotonic_ns(), len(message.payload))
                    return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (matcher, future)
        self._expects.append(entry)
        error: str | None = None
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            error = "timeout"
        except ConnectionError:
            error = "connection lost"
        finally:
            if entry in self._expects:
                self._expects.remove(entry)
        self._message(name, start, start, time.monotonic_ns(), 0, error)
        return error is None


def _parse(payload: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
