"""A small asyncio NATS client on the sans-IO codec in ``protocols.nats``.

What the target's relay and the engine's publish step need and no more: connect, publish (writes
made in one loop turn leave in one ``write``), subscribe with a callback, flush (a PING answered by
a PONG), close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from .._version import __version__
from .nats import (
    PING,
    PING_BYTES,
    PONG,
    PONG_BYTES,
    Err,
    Event,
    Info,
    Msg,
    NatsConnectionClosed,
    NatsError,
    NatsParser,
    NatsPayloadTooLarge,
    NatsProtocolError,
    NatsServerError,
    encode_connect,
    encode_hpub,
    encode_pub,
    encode_sub,
    encode_unsub,
    parse_url,
)

_LOG = logging.getLogger("streamtestbench.nats")


MessageHandler = Callable[[Msg], None]


@dataclass(slots=True)
class _Subscription:
    subject: str
    callback: MessageHandler
    queue: str | None = None
    delivered: int = 0


@dataclass(slots=True)
class _Handshake:
    info: asyncio.Future[Info]
    ready: asyncio.Future[None]
    done: bool = False
    errors: list[str] = field(default_factory=list)


class NatsClient(asyncio.Protocol):
    """One connection to a NATS server. Create it with :meth:`connect`.

    Publishes are queued and written together at the end of the current loop turn, so a burst of
    ``publish`` calls costs one system call. Subscription callbacks run inside ``data_received``:
    keep them short and non-blocking.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._parser = NatsParser()
        self._transport: asyncio.Transport | None = None
        self._out: list[bytes] = []
        self._write_scheduled = False
        self._pongs: deque[asyncio.Future[None]] = deque()
        self._subs: dict[int, _Subscription] = {}
        self._next_sid = 1
        self._handshake: _Handshake | None = None
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._resume: asyncio.Future[None] | None = None
        self.info: Info | None = None
        self.last_error: str | None = None
        self.on_error: Callable[[str], None] | None = None
        self.on_disconnect: Callable[[BaseException | None], None] | None = None
        self.published = 0
        self.received = 0

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    async def connect(cls, url: str, *, name: str = "streamtestbench", timeout_s: float = 5.0,
                      options: Mapping[str, Any] | None = None) -> NatsClient:
        """Open, read INFO, send CONNECT and PING, and return once the server's PONG arrives."""
        target = parse_url(url)
        loop = asyncio.get_running_loop()
        client = cls()
        handshake = client._handshake = _Handshake(loop.create_future(), loop.create_future())
        try:
            async with asyncio.timeout(timeout_s):
                await loop.create_connection(lambda: client, target.host, target.port)
                info = await handshake.info
                connect = {"verbose": False, "pedantic": False, "name": name, "lang": "python",
                           "version": __version__, "protocol": 1, "headers": info.headers,
                           "no_responders": info.headers, **target.auth_options(), **(options or {})}
                client._write_now(encode_connect(connect) + PING_BYTES)
                await handshake.ready
        except TimeoutError:
            client._abort()
            raise NatsError(f"no answer from NATS at {target.host}:{target.port} within {timeout_s:g}s") from None
        except OSError as exc:
            raise NatsConnectionClosed(f"cannot connect to NATS at {target.host}:{target.port}: {exc}") from None
        except NatsError:
            client._abort()
            raise
        finally:
            handshake.done = True
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same methods.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._transport = None
        self._out.clear()
        error = NatsConnectionClosed(self.last_error or (str(exc) if exc else "connection closed"))
        handshake = self._handshake
        if handshake is not None and not handshake.done:
            for future in (handshake.info, handshake.ready):
                if not future.done():
                    future.set_exception(error)
        while self._pongs:
            waiter = self._pongs.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        if self._resume is not None and not self._resume.done():
            self._resume.set_result(None)
        if not self._closed.done():
            self._closed.set_result(None)
        if self.on_disconnect is not None:
            self.on_disconnect(exc)

    def pause_writing(self) -> None:
        if self._resume is None or self._resume.done():
            self._resume = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._resume is not None and not self._resume.done():
            self._resume.set_result(None)

    @property
    def is_closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def close(self, timeout_s: float = 2.0) -> None:
        """Write what is queued, then close and wait for the socket to go."""
        transport = self._transport
        if transport is None:
            return
        self._write_out()
        transport.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._closed)

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # -- receiving ---------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        try:
            events = self._parser.feed(data)
        except NatsProtocolError as exc:
            self._dispatch(exc.events)
            self.last_error = f"protocol error: {exc}"
            _LOG.warning("NATS %s", self.last_error)
            self._abort()
            return
        self._dispatch(events)

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            if type(event) is Msg:
                self._deliver(event)
            elif event is PING:
                self._write_now(PONG_BYTES)
            elif event is PONG:
                self._pong()
            elif type(event) is Info:
                self._info(event)
            elif type(event) is Err:
                self._error(event.message)

    def _deliver(self, msg: Msg) -> None:
        self.received += 1
        sub = self._subs.get(msg.sid)
        if sub is None:
            return
        sub.delivered += 1
        try:
            sub.callback(msg)
        except Exception:
            _LOG.exception("NATS subscription callback for %s failed", sub.subject)

    def _info(self, info: Info) -> None:
        self.info = info
        handshake = self._handshake
        if handshake is not None and not handshake.info.done():
            handshake.info.set_result(info)

    def _pong(self) -> None:
        handshake = self._handshake
        if handshake is not None and not handshake.ready.done():
            handshake.ready.set_result(None)
            return
        if self._pongs:
            waiter = self._pongs.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _error(self, message: str) -> None:
        self.last_error = message
        handshake = self._handshake
        if handshake is not None and not handshake.ready.done():
            handshake.ready.set_exception(NatsServerError(message))
            return
        _LOG.warning("NATS server error: %s", message)
        if self.on_error is not None:
            self.on_error(message)

    # -- sending -----------------------------------------------------------------------
    def _write_now(self, data: bytes) -> None:
        if self._transport is not None:
            self._write_out()
            self._transport.write(data)

    def _queue(self, data: bytes) -> None:
        if self._transport is None:
            raise NatsConnectionClosed(self.last_error or "connection closed")
        self._out.append(data)
        if not self._write_scheduled:
            self._write_scheduled = True
            self._loop.call_soon(self._write_out)

    def _write_out(self) -> None:
        self._write_scheduled = False
        out = self._out
        if out and self._transport is not None:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def publish(self, subject: str, payload: bytes, reply: str | None = None,
                headers: Mapping[str, str] | None = None) -> int:
        """Queue one message; returns the bytes it adds to the wire. Raises if the connection is gone."""
        info = self.info
        if info is not None and len(payload) > info.max_payload:
            raise NatsPayloadTooLarge(f"payload of {len(payload)} bytes exceeds max_payload {info.max_payload}")
        data = encode_pub(subject, payload, reply) if headers is None \
            else encode_hpub(subject, headers, payload, reply)
        self._queue(data)
        self.published += 1
        return len(data)

    def subscribe(self, subject: str, callback: MessageHandler, queue: str | None = None) -> int:
        """Start receiving ``subject`` (wildcards ``*`` and ``>`` allowed); returns the sid."""
        sid = self._next_sid
        self._next_sid += 1
        self._queue(encode_sub(subject, sid, queue))
        self._subs[sid] = _Subscription(subject, callback, queue)
        return sid

    def unsubscribe(self, sid: int) -> None:
        if self._subs.pop(sid, None) is not None and self._transport is not None:
            self._queue(encode_unsub(sid))

    def delivered(self, sid: int) -> int:
        """Messages handed to subscription ``sid``'s callback so far."""
        sub = self._subs.get(sid)
        return 0 if sub is None else sub.delivered

    async def drain(self) -> None:
        """Wait while the socket's write buffer is over its high-water mark."""
        resume = self._resume
        if resume is not None and not resume.done():
            await resume

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Round trip a PING: once its PONG is back, the server has processed everything before it."""
        if self._transport is None:
            raise NatsConnectionClosed(self.last_error or "connection closed")
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._pongs.append(waiter)
        self._write_now(PING_BYTES)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            raise NatsError(f"no PONG within {timeout_s:g}s") from None
