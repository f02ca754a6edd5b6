"""A picows client connection that pairs responses with requests and measures each one.

Pairing, cheapest first: seed 003's replies by JSON ``type`` in FIFO order (ping -> pong,
subscribe -> subscribed...), ``agent_response`` by the echoed ``timestamp``, any frame
carrying a ``correlation_id`` by that id, and non-JSON frames as FIFO echoes. Broadcast
frames are measured from their server timestamp, with sequence gaps counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..engine.recording import Recorder
from .matching import SubsetMatch

CORRELATION_KEY = b'"correlation_id"'


@dataclass(slots=True)
class Pending:
    name: str
    intended_ns: int
    start_ns: int
    nbytes: int
    waiter: asyncio.Future[bool] | None
    chained: bool = False
    deadline_ns: int = 0
    duplicate: bool = False
    """An injected extra copy's place in a reply queue: its reply is absorbed, not measured."""


NextMessage = Callable[[], "tuple[bytes, str, str | None, Any] | None"]
"""A chain's source: the next (payload, metric name, reply type, correlation key), or None when done."""

SWEEP_INTERVAL_S = 0.25
RESPONSE_TIMEOUT_NS = 5_000_000_000


class MeasuredConnection(WSListener):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.transport: WSTransport | None = None
        self.by_type: dict[str, deque[Pending]] = {}
        self.by_key: dict[Any, Pending] = {}
        self.echoes: deque[Pending] = deque()
        self.open_ns = 0
        self.got_first = False
        self.closed = asyncio.get_running_loop().create_future()
        self.last_seq: dict[str, int] = {}
        self.clean_close = False
        self.inspect = False
        """True once replies may need reading (typed, keyed or pushed): until then a frame is an echo."""
        self.subset: list[tuple[SubsetMatch, Pending]] = []
        """Waiters for a message with given fields or text (an ``expect``); rare, so checked first."""
        self.chain: NextMessage | None = None
        self.chain_done: asyncio.Future[bool] | None = None
        self.stopping = False
        self.timeout_ns = RESPONSE_TIMEOUT_NS
        self._sweeper: asyncio.TimerHandle | None = None
        self.aborted = False
        """Dropped on purpose by failure injection: treat as gone even before the close is seen."""
        self.abort_error = "Connection closed"
        self.reopen_delay_s = 0.0
        """How long the client waits before reconnecting after an injected drop."""
        self.duplicate_keys: dict[Any, int] = {}
        """Keyed replies still expected for injected duplicates: absorbed, never measured."""

    # -- picows callbacks -------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.open_ns = time.monotonic_ns()

    def _sweep(self) -> None:
        """Expire unanswered messages: one timer per busy connection, none per message or idle one."""
        self._sweeper = None
        self.expire(time.monotonic_ns())
        if self.pending_count and self.transport is not None and not self.transport.is_disconnected:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_INTERVAL_S, self._sweep)

    def _arm_sweeper(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_INTERVAL_S, self._sweep)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            self.clean_close = True
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is not WSMsgType.TEXT and kind is not WSMsgType.BINARY:
            return
        now = time.monotonic_ns()
        size = frame.payload_size
        self.recorder.received(size)
        if not self.got_first:
            self.got_first = True
            self.recorder.first_message(now - self.open_ns)
        pending: Pending | None = None
        if self.subset and self._match_subset(frame.get_payload_as_bytes(), now):
            return
        if self.inspect and size and frame.get_payload_as_memoryview()[0] == 0x7B:  # '{': maybe JSON
            data = frame.get_payload_as_bytes()
            try:
                message = orjson.loads(data)
            except orjson.JSONDecodeError:
                message = None
            if isinstance(message, dict):
                kind_name = message.get("type")
                if kind_name == "broadcast":
                    self._broadcast(message, len(data))
                    return
                if CORRELATION_KEY in data and "correlation_id" in message:
                    key = ("c", message["correlation_id"])
                    pending = self.by_key.pop(key, None)
                    if pending is None and self.duplicate_keys and self._absorb_duplicate(key):
                        return
                elif kind_name == "agent_response":
                    key = ("t", message.get("timestamp"))
                    pending = self.by_key.pop(key, None)
                    if pending is None and self.duplicate_keys and self._absorb_duplicate(key):
                        return
                elif isinstance(kind_name, str):
                    queue = self.by_type.get(kind_name)
                    if queue:
                        pending = queue.popleft()
        if pending is None and self.echoes:
            pending = self.echoes.popleft()
        if pending is not None:
            if pending.duplicate:
                return
            self.recorder.message(pending.name, pending.intended_ns, pending.start_ns, now, pending.nbytes)
            if pending.chained:
                self._advance_chain(now)
            elif pending.waiter is not None and not pending.waiter.done():
                pending.waiter.set_result(True)

    def _match_subset(self, data: bytes, now: int) -> bool:
        message: Any = None
        if data[:1] == b"{":
            try:
                message = orjson.loads(data)
            except orjson.JSONDecodeError:
                message = None
        parsed = message if isinstance(message, dict) else None
        if parsed is not None and parsed.get("type") == "broadcast" \
                and not any(m.wants_broadcasts for m, _ in self.subset):
            return False
        for index, (matcher, pending) in enumerate(self.subset):
            if matcher.accepts(data, parsed):
                del self.subset[index]
                self.recorder.message(pending.name, pending.intended_ns, pending.start_ns, now, pending.nbytes)
                if pending.waiter is not None and not pending.waiter.done():
                    pending.waiter.set_result(True)
                return True
        return False

    # -- chains: closed-loop sends driven from the frame callback --------------------------
    def start_chain(self, next_message: NextMessage, intended_ns: int, done: asyncio.Future[bool]) -> None:
        """Send messages back to back, each as soon as the previous one is answered.

        The next message leaves from inside the receive callback, with no task switch or
        timer per message: the hot path of a closed-loop flow.
        """
        self.chain = next_message
        self.chain_done = done
        self._advance_chain(intended_ns)

    def _advance_chain(self, intended_ns: int) -> None:
        chain = self.chain
        message = None if chain is None or self.stopping else chain()
        if message is None:
            self._end_chain(True)
            return
        payload, name, reply_type, key = message
        self.send(payload, name, intended_ns, reply_type, key, None, chained=True)

    def _end_chain(self, result: bool) -> None:
        done = self.chain_done
        self.chain = None
        self.chain_done = None
        if done is not None and not done.done():
            done.set_result(result)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.chain = None
        self.fail_pending(self.abort_error)
        self._end_chain(False)
        self.recorder.connection_closed(None if self.clean_close or self._closing else "Connection reset")
        if not self.closed.done():
            self.closed.set_result(None)

    _closing = False

    # -- measurement ------------------------------------------------------------------
    def _broadcast(self, message: dict[str, Any], nbytes: int) -> None:
        channel = str(message.get("channel", ""))
        seq = message.get("seq")
        stamp = message.get("ts")
        latency = int((time.time() * 1000 - float(stamp)) * 1e6) if isinstance(stamp, int | float) else 0
        gap, reordered = 0, False
        if isinstance(seq, int):
            last = self.last_seq.get(channel)
            if last is not None:
                if seq > last + 1:
                    gap = seq - last - 1
                elif seq <= last:
                    reordered = True
            if last is None or seq > last:
                self.last_seq[channel] = seq
        self.recorder.push("ws.broadcast", latency, nbytes, gap, reordered)

    def fail_pending(self, error: str) -> None:
        now = time.monotonic_ns()
        entries = [p for queue in self.by_type.values() for p in queue] + list(self.by_key.values()) \
            + list(self.echoes) + [p for _, p in self.subset]
        self.subset.clear()
        self.by_type.clear()
        self.by_key.clear()
        self.echoes.clear()
        for pending in entries:
            if pending.duplicate:
                continue
            self.recorder.message(pending.name, pending.intended_ns, pending.start_ns, now, pending.nbytes, error)
            if pending.waiter is not None and not pending.waiter.done():
                pending.waiter.set_result(False)

    def expire(self, moment_ns: int, error: str = "Response timeout") -> None:
        """Record a timeout for every pending message whose deadline is at or before ``moment_ns``."""
        now = time.monotonic_ns()
        for queue in self.by_type.values():
            while queue and queue[0].deadline_ns <= moment_ns:
                self._fail(queue.popleft(), now, error)
        while self.echoes and self.echoes[0].deadline_ns <= moment_ns:
            self._fail(self.echoes.popleft(), now, error)
        for key in [k for k, p in self.by_key.items() if p.deadline_ns <= moment_ns]:
            self._fail(self.by_key.pop(key), now, error)
        if self.subset:
            expired = [entry for entry in self.subset if entry[1].deadline_ns <= moment_ns]
            self.subset = [entry for entry in self.subset if entry[1].deadline_ns > moment_ns]
            for _, pending in expired:
                self._fail(pending, now, error)

    def expire_all(self, error: str = "Response timeout") -> None:
        self.expire(2**62, error)

    def _fail(self, pending: Pending, now: int, error: str) -> None:
        if pending.duplicate:
            return
        self.recorder.message(pending.name, pending.intended_ns, pending.start_ns, now, pending.nbytes, error)
        if pending.chained:
            self._advance_chain(now)
        elif pending.waiter is not None and not pending.waiter.done():
            pending.waiter.set_result(False)

    def await_match(self, matcher: SubsetMatch, name: str, waiter: asyncio.Future[bool], timeout_ns: int,
                    intended_ns: int | None = None, start_ns: int | None = None, nbytes: int = 0) -> None:
        """Wait for the next message ``matcher`` accepts (an expect step, or a send's explicit expect)."""
        now = time.monotonic_ns()
        start = start_ns or now
        self.inspect = True
        self.subset.append((matcher, Pending(name, intended_ns or start, start, nbytes, waiter,
                                             deadline_ns=start + timeout_ns)))
        self._arm_sweeper()

    @property
    def pending_count(self) -> int:
        return sum(len(q) for q in self.by_type.values()) + len(self.by_key) + len(self.echoes) + len(self.subset)

    # -- sending ----------------------------------------------------------------------
    def send(self, payload: bytes, name: str, intended_ns: int, reply_type: str | None, key: Any,
             waiter: asyncio.Future[bool] | None, text: bool = True, chained: bool = False) -> None:
        """Send ``payload`` and register what answers it: a reply type, a key, or an echo."""
        transport = self.transport
        if transport is None or transport.is_disconnected or self.aborted:
            now = time.monotonic_ns()
            self.recorder.message(name, intended_ns, now, now, len(payload), self.abort_error)
            if waiter is not None and not waiter.done():
                waiter.set_result(False)
            if chained:
                self._end_chain(False)
            return
        start = time.monotonic_ns()
        pending = Pending(name, intended_ns, start, len(payload), waiter, chained, start + self.timeout_ns)
        if key is not None:
            self.inspect = True
            self.by_key[key] = pending
        elif reply_type is not None:
            self.inspect = True
            self.by_type.setdefault(reply_type, deque()).append(pending)
        else:
            self.echoes.append(pending)
        if self._sweeper is None:
            self._arm_sweeper()
        transport.send(WSMsgType.TEXT if text else WSMsgType.BINARY, payload)
        self.recorder.sent(len(payload))

    def send_untracked(self, payload: bytes, text: bool = True) -> None:
        """Send without registering a reply (the caller registered its own matcher)."""
        self.inspect = True
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send(WSMsgType.TEXT if text else WSMsgType.BINARY, payload)
            self.recorder.sent(len(payload))

    def send_duplicate(self, payload: bytes, reply_type: str | None, key: Any, text: bool = True) -> None:
        """Send an injected extra copy of a message just sent; its reply is absorbed, not measured.

        A keyed reply is recognised by its key; a typed reply or an echo by a placeholder that holds
        the copy's place in the FIFO queue, so later replies still pair with the right messages.
        """
        transport = self.transport
        if transport is None or transport.is_disconnected or self.aborted:
            return
        if key is not None:
            self.duplicate_keys[key] = self.duplicate_keys.get(key, 0) + 1
        else:
            now = time.monotonic_ns()
            placeholder = Pending("", now, now, len(payload), None, deadline_ns=now + self.timeout_ns, duplicate=True)
            if reply_type is not None:
                self.by_type.setdefault(reply_type, deque()).append(placeholder)
            else:
                self.echoes.append(placeholder)
        transport.send(WSMsgType.TEXT if text else WSMsgType.BINARY, payload)
        self.recorder.sent(len(payload))

    def _absorb_duplicate(self, key: Any) -> bool:
        left = self.duplicate_keys.get(key)
        if left is None:
            return False
        if left > 1:
            self.duplicate_keys[key] = left - 1
        else:
            del self.duplicate_keys[key]
        return True

    def abort(self, error: str, reopen_delay_s: float = 0.0) -> None:
        """Drop the connection abruptly (TCP reset, no close handshake), as a network failure would.

        Messages in flight fail with ``error``, so they are told apart from the server's failures;
        the close itself is not an error (the client caused it and counts it).
        """
        transport = self.transport
        self.aborted = True
        self.abort_error = error
        self.reopen_delay_s = reopen_delay_s
        if transport is None or transport.is_disconnected:
            return
        self._closing = True
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.disconnect()

    @property
    def gone(self) -> bool:
        """Closed, or dropped on purpose and about to be."""
        return self.aborted or self.closed.done()

    def close(self, code: int = 1000) -> None:
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            self._closing = True
            transport.send_close(WSCloseCode(code))
            transport.disconnect()


def error_kind(error: BaseException) -> str:
    """A person's name for a connection failure."""
    text = str(error)
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return "Connection timeout"
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(error, ConnectionResetError):
        return "Connection reset"
    if "status" in text.lower() or "handshake" in text.lower() or "upgrade" in text.lower():
        status = getattr(getattr(error, "response", None), "status", None)
        return f"Handshake failed: {int(status)}" if status is not None else "Handshake failed"
    if isinstance(error, OSError) and error.errno in (-2, -3, -5):
        return "DNS failure"
    return type(error).__name__


IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def source_socket_factory(host: str) -> Callable[[Any], socket.socket]:
    """Sockets bound to ``host`` whose port the kernel picks at connect time, not at bind time.

    Binding (host, 0) first makes the kernel search a free port per source address without knowing
    the destination, which slows to a crawl past ~20k connections; IP_BIND_ADDRESS_NO_PORT defers it.
    """
    def make(_url: Any) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((host, 0))
        except OSError:
            sock.close()
            raise
        return sock

    return make


HANDSHAKES_IN_FLIGHT = 256
"""Opening more at once only queues them in the kernel and the target, inflating connect times."""


async def open_connection(url: str, headers: dict[str, str], timeout_s: float, recorder: Recorder,
                          local_host: str | None = None,
                          gate: asyncio.Semaphore | None = None) -> MeasuredConnection | None:
    """Connect and upgrade; failures are recorded with their kind and give None."""
    if gate is None:
        return await _open(url, headers, timeout_s, recorder, local_host)
    async with gate:
        return await _open(url, headers, timeout_s, recorder, local_host)


_LOGGER = logging.getLogger("streamtestbench.ws")
"""Handed to picows once, so it does not look a logger up for every connection."""


async def _open(url: str, headers: dict[str, str], timeout_s: float, recorder: Recorder,
                local_host: str | None) -> MeasuredConnection | None:
    recorder.connection_attempt()
    started = time.monotonic_ns()
    listener: MeasuredConnection | None = None

    def factory() -> MeasuredConnection:
        nonlocal listener
        listener = MeasuredConnection(recorder)
        return listener

    try:
        extra: dict[str, Any] = {"socket_factory": source_socket_factory(local_host)} if local_host else {}
        # picows bounds the handshake itself; a loopback TCP connect succeeds or is refused at once,
        # so no timer or task of our own per connection.
        await ws_connect(factory, url, extra_headers=headers or None, read_buffer_init_size=1024,
                         logger_name=_LOGGER, websocket_handshake_timeout=timeout_s, **extra)
    except Exception as error:
        recorder.connection_failed(error_kind(error))
        return None
    recorder.connection_open(time.monotonic_ns() - started)
    assert listener is not None
    return listener
