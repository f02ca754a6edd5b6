"""The asyncio side of HTTP: measured keep-alive connections and the pools that hold them.

An :class:`HttpConnection` keeps one request in flight and hands each answer to a plain callback,
so a virtual user can send its next request from inside ``data_received`` with no task switch or
future per request (the hot path of a closed loop). Read timeouts are found by one sweep timer per
busy connection, not a timer per request. :class:`ConnectionPool` wraps the same connections in
the awaitable :class:`HttpTransport` API for the less frequent exchanges (logins, MCP
initialize, redirects).
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple, cast
from urllib.parse import urljoin, urlsplit

from ..engine.recording import Recorder
from .http_codec import FULL, LEAN, HttpProtocolError, ResponseParser, encode_request
from .http_types import HttpConnectionError, HttpResponse, HttpTimeout

__all__ = [
    "REDIRECT_STATUSES",
    "ConnectionPool",
    "Connector",
    "HttpConnection",
    "IdleConnections",
    "Origin",
    "Tally",
    "split_url",
]

Completion = Callable[[int, "dict[str, str] | None", "bytes | None", int, "str | None"], None]
"""(status, headers, body, response bytes on the wire, error kind); status 0 when ``error`` is set."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
SWEEP_INTERVAL_S = 0.25
DEFAULT_CONNECT_TIMEOUT_S = 10.0


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}"


def split_url(url: str, base: Origin | None = None) -> tuple[Origin, str]:
    """(origin, request target) of an absolute URL, or of a ``/path`` against ``base``."""
    if "://" not in url:
        if base is None:
            raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return base, url if url.startswith("/") else "/" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(scheme, parts.hostname, port), target


class Tally:
    """Counts kept on the hot path as plain integers and handed to the recorder in batches."""

    __slots__ = ("received", "received_bytes", "sent", "sent_bytes", "statuses")

    def __init__(self) -> None:
        self.sent = 0
        self.sent_bytes = 0
        self.received = 0
        self.received_bytes = 0
        self.statuses = [0] * 10
        """Responses by status class: index 2 is 2xx ... 5 is 5xx (llhttp allows 100-999; 6xx+ count as 5xx)."""

    def flush(self, recorder: Recorder) -> None:
        if self.sent:
            recorder.sent(self.sent_bytes, self.sent)
            self.sent = self.sent_bytes = 0
        if self.received:
            recorder.received(self.received_bytes, self.received)
            self.received = self.received_bytes = 0
        statuses = self.statuses
        for index in range(6, 10):
            statuses[5] += statuses[index]
            statuses[index] = 0
        for index in range(1, 6):
            if statuses[index]:
                recorder.count(f"http.status.{index}xx", statuses[index])
                statuses[index] = 0


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    __slots__ = ("_closing", "_escaped", "_mode", "_sweep_s", "_sweeper", "callback", "deadline_ns", "lost", "origin",
                 "parser", "received", "recorder", "reusable", "served", "tally", "transport")

    def __init__(self, origin: Origin, recorder: Recorder, tally: Tally) -> None:
        self.origin = origin
        self.recorder = recorder
        self.tally = tally
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser(self._on_response, LEAN)
        self.callback: Completion | None = None
        self.reusable = False
        """Open, and the last response let the connection live on: the next request may use it."""
        self.served = False
        """At least one response came back on it (a failure on a reused connection may be a stale keep-alive)."""
        self.deadline_ns = 0
        self.received = 0
        self._escaped: Exception | None = None
        """An exception raised by a callback inside the parser, kept apart from the peer's protocol errors."""
        self._mode = -1
        """How the parser was last told to read responses (only changes are passed on)."""
        self._sweep_s = SWEEP_INTERVAL_S
        self._sweeper: asyncio.TimerHandle | None = None
        self._closing = False
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio callbacks -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.reusable = True

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        try:
            self.parser.feed(data)
        except HttpProtocolError:
            escaped, self._escaped = self._escaped, None
            self.abort("connection error")
            if escaped is not None:
                raise escaped from None  # our bug, not the server's: let the loop report it

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost settles any response in progress

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.recorder.connection_closed(None if exc is None or self._closing else "Connection reset")
        if self.callback is not None and not self.parser.eof():  # eof() delivers a body that ran to the close
            self._fail("connection error")
        if not self.lost.done():
            self.lost.set_result(None)

    # -- exchanges --------------------------------------------------------------------------
    def send(self, data: bytes, callback: Completion, start_ns: int, timeout_ns: int, mode: int = FULL,
             head: bool = False) -> None:
        """Write one request; ``callback`` gets its response, a timeout, or the connection's loss."""
        transport = self.transport
        if transport is None or not self.reusable or self.callback is not None:
            callback(0, None, None, 0, "connection error")
            return
        if mode != self._mode or head:
            self.parser.expect(mode, head)
            self._mode = mode
        self.callback = callback
        self.received = 0
        self.deadline_ns = start_ns + timeout_ns
        transport.write(data)
        tally = self.tally
        tally.sent += 1
        tally.sent_bytes += len(data)
        if self._sweeper is None:
            self._sweep_s = min(SWEEP_INTERVAL_S, max(0.005, timeout_ns / 8e9))
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_s, self._sweep)

    def _on_response(self, status: int, headers: dict[str, str] | None, body: bytes | None,
                     keep_alive: bool) -> None:
        """From inside the parser: hand the response over, so the next request can leave from here."""
        callback = self.callback
        if callback is None:
            raise HttpProtocolError("a response nobody asked for")
        self.callback = None
        self.served = True
        tally = self.tally
        tally.received += 1
        received = self.received
        tally.received_bytes += received
        if not keep_alive:
            self.close()
        try:
            callback(status, headers, body, received, None)
        except Exception as error:
            self._escaped = error
            raise

    def _sweep(self) -> None:
        self._sweeper = None
        if self.callback is None or self.transport is None:
            return
        if time.monotonic_ns() >= self.deadline_ns:
            self.abort("timeout")
            return
        self._sweeper = asyncio.get_running_loop().call_later(self._sweep_s, self._sweep)

    def _fail(self, kind: str) -> None:
        callback = self.callback
        self.callback = None
        if callback is not None:
            callback(0, None, None, self.received, kind)

    # -- closing ----------------------------------------------------------------------------
    def abort(self, kind: str | None = None) -> None:
        """Drop the connection now; a request in flight fails with ``kind`` (if given)."""
        self.reusable = False
        self._closing = True
        if kind is not None:
            self._fail(kind)
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.reusable = False
        self._closing = True
        if self.transport is not None:
            self.transport.close()


def _connect_error_kind(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(error, ConnectionResetError):
        return "Connection reset"
    if isinstance(error, ssl.SSLError):
        return "TLS handshake failed"
    if error.errno in (-2, -3, -5):
        return "DNS failure"
    if error.errno == errno.ENETUNREACH or error.errno == errno.EHOSTUNREACH:
        return "Network unreachable"
    return type(error).__name__


class Connector:
    """Opens measured connections (TLS for https) and records each attempt's fate."""

    def __init__(self, recorder: Recorder, tally: Tally | None = None, *,
                 connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.recorder = recorder
        self.tally = tally or Tally()
        self.connect_timeout_s = connect_timeout_s
        self._ssl_context = ssl_context

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def open(self, origin: Origin, timeout_s: float | None = None) -> HttpConnection:
        """A new connection, or HttpTimeout / HttpConnectionError (the failure is recorded)."""
        loop = asyncio.get_running_loop()
        recorder = self.recorder
        recorder.connection_attempt()
        started = time.monotonic_ns()
        tls = self.ssl_context() if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(timeout_s or self.connect_timeout_s):
                _, connection = await loop.create_connection(
                    lambda: HttpConnection(origin, recorder, self.tally), origin.host, origin.port,
                    ssl=tls, server_hostname=origin.host if tls is not None else None)
        except TimeoutError:
            recorder.connection_failed("Connection timeout")
            raise HttpTimeout(f"connecting to {origin.url} timed out") from None
        except OSError as error:
            recorder.connection_failed(_connect_error_kind(error))
            raise HttpConnectionError(f"cannot connect to {origin.url}: {error}") from None
        recorder.connection_open(time.monotonic_ns() - started)
        return connection


class IdleConnections:
    """Open connections between open-model iterations, shared by a worker's arrivals (bounded)."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._by_origin: dict[Origin, list[HttpConnection]] = {}
        self._size = 0

    def take(self, origin: Origin) -> HttpConnection | None:
        idle = self._by_origin.get(origin)
        while idle:
            connection = idle.pop()
            self._size -= 1
            if connection.reusable:
                return connection
        return None

    def put(self, connection: HttpConnection) -> None:
        if not connection.reusable or connection.callback is not None or self._size >= self.limit:
            connection.close()
            return
        self._by_origin.setdefault(connection.origin, []).append(connection)
        self._size += 1

    def __len__(self) -> int:
        return self._size

    def close(self) -> None:
        for idle in self._by_origin.values():
            for connection in idle:
                connection.close()
        self._by_origin.clear()
        self._size = 0


class ConnectionPool:
    """One virtual user's keep-alive connections, one per origin; also an ``HttpTransport``."""

    def __init__(self, connector: Connector, base: Origin, idle: IdleConnections | None = None) -> None:
        self.connector = connector
        self.base = base
        self.idle = idle
        self.connections: dict[Origin, HttpConnection] = {}

    def ready(self, origin: Origin) -> HttpConnection | None:
        """An open, idle connection to ``origin`` if the pool (or the idle store) has one."""
        connection = self.connections.get(origin)
        if connection is not None and connection.reusable and connection.callback is None:
            return connection
        if self.idle is not None:
            connection = self.idle.take(origin)
            if connection is not None:
                self._keep(connection)
                return connection
        return None

    def _keep(self, connection: HttpConnection) -> None:
        old = self.connections.get(connection.origin)
        if old is not None and old is not connection and old.callback is None:
            old.close()
        self.connections[connection.origin] = connection

    async def connect(self, origin: Origin, timeout_s: float | None = None) -> HttpConnection:
        connection = self.ready(origin)
        if connection is None:
            connection = await self.connector.open(origin, timeout_s)
            self._keep(connection)
        return connection

    async def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                      body: bytes | None = None, timeout_s: float = 30.0, *,
                      follow_redirects: bool = False, max_redirects: int = MAX_REDIRECTS) -> HttpResponse:
        """One exchange (following redirects if asked); raises HttpTimeout / HttpConnectionError."""
        deadline = time.monotonic() + timeout_s
        response = await self._exchange(method, url, headers, body, timeout_s)
        hops = 0
        while follow_redirects and response.status in REDIRECT_STATUSES and hops < max_redirects:
            location = response.headers.get("location")
            if not location:
                break
            hops += 1
            url = urljoin(self._absolute(url), location)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = ("HEAD" if method == "HEAD" else "GET"), None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HttpTimeout(f"{method} {url} timed out following redirects")
            response = await self._exchange(method, url, headers, body, remaining)
        return response

    def _absolute(self, url: str) -> str:
        return url if "://" in url else self.base.url + (url if url.startswith("/") else "/" + url)

    async def _exchange(self, method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None,
                        timeout_s: float) -> HttpResponse:
        origin, target = split_url(url, self.base)
        connection = self.ready(origin)
        if connection is None:
            connection = await self.connect(origin, min(timeout_s, self.connector.connect_timeout_s))
        data = encode_request(method, target, origin.host_header, (headers or {}).items(), body)
        waiter: asyncio.Future[tuple[int, dict[str, str] | None, bytes | None, str | None]] = \
            asyncio.get_running_loop().create_future()

        def done(status: int, got_headers: dict[str, str] | None, got_body: bytes | None, _nbytes: int,
                 error: str | None) -> None:
            if not waiter.done():
                waiter.set_result((status, got_headers, got_body, error))

        connection.send(data, done, time.monotonic_ns(), int(timeout_s * 1e9), FULL, method == "HEAD")
        status, got_headers, got_body, error = await waiter
        if error == "timeout":
            raise HttpTimeout(f"{method} {url}: no response within {timeout_s:g} s")
        if error is not None:
            raise HttpConnectionError(f"{method} {url}: the connection failed")
        return HttpResponse(status, got_headers or {}, got_body or b"")

    def release(self) -> None:
        """Give idle connections to the shared store (open model) or close them (closed model)."""
        for connection in self.connections.values():
            if self.idle is not None:
                self.idle.put(connection)
            else:
                connection.close()
        self.connections.clear()

    def abort(self) -> None:
        for connection in self.connections.values():
            connection.abort("timeout")
        self.connections.clear()

    async def close(self) -> None:
        """Close every connection and wait (briefly) until they are gone."""
        closing = list(self.connections.values())
        self.connections.clear()
        for connection in closing:
            connection.close()
        pending = [c.lost for c in closing if not c.lost.done()]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
