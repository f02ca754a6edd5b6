"""The graphql-transport-ws listener with a fake picows transport: timers, streams and clean-up."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from picows import WSMsgType

from streamtestbench.target import graphql_ws
from streamtestbench.target.config import TargetConfig
from streamtestbench.target.context import TargetContext
from streamtestbench.target.graphql_ws import GraphQLWSListener
from streamtestbench.target.http_types import Request


@dataclass
class FakeFrame:
    payload: bytes
    msg_type: WSMsgType = WSMsgType.TEXT
    fin: bool = True

    def get_payload_as_bytes(self) -> bytes:
        return self.payload


@dataclass
class FakeTransport:
    sent: list[Any] = field(default_factory=list)
    closes: list[tuple[int, bytes | None]] = field(default_factory=list)
    is_disconnected: bool = False

    def send(self, msg_type: WSMsgType, payload: bytes, fin: bool = True) -> None:
        self.sent.append(json.loads(payload))

    def send_close(self, code: int, reason: bytes | None = None) -> None:
        self.closes.append((int(code), reason))

    def disconnect(self) -> None:
        self.is_disconnected = True


def make() -> tuple[TargetContext, GraphQLWSListener, FakeTransport]:
    ctx = TargetContext(TargetConfig(jwt_secret="graphql-ws-unit-test-secret-long-enough"))
    listener = GraphQLWSListener(ctx)
    transport = FakeTransport()
    listener.on_ws_connected(transport)  # type: ignore[arg-type]
    return ctx, listener, transport


def feed(listener: GraphQLWSListener, transport: FakeTransport, message: Any) -> None:
    listener.on_ws_frame(transport, FakeFrame(json.dumps(message).encode()))  # type: ignore[arg-type]


def test_no_connection_init_in_time_closes_4408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graphql_ws, "INIT_TIMEOUT_SECONDS", 0.01)

    async def scenario() -> None:
        _, _silent, silent_transport = make()
        _, polite, polite_transport = make()
        feed(polite, polite_transport, {"type": "connection_init"})
        await asyncio.sleep(0.05)
        assert silent_transport.closes == [(4408, b"Connection initialisation timeout")]
        assert polite_transport.closes == [] and polite_transport.sent == [{"type": "connection_ack"}]

    asyncio.run(scenario())


def test_disconnect_stops_every_stream() -> None:
    async def scenario() -> None:
        ctx, listener, transport = make()
        feed(listener, transport, {"type": "connection_init"})
        feed(listener, transport, {"id": "p", "type": "subscribe",
                                   "payload": {"query": "subscription { postCreated { id } }"}})
        feed(listener, transport, {"id": "t", "type": "subscribe",
                                   "payload": {"query": "subscription { tick(intervalMs: 10, count: 50) { seq } }"}})
        assert len(ctx.data.posts.listeners) == 1
        await asyncio.sleep(0.035)
        listener.on_ws_disconnected(transport)  # type: ignore[arg-type]
        ticks = len(transport.sent)
        assert ctx.data.posts.listeners == []
        await asyncio.sleep(0.05)
        assert len(transport.sent) == ticks  # no tick after the disconnect

    asyncio.run(scenario())


def test_complete_from_the_client_stops_one_stream() -> None:
    async def scenario() -> None:
        ctx, listener, transport = make()
        feed(listener, transport, {"type": "connection_init"})
        for sub_id in ("a", "b"):
            feed(listener, transport, {"id": sub_id, "type": "subscribe",
                                       "payload": {"query": "subscription { postCreated { title } }"}})
        feed(listener, transport, {"id": "a", "type": "complete"})
        ctx.data.posts.create({"title": "one"}, 0)
        event = {"id": "b", "type": "next", "payload": {"data": {"postCreated": {"title": "one"}}}}
        assert transport.sent[1:] == [event]
        # the id is free again
        feed(listener, transport, {"id": "a", "type": "subscribe",
                                   "payload": {"query": "subscription { postCreated { title } }"}})
        assert transport.closes == []

    asyncio.run(scenario())


def test_binary_frames_are_invalid_messages() -> None:
    async def scenario() -> None:
        _, listener, transport = make()
        listener.on_ws_frame(transport, FakeFrame(b"{}", WSMsgType.BINARY))  # type: ignore[arg-type]
        assert transport.closes == [(4400, b"Invalid message received")]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("offered", "selected"),
    [("graphql-transport-ws", "graphql-transport-ws"), ("graphql-ws, graphql-transport-ws", "graphql-transport-ws"),
     ("graphql-ws", None), (None, None)],
)
def test_upgrade_selects_the_subprotocol_only_when_offered(offered: str | None, selected: str | None) -> None:
    headers = {"sec-websocket-protocol": offered} if offered else {}
    answer = graphql_ws.upgrade(Request("GET", "/graphql", headers), TargetContext(TargetConfig(jwt_secret="s" * 32)))
    assert answer.response.status == 101 and isinstance(answer.listener, GraphQLWSListener)
    assert answer.response.headers.get("Sec-WebSocket-Protocol") == selected
