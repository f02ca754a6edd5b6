"""Injected duplicates and drops on the measured connection, fed frames by hand (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from picows import WSMsgType

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.faults import DROP_ERROR
from streamtestbench.protocols.websocket import MeasuredConnection


class Frame:
    """The part of a picows frame the connection reads."""

    def __init__(self, payload: bytes) -> None:
        self.msg_type = WSMsgType.TEXT
        self.payload = payload
        self.payload_size = len(payload)

    def get_payload_as_bytes(self) -> bytes:
        return self.payload

    def get_payload_as_memoryview(self) -> memoryview:
        return memoryview(self.payload)


class Transport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.is_disconnected = False
        self.underlying_transport = self

    def send(self, kind: Any, payload: bytes) -> None:
        self.sent.append(payload)

    def get_extra_info(self, name: str) -> None:
        return None

    def disconnect(self) -> None:
        self.is_disconnected = True


class Recorder(NullRecorder):
    def __init__(self) -> None:
        self.messages: list[tuple[str, str | None]] = []
        self.closes: list[str | None] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.messages.append((name, error))

    def connection_closed(self, error: str | None = None) -> None:
        self.closes.append(error)


def _with_connection(body: Callable[[MeasuredConnection, Transport, Recorder], None]) -> Recorder:
    async def scenario() -> Recorder:
        recorder = Recorder()
        conn = MeasuredConnection(recorder)
        transport = Transport()
        conn.transport = transport  # type: ignore[assignment]
        body(conn, transport, recorder)
        return recorder

    return asyncio.run(scenario())


def _feed(conn: MeasuredConnection, payload: bytes) -> None:
    conn.on_ws_frame(conn.transport, Frame(payload))  # type: ignore[arg-type]


def test_an_echoed_duplicate_holds_its_place_so_the_next_echo_pairs_with_its_own_message() -> None:
    def body(conn: MeasuredConnection, transport: Transport, recorder: Recorder) -> None:
        conn.send(b"first", "ws.first", 0, None, None, None)
        conn.send_duplicate(b"first", None, None)
        conn.send(b"second", "ws.second", 0, None, None, None)
        assert transport.sent == [b"first", b"first", b"second"]
        _feed(conn, b"first")
        _feed(conn, b"first")  # the copy's echo: absorbed, not taken as the answer to "second"
        assert recorder.messages == [("ws.first", None)]
        _feed(conn, b"second")
        assert recorder.messages == [("ws.first", None), ("ws.second", None)]
        assert conn.pending_count == 0

    _with_connection(body)


def test_a_keyed_duplicate_reply_is_absorbed_and_never_steals_an_echo() -> None:
    reply = orjson.dumps({"type": "metrics", "correlation_id": "1-1"})

    def body(conn: MeasuredConnection, transport: Transport, recorder: Recorder) -> None:
        conn.send(reply, "ws.metrics", 0, None, ("c", "1-1"), None)
        conn.send_duplicate(reply, None, ("c", "1-1"))
        conn.send_duplicate(reply, None, ("c", "1-1"))
        conn.send(b"plain", "ws.text", 0, None, None, None)
        for _ in range(3):
            _feed(conn, reply)
        assert recorder.messages == [("ws.metrics", None)]
        assert conn.duplicate_keys == {}
        _feed(conn, b"plain")
        assert recorder.messages == [("ws.metrics", None), ("ws.text", None)]

    _with_connection(body)


def test_a_typed_duplicate_reply_is_absorbed_in_its_queue() -> None:
    pong = orjson.dumps({"type": "pong"})

    def body(conn: MeasuredConnection, transport: Transport, recorder: Recorder) -> None:
        conn.send(b'{"type":"ping"}', "ws.ping", 0, "pong", None, None)
        conn.send_duplicate(b'{"type":"ping"}', "pong", None)
        conn.send(b'{"type":"ping","n":2}', "ws.ping2", 0, "pong", None, None)
        _feed(conn, pong)
        _feed(conn, pong)
        assert recorder.messages == [("ws.ping", None)]
        _feed(conn, pong)
        assert recorder.messages == [("ws.ping", None), ("ws.ping2", None)]

    _with_connection(body)


def test_an_abort_fails_messages_in_flight_as_injected_and_is_not_a_close_error() -> None:
    def body(conn: MeasuredConnection, transport: Transport, recorder: Recorder) -> None:
        conn.send(b"lost", "ws.text", 0, None, None, None)
        conn.send_duplicate(b"lost", None, None)
        conn.abort(DROP_ERROR, reopen_delay_s=0.25)
        assert transport.is_disconnected and conn.gone and conn.reopen_delay_s == 0.25
        conn.on_ws_disconnected(transport)  # type: ignore[arg-type]

    recorder = _with_connection(body)
    assert recorder.messages == [("ws.text", DROP_ERROR)]  # the duplicate's placeholder is not a message
    assert recorder.closes == [None]


def test_an_expired_duplicate_placeholder_is_not_a_timeout() -> None:
    def body(conn: MeasuredConnection, transport: Transport, recorder: Recorder) -> None:
        conn.send_duplicate(b"copy", None, None)
        conn.send(b"real", "ws.text", 0, None, None, None)
        conn.expire_all()

    assert _with_connection(body).messages == [("ws.text", "Response timeout")]


def test_nothing_is_written_after_an_abort_and_a_late_send_fails_as_injected() -> None:
    def body(conn: MeasuredConnection, transport: Transport, recorder: Recorder) -> None:
        transport.disconnect = lambda: None  # type: ignore[method-assign]  # the close is seen later
        conn.abort(DROP_ERROR)
        conn.send(b"late", "ws.text", 0, None, None, None)
        conn.send_duplicate(b"late", None, None)
        assert transport.sent == []

    assert _with_connection(body).messages == [("ws.text", DROP_ERROR)]
