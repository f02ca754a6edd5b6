"""picows listeners: the I/O side of the target's WebSocket endpoints.

A listener turns frames into the pure handlers' outcomes (``messages.py``) and carries them out:
counting every frame, enforcing the rate limit, applying injected faults and holding replies.
:class:`ProtocolListener` (``/ws``) keeps a short fast path for plain echo, because that is what
the echo benchmark measures: with no rate limit, no fault and nothing held, a binary frame costs a
type check, one ``send`` and four counter increments over a bare picows echo server.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from .faults import Action
from .messages import Outcome, handle_text, mobile_ack, now_ms
from .netutil import abort_with_reset
from .ratelimit import TokenBucket
from .release import Releaser

if TYPE_CHECKING:
    from .context import TargetContext

__all__ = ["MobileSyncListener", "ProtocolListener", "SessionListener"]

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE
_PING = WSMsgType.PING
_PONG = WSMsgType.PONG

# A reply waiting to go out: (frame type, payload, fin, close code). A frame type of None means
# "send a CLOSE with this code" so that a close can be held in order behind earlier replies.
_Item = tuple[WSMsgType | None, bytes, bool, int]

_CLOSE_GRACE_SECONDS = 1.0


def _close_code(code: int) -> WSCloseCode:
    try:
        return WSCloseCode(code)
    except ValueError:
        return WSCloseCode.OK


class SessionListener(WSListener):
    """Counting, close handling, rate limit, faults and held replies shared by every endpoint.

    Subclasses implement :meth:`_interpret`: a data frame in, the replies to send out.
    """

    # Slots, not a __dict__: the fast path reads several attributes per frame. (WSListener
    # already supports the weakref.proxy picows keeps to its listener.)
    __slots__ = (
        "_bucket",
        "_channels",
        "_clock",
        "_closing",
        "_ctx",
        "_faults",
        "_pending",
        "_plain",
        "_stats",
        "transport",
    )

    def __init__(self, ctx: TargetContext) -> None:
        super().__init__()
        self._ctx = ctx
        self._stats = ctx.stats
        self._faults = ctx.faults
        self._clock = ctx.clock
        rate = ctx.config.rate_limit
        self._bucket = TokenBucket(rate, now=ctx.clock()) if rate else None
        self._pending: Releaser[_Item] | None = None
        self._closing = False
        # True while nothing (rate limit, held replies, closing) stands in the fast path's way.
        self._plain = self._bucket is None
        self._channels: set[str] = set()
        self.transport: WSTransport | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        stats = self._stats
        stats.ws_open += 1
        stats.ws_total += 1
        self._ctx.connections.add(self)
        if self._ctx.stopping:
            self.shutdown()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._stats.ws_open -= 1
        self._closing = True
        self._plain = False
        self._ctx.connections.discard(self)
        hub = self._ctx.hub
        for channel in self._channels:
            hub.unsubscribe(channel, self)
        self._channels.clear()
        if self._pending is not None:
            self._pending.cancel()

    def shutdown(self) -> None:
        """Server is stopping: say goodbye with 1001 (going away)."""
        if self._pending is not None:
            self._pending.cancel()
        self._close(1001, "server shutting down")

    def pause_writing(self) -> None:
        """The client is not reading its replies: stop reading its requests until it catches up,
        so a slow consumer cannot make the server buffer without bound."""
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.underlying_transport.pause_reading()

    def resume_writing(self) -> None:
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.underlying_transport.resume_reading()

    # -- frames ----------------------------------------------------------------------------
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self._stats.frames_in += 1
        msg_type = frame.msg_type
        if msg_type is _CLOSE or msg_type is _PING or msg_type is _PONG:
            self._control(transport, frame, msg_type)
            return
        self._data_frame(frame, msg_type)

    def _data_frame(self, frame: WSFrame, msg_type: WSMsgType) -> None:
        """The general path for one data frame (the fast path in subclasses defers to it)."""
        fin = frame.fin
        if fin:
            self._stats.messages_in += 1
        if self._closing:
            return
        if fin and self._bucket is not None and not self._bucket.try_acquire(self._clock()):
            self._rate_limited()
            return
        items = self._interpret(frame, msg_type)
        if fin:
            self._dispatch(items)
        else:
            # A fragment of a longer message: faults are decided once, on its final frame.
            self._send_in_order(items)

    def _interpret(self, frame: WSFrame, msg_type: WSMsgType) -> list[_Item]:
        """Default: echo the frame unchanged."""
        return [(msg_type, frame.get_payload_as_bytes(), frame.fin, 0)]

    def _control(self, transport: WSTransport, frame: WSFrame, msg_type: WSMsgType) -> None:
        if msg_type is _PING:
            if not self._closing:
                transport.send_pong(frame.get_payload_as_bytes())
                self._stats.frames_out += 1
        elif msg_type is _CLOSE:
            if self._pending is not None:
                self._pending.cancel()
            if not self._closing:
                self._closing = True
                self._plain = False
                code = frame.get_close_code()
                transport.send_close(WSCloseCode.OK if code == WSCloseCode.NO_INFO else code)
                self._stats.frames_out += 1
            transport.disconnect()
        # PONG: nothing to do; auto-ping is off on the server side.

    # -- sending ---------------------------------------------------------------------------
    def _dispatch(self, items: list[_Item]) -> None:
        """Apply faults to one message's replies, then send them now or hold them in order."""
        pending = self._pending
        if pending is not None and not pending:
            self._pending = pending = None
            self._plain = self._bucket is None and not self._closing
        faults = self._faults
        if faults.active:
            now = self._clock()
            decision = faults.decide(now)
            stats = self._stats
            if decision.action is Action.RESET:
                stats.faults_reset += 1
                self._reset()
                return
            if decision.action is Action.DROP:
                stats.faults_drop += 1
                items = [item for item in items if item[0] is None]  # a requested close still happens
                if not items:
                    return
            if decision.stalled:
                stats.faults_stall += 1
            if decision.slowed:
                stats.faults_slow += 1
            if decision.release_at > now or pending is not None:
                self._hold(items, decision.release_at)
                return
        elif pending is not None:
            self._hold(items, 0.0)
            return
        for item in items:
            self._emit(item)

    def _send_in_order(self, items: list[_Item]) -> None:
        if self._pending:
            self._hold(items, 0.0)
        else:
            for item in items:
                self._emit(item)

    def _hold(self, items: list[_Item], release_at: float) -> None:
        pending = self._pending
        if pending is None:
            pending = self._pending = Releaser(self._emit, clock=self._clock)
            self._plain = False
        for item in items:
            pending.push(release_at, item)

    def _emit(self, item: _Item) -> None:
        transport = self.transport
        if transport is None or self._closing:
            return
        msg_type, payload, fin, code = item
        if msg_type is None:
            self._close(code, "")
            return
        transport.send(msg_type, payload, fin)
        stats = self._stats
        stats.frames_out += 1
        if fin:
            stats.messages_out += 1

    def deliver(self, payload: bytes) -> None:
        """A broadcast for a channel this client joined; broadcasts are not subject to faults."""
        transport = self.transport
        if transport is None or self._closing:
            return
        transport.send(_TEXT, payload)
        stats = self._stats
        stats.frames_out += 1
        stats.messages_out += 1

    # -- endings ---------------------------------------------------------------------------
    def _close(self, code: int, reason: str) -> None:
        transport = self.transport
        if transport is None or self._closing:
            return
        self._closing = True
        self._plain = False
        if not transport.is_disconnected:
            transport.send_close(_close_code(code), reason.encode() if reason else None)
            self._stats.frames_out += 1
        # Wait for the client's CLOSE (see _control), but not forever.
        asyncio.get_running_loop().call_later(_CLOSE_GRACE_SECONDS, transport.disconnect)

    def _rate_limited(self) -> None:
        self._stats.rate_limited_ws += 1
        if self._pending is not None:
            self._pending.cancel()
        self._close(1008, "rate limit exceeded")

    def _reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), the way a crashed peer or a middlebox would."""
        transport = self.transport
        if transport is None:
            return
        self._closing = True
        self._plain = False
        if self._pending is not None:
            self._pending.cancel()
        abort_with_reset(transport.underlying_transport)

    # -- channels --------------------------------------------------------------------------
    def _apply(self, outcome: Outcome) -> list[_Item]:
        """Carry out an outcome's side effects now; return its replies for _dispatch."""
        hub = self._ctx.hub
        if outcome.subscribe is not None:
            hub.subscribe(outcome.subscribe, self)
            self._channels.add(outcome.subscribe)
        if outcome.unsubscribe is not None:
            hub.unsubscribe(outcome.unsubscribe, self)
            self._channels.discard(outcome.unsubscribe)
        if outcome.publish is not None:
            channel, data = outcome.publish
            if hub.publish(channel, data, now_ms()):
                self._stats.broadcasts += 1
        items: list[_Item] = [(_TEXT, reply, True, 0) for reply in outcome.replies]
        if outcome.close_code is not None:
            items.append((None, b"", True, outcome.close_code))
        return items


class ProtocolListener(SessionListener):
    """``/ws``: seed 003's JSON commands, and an echo of every other frame."""

    __slots__ = ()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if (msg_type is _BINARY or msg_type is _TEXT) and frame.fin and self._plain and not self._faults.active:
            # Fast path: no rate limit, no fault, nothing held, so nothing can delay, drop or
            # refuse this message. One counter increment stands for in and out (Stats.echoed).
            if msg_type is _BINARY:
                transport.send(_BINARY, frame.get_payload_as_memoryview())
                self._stats.echoed += 1
                return
            payload = frame.get_payload_as_bytes()
            outcome = handle_text(payload)  # starts with a cheap test, JSON-parses only candidates
            if outcome is not None:
                stats = self._stats
                stats.frames_in += 1
                stats.messages_in += 1
                self._dispatch(self._apply(outcome))
                return
            transport.send(_TEXT, payload)
            self._stats.echoed += 1
            return
        SessionListener.on_ws_frame(self, transport, frame)

    def _interpret(self, frame: WSFrame, msg_type: WSMsgType) -> list[_Item]:
        payload = frame.get_payload_as_bytes()
        fin = frame.fin
        if msg_type is _TEXT and fin:
            outcome = handle_text(payload)
            if outcome is not None:
                return self._apply(outcome)
        return [(msg_type, payload, fin, 0)]


class MobileSyncListener(SessionListener):
    """``/ws/mobile/sync/?device_id=..`` (seed 002): every JSON payload is acknowledged."""

    __slots__ = ("device_id",)

    def __init__(self, ctx: TargetContext, device_id: str) -> None:
        super().__init__(ctx)
        self.device_id = device_id

    def _interpret(self, frame: WSFrame, msg_type: WSMsgType) -> list[_Item]:
        payload = frame.get_payload_as_bytes()
        fin = frame.fin
        if fin and msg_type != WSMsgType.CONTINUATION:
            ack = mobile_ack(payload, self.device_id, now_ms())
            if ack is not None:
                return [(_TEXT, ack, True, 0)]
        return [(msg_type, payload, fin, 0)]
