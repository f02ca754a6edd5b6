"""The front protocol: one per TCP connection, HTTP/1.1 keep-alive via httptools, and the hand-off
of WebSocket upgrades to picows.

On an upgrade to a WebSocket path we build picows' own ``WSProtocol`` (exactly as
``picows.ws_create_server`` does), swap it in with ``transport.set_protocol`` and replay the request
bytes into it, so picows performs the handshake and then owns the connection with no proxying
layer in between: after the hand-off this module is out of the data path entirely.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import httptools
from picows import WSAutoPingStrategy, WSUpgradeResponseWithListener
from picows.picows import WSProtocol  # type: ignore[attr-defined]

from .context import TargetContext
from .faults import Action
from .http_routes import Router
from .http_types import Request, Response, encode_response
from .netutil import abort_with_reset, set_nodelay
from .ratelimit import TokenBucket
from .release import Releaser
from .stats import Stats
from .ws_listeners import SessionListener
from .ws_routes import authorize, resolve_ws

__all__ = ["MAX_BODY_BYTES", "HttpProtocol", "TargetWSProtocol"]

MAX_BODY_BYTES = 8 * 1024 * 1024
# Small to start with (idle-connection tests hold tens of thousands); picows doubles it on demand.
WS_READ_BUFFER_BYTES = 4 * 1024
WS_HANDSHAKE_TIMEOUT = 5.0

_log = logging.getLogger("streamtestbench.target")
# An adapter, not a Logger: picows then skips creating a child logger for every connection.
_ws_log = logging.LoggerAdapter(logging.getLogger("streamtestbench.target.ws"), {})

# A held HTTP response: (wire bytes, keep the connection open?, status for the counters).
_Held = tuple[bytes, bool, int]
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
# Wire bytes of ``static`` responses, keyed by (id, keep_alive, head); those live for the process.
_STATIC_WIRE: dict[tuple[int, bool, bool], bytes] = {}


class TargetWSProtocol(WSProtocol):  # type: ignore[misc]
    """picows' protocol, plus closing our connection count when the socket goes, whatever the
    handshake's fate (a listener only hears about sessions that completed it)."""

    stb_stats: Stats | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            if self.stb_stats is not None:
                self.stb_stats.connections_open -= 1


class HttpProtocol(asyncio.Protocol):
    """Parses requests, routes them, writes responses in order (holding them under faults)."""

    def __init__(self, ctx: TargetContext, router: Router) -> None:
        self._ctx = ctx
        self._router = router
        self._stats = ctx.stats
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._too_large = False
        self._pending_upgrade: Request | None = None
        self._ws_upgrade = False
        self._any_upgrade = False
        self._outbox: Releaser[_Held] | None = None
        rate = ctx.config.rate_limit
        # Per client connection (remote ip:port): on loopback every client shares 127.0.0.1.
        self._bucket = TokenBucket(rate, now=ctx.clock()) if rate else None
        # Constant routes (GET /echo) may skip routing when no token or rate limit is involved.
        self._constants = router.constants if not ctx.config.auth and self._bucket is None else None
        self._faults = ctx.faults
        self._remote = ""
        self._closing = False
        self._handed_off = False

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        set_nodelay(transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._remote = f"{peer[0]}:{peer[1]}"
        stats = self._stats
        stats.connections_open += 1
        stats.connections_total += 1
        self._ctx.connections.add(self)
        if self._ctx.stopping:
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._handed_off:
            return
        self._stats.connections_open -= 1
        self._ctx.connections.discard(self)
        self._closing = True
        if self._outbox is not None:
            self._outbox.cancel()

    def data_received(self, data: bytes) -> None:
        if self._closing or self._handed_off:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            request = self._pending_upgrade
            self._pending_upgrade = None
            if request is not None:
                self._upgrade(request, data[exc.args[0] :])
        except httptools.HttpParserError:
            if self._too_large:
                self._respond(Response.error(413, f"request body over {MAX_BODY_BYTES} bytes"), False)
            else:
                self._respond(Response.error(400, "malformed HTTP request"), False)

    def pause_writing(self) -> None:
        # Pipelining client that does not read: stop parsing its requests until it catches up.
        if self._transport is not None and not self._handed_off:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._handed_off and not self._transport.is_closing():
            self._transport.resume_reading()

    def shutdown(self) -> None:
        """Server is stopping: close once what was already answered has been written."""
        self._closing = True
        if self._transport is not None and not self._outbox:
            self._transport.close()

    # -- httptools callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0
        self._ws_upgrade = False
        self._any_upgrade = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        if len(name) == 7 and name.lower() == b"upgrade":
            self._any_upgrade = True
            self._ws_upgrade = value.strip().lower() == b"websocket"
        elif len(name) == 6 and name.lower() == b"expect" and value.lower() == b"100-continue":
            # curl waits a second for this before sending a body over 1 KiB.
            assert self._transport is not None
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY_BYTES:
            self._too_large = True
            raise ValueError("request body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        constants = self._constants
        if constants is not None and not self._any_upgrade and not self._outbox and not self._faults.active:
            constant = constants.get((self._parser.get_method(), self._url))
            if constant is not None:
                # Fast path for benchmark endpoints: no Request, no routing, cached wire bytes.
                self._respond(constant, bool(self._parser.should_keep_alive()))
                return
        request = self._build_request()
        if self._parser.should_upgrade():
            self._pending_upgrade = request  # handled once feed_data raises HttpParserUpgrade
            return
        self._handle(request, bool(self._parser.should_keep_alive()))

    # -- requests ------------------------------------------------------------------------
    def _build_request(self) -> Request:
        raw_method = self._parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii", "replace")
        return Request(
            method,
            self._url.decode("latin-1"),
            None,
            b"".join(self._body) if self._body else b"",
            self._remote,
            raw_headers=self._headers,
        )

    def _handle(self, request: Request, keep_alive: bool) -> None:
        if self._ws_upgrade:
            # Upgrade without "Connection: Upgrade": httptools does not switch, neither do we.
            self._respond(Response.error(400, "WebSocket upgrade needs 'Connection: Upgrade'"), False)
            return
        head = request.method == "HEAD"
        match = self._router.resolve("GET" if head else request.method, request.path)
        route = match.route
        release_at = 0.0
        if route is None:
            if match.status == 405:
                response = Response.error(405, "method not allowed", {"Allow": ", ".join(match.allowed)})
            else:
                response = Response.error(404, f"no route for {request.path}")
        else:
            refusal = None if route.public else authorize(request, self._ctx)
            if refusal is not None:
                response = refusal
            elif not route.ops and self._bucket is not None and not self._bucket.try_acquire(self._ctx.clock()):
                self._stats.rate_limited_http += 1
                retry = self._bucket.retry_after_header(self._ctx.clock())
                response = Response.error(429, "rate limit exceeded", {"Retry-After": retry})
            else:
                request.path_params = match.params
                try:
                    response = route.handler(request, self._ctx)
                except Exception:
                    _log.exception("handler for %s %s failed", request.method, request.path)
                    response = Response.error(500, "internal error")
                if not route.ops and self._ctx.faults.active:
                    applied = self._apply_faults()
                    if applied is None:
                        return
                    release_at = applied
        self._respond(response, keep_alive, head=head, release_at=release_at)

    def _apply_faults(self) -> float | None:
        """The release time for this response, or None when it is dropped or the socket reset."""
        now = self._ctx.clock()
        decision = self._ctx.faults.decide(now)
        stats = self._stats
        if decision.action is Action.RESET:
            stats.faults_reset += 1
            self._reset()
            return None
        if decision.action is Action.DROP:
            stats.faults_drop += 1
            return None
        if decision.stalled:
            stats.faults_stall += 1
        if decision.slowed:
            stats.faults_slow += 1
        return decision.release_at

    def _respond(self, response: Response, keep_alive: bool, *, head: bool = False, release_at: float = 0.0) -> None:
        if response.static:
            key = (id(response), keep_alive, head)
            data = _STATIC_WIRE.get(key)
            if data is None:
                data = _STATIC_WIRE[key] = encode_response(response, keep_alive=keep_alive, head=head)
        else:
            data = encode_response(response, keep_alive=keep_alive, head=head)
        held: _Held = (data, keep_alive, response.status)
        outbox = self._outbox
        if outbox or (release_at and release_at > self._ctx.clock()):
            if outbox is None:
                outbox = self._outbox = Releaser(self._write, clock=self._ctx.clock)
            outbox.push(release_at, held)
        else:
            self._write(held)

    def _write(self, held: _Held) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        data, keep_alive, status = held
        transport.write(data)
        self._stats.count_http(status)
        if not keep_alive:
            self._closing = True
            transport.close()
        elif self._closing and not self._outbox:
            transport.close()  # shutting down and this was the last held response

    def _reset(self) -> None:
        transport = self._transport
        if transport is None:
            return
        self._closing = True
        if self._outbox is not None:
            self._outbox.cancel()
        abort_with_reset(transport)

    # -- WebSocket hand-off --------------------------------------------------------------
    def _upgrade(self, request: Request, tail: bytes) -> None:
        if not self._ws_upgrade:
            # Some other protocol (h2c...): answer over HTTP/1.1 and close, the parser cannot resume.
            self._handle_non_ws_upgrade(request)
            return
        result = resolve_ws(request, self._ctx)
        if isinstance(result, Response):
            self._respond(result, False)
            return
        self._hand_off(request, result, tail)

    def _handle_non_ws_upgrade(self, request: Request) -> None:
        self._handle(request, False)

    def _hand_off(
        self, request: Request, listener: SessionListener | WSUpgradeResponseWithListener, tail: bytes
    ) -> None:
        transport = self._transport
        assert transport is not None
        if self._outbox is not None:
            self._outbox.cancel()
        raw = self._raw_request(request) + tail

        def listener_factory(_upgrade_request: Any) -> SessionListener | WSUpgradeResponseWithListener:
            return listener

        ws_protocol = TargetWSProtocol(
            None,  # host+port (client side only)
            None,  # ws path (client side only)
            False,  # is_client_side
            listener_factory,
            _ws_log,
            True,  # disconnect_on_exception
            WS_HANDSHAKE_TIMEOUT,
            False,  # enable_auto_ping
            20.0,  # auto_ping_idle_timeout
            20.0,  # auto_ping_reply_timeout
            WSAutoPingStrategy.PING_WHEN_IDLE,
            False,  # enable_auto_pong: listeners answer pings themselves so they are counted
            self._ctx.config.max_frame_size,
            None,  # extra_headers
            WS_READ_BUFFER_BYTES,
        )
        ws_protocol.stb_stats = self._stats
        self._handed_off = True
        self._ctx.connections.discard(self)
        transport.set_protocol(ws_protocol)
        ws_protocol.connection_made(transport)
        _replay(ws_protocol, raw)

    def _raw_request(self, request: Request) -> bytes:
        version = self._parser.get_http_version()
        lines = [f"{request.method} {self._url.decode('latin-1')} HTTP/{version}".encode("latin-1")]
        lines.extend(name + b": " + value for name, value in self._headers)
        return b"\r\n".join(lines) + b"\r\n\r\n"


def _replay(protocol: Any, data: bytes) -> None:
    """Feed bytes to a BufferedProtocol the way the transport would, in as many reads as needed."""
    view = memoryview(data)
    while view:
        buffer = protocol.get_buffer(len(view))
        n = min(len(buffer), len(view))
        if n == 0:
            break
        buffer[:n] = view[:n]
        protocol.buffer_updated(n)
        view = view[n:]
