"""A thin asyncio adapter around ``ClientSession``: socket bytes in, session output written back out.

Everything queued during one event-loop turn leaves in one write (a publish loop that queues
a thousand QoS 0 messages costs one syscall). Acks and messages reach a handler through plain
method calls, so QoS 1 windows need no Future per message.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any, cast

from .codec import MqttProtocolError, PacketType, Publish
from .session import ClientSession, Connected, PublishDone, Requested, ServerDisconnected, connack_error

__all__ = ["MqttConnectError", "MqttConnection", "MqttHandler", "open_mqtt"]


class MqttConnectError(Exception):
    """The TCP connect or the CONNECT/CONNACK exchange failed; ``kind`` is the low-cardinality error name."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class MqttHandler:
    """What a connection tells its owner; override what you need (the defaults ignore everything)."""

    def on_message(self, message: Publish) -> None:
        return None

    def on_publish_done(self, token: Any, reason: int) -> None:
        return None

    def on_request_done(self, kind: PacketType, token: Any, reasons: list[int]) -> None:
        return None

    def on_lost(self, tokens: list[Any]) -> None:
        """Requests (and clean-session publishes) the closed connection will never answer."""
        return None

    def on_closed(self, error: str | None) -> None:
        return None


class MqttConnection(asyncio.Protocol):
    """One TCP connection of a ``ClientSession``."""

    def __init__(self, session: ClientSession, handler: MqttHandler) -> None:
        self.session = session
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.connack: asyncio.Future[Connected] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.bytes_received = 0
        self.protocol_error: str | None = None
        """What the broker's bytes broke, when they broke the specification."""
        self._loop = asyncio.get_running_loop()
        self._flush_pending = False
        self._paused = False
        self._drained: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._error: str | None = None
        self._on_message = handler.on_message
        self._on_publish_done = handler.on_publish_done

    # -- asyncio.Protocol --------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.session.connect(time.monotonic_ns())
        self.flush()

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        try:
            events = self.session.receive_data(data)
        except MqttProtocolError as error:
            self.protocol_error = str(error)  # the detail, kept apart from the low-cardinality error kind
            self.abort("mqtt protocol error")
            return
        on_message = self._on_message
        on_done = self._on_publish_done
        for event in events:
            kind = type(event)
            if kind is Publish:
                on_message(event)  # type: ignore[arg-type]
            elif kind is PublishDone:
                on_done(event.token, event.reason)  # type: ignore[union-attr]
            elif kind is Requested:
                assert isinstance(event, Requested)
                self.handler.on_request_done(event.kind, event.token, event.reasons)
            elif kind is Connected:
                assert isinstance(event, Connected)
                self._connected(event)
            elif kind is ServerDisconnected:
                assert isinstance(event, ServerDisconnected)
                self._error = f"mqtt server disconnect 0x{event.reason:02x}"
        self.flush()
        failure = self.session.decoder.error
        if failure is not None:  # good packets came first and were handled; now the connection ends
            self.protocol_error = str(failure)
            self.abort("mqtt protocol error")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._error is None and exc is not None:
            self._error = type(exc).__name__
        lost = self.session.connection_lost()
        if lost:
            self.handler.on_lost(lost)
        if not self.connack.done():
            self.connack.set_exception(MqttConnectError(self._error or "connection closed before CONNACK"))
            self.connack.exception()  # retrieved here, so an abandoned connect does not log
        if not self.closed.done():
            self.closed.set_result(self._error)
        self._wake_writer()
        self.handler.on_closed(self._error)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writer()

    # -- writing -----------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything the session queued, as one buffer."""
        self._flush_pending = False
        out = self.session.data_to_send(time.monotonic_ns())
        transport = self.transport
        if not out or transport is None or transport.is_closing():
            return
        transport.write(out[0] if len(out) == 1 else b"".join(out))

    def flush_soon(self) -> None:
        """Write at the end of this loop turn, together with whatever else gets queued before then."""
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self.flush)

    @property
    def writable(self) -> bool:
        """False while the socket's buffer is above its high-water mark (wait with ``drain``)."""
        return not self._paused

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.closed.done()

    async def drain(self) -> None:
        if not self._paused or self.closed.done():
            return
        if self._drained is None or self._drained.done():
            self._drained = self._loop.create_future()
        await self._drained

    def _wake_writer(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def _connected(self, event: Connected) -> None:
        error = connack_error(event.reason, self.session.version)
        if self.connack.done():
            return
        if error is not None:
            self._error = error
            self.connack.set_exception(MqttConnectError(error))
            self.connack.exception()
            self.abort(error)
            return
        self.connack.set_result(event)
        self._schedule_timer(self.session.on_timer(time.monotonic_ns()))

    def _schedule_timer(self, delay_ns: int | None) -> None:
        if delay_ns is not None and not self.closed.done():
            self._timer = self._loop.call_later(delay_ns / 1e9, self._tick)

    def _tick(self) -> None:
        try:
            delay = self.session.on_timer(time.monotonic_ns())
        except TimeoutError:
            self.abort("keepalive timeout")
            return
        self.flush()
        self._schedule_timer(delay)

    def abort(self, error: str) -> None:
        """Drop the connection at once (no DISCONNECT: the broker publishes the will)."""
        if self._error is None:
            self._error = error
        if self.transport is not None:
            self.transport.abort()

    async def close(self, timeout_s: float = 2.0) -> None:
        """Send DISCONNECT and wait for the socket to close."""
        if self.transport is None or self.closed.done():
            return
        self.session.disconnect()
        self.flush()
        self.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout_s)
        except TimeoutError:
            self.transport.abort()


async def open_mqtt(host: str, port: int, session: ClientSession, handler: MqttHandler, *,
                    timeout_s: float = 10.0, local_host: str | None = None) -> tuple[MqttConnection, Connected]:
    """Connect over TCP, send CONNECT, wait for a successful CONNACK; failures raise ``MqttConnectError``."""
    loop = asyncio.get_running_loop()
    connection: MqttConnection | None = None
    try:
        async with asyncio.timeout(timeout_s):
            _transport, connection = await loop.create_connection(
                lambda: MqttConnection(session, handler), host, port,
                local_addr=(local_host, 0) if local_host else None)
            connected = await connection.connack
    except MqttConnectError:
        raise
    except TimeoutError:
        if connection is not None:
            connection.abort("Connection timeout")
        raise MqttConnectError("Connection timeout") from None
    except OSError as error:
        raise MqttConnectError(os.strerror(error.errno) if error.errno else type(error).__name__) from None
    return connection, connected
