"""graphql-transport-ws: the client state machine, and the picows listener against a loopback server."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from streamtestbench.protocols.graphql_ws import (
    PONG,
    Acknowledged,
    Completed,
    Event,
    GraphQLWsClient,
    GraphQLWsProtocolError,
    Next,
    Pinged,
    Ponged,
    SubscriptionError,
    connect,
)
from tests.protocols.graphql_ws_server import Script, graphql_ws_server


def acknowledged_client() -> GraphQLWsClient:
    client = GraphQLWsClient()
    client.connection_init()
    client.receive(b'{"type":"connection_ack"}')
    return client


def test_connection_init_carries_the_payload() -> None:
    client = GraphQLWsClient()
    assert orjson.loads(client.connection_init({"Authorization": "Bearer t"})) == {
        "type": "connection_init", "payload": {"Authorization": "Bearer t"}}
    with pytest.raises(RuntimeError):
        client.connection_init()


def test_subscribe_waits_for_the_ack_and_numbers_operations() -> None:
    client = GraphQLWsClient()
    client.connection_init()
    with pytest.raises(RuntimeError, match="before connection_ack"):
        client.subscribe("subscription { tick }")
    assert client.receive('{"type":"connection_ack","payload":{"v":1}}') == Acknowledged({"v": 1})
    first, message = client.subscribe("subscription S($n: Int) { tick(n: $n) }", {"n": 2}, "S")
    second, _ = client.subscribe("subscription { tick }")
    assert (first, second) == ("1", "2")
    assert orjson.loads(message) == {"id": "1", "type": "subscribe", "payload": {
        "query": "subscription S($n: Int) { tick(n: $n) }", "variables": {"n": 2}, "operationName": "S"}}
    assert client.active == {"1", "2"}


def test_a_full_sequence_of_next_error_and_complete() -> None:
    client = acknowledged_client()
    one, _ = client.subscribe("subscription { a }")
    two, _ = client.subscribe("subscription { b }")
    assert client.receive(b'{"id":"1","type":"next","payload":{"data":{"a":1}}}') == Next(one, {"data": {"a": 1}})
    assert client.receive(b'{"id":"2","type":"error","payload":[{"message":"no"}]}') == SubscriptionError(
        two, [{"message": "no"}])
    assert client.receive(b'{"id":"1","type":"complete"}') == Completed(one)
    assert client.active == frozenset()


def test_pings_are_answered_and_pongs_reported() -> None:
    client = acknowledged_client()
    assert client.receive(b'{"type":"ping","payload":{"t":1}}') == Pinged({"t": 1}, PONG)
    assert orjson.loads(PONG) == {"type": "pong"}
    assert client.receive(b'{"type":"pong"}') == Ponged(None)


def test_messages_for_a_completed_operation_are_ignored() -> None:
    client = acknowledged_client()
    operation_id, _ = client.subscribe("subscription { a }")
    assert orjson.loads(client.complete(operation_id)) == {"id": "1", "type": "complete"}
    assert client.receive(b'{"id":"1","type":"next","payload":{"data":{}}}') is None


@pytest.mark.parametrize(("frame", "problem"), [
    (b"not json", "not JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"type":"mystery"}', "unknown message type"),
    (b'{"type":"connection_ack"}', "unexpected connection_ack"),
    (b'{"type":"next","payload":{}}', "without an id"),
    (b'{"id":"9","type":"next","payload":{}}', "unknown operation id"),
    (b'{"id":"1","type":"next","payload":"x"}', "execution result"),
    (b'{"id":"1","type":"error","payload":{"message":"x"}}', "list of errors"),
])
def test_malformed_frames_are_named_protocol_errors(frame: bytes, problem: str) -> None:
    client = acknowledged_client()
    client.subscribe("subscription { a }")
    with pytest.raises(GraphQLWsProtocolError, match=problem):
        client.receive(frame)


def test_operation_messages_before_the_ack_are_protocol_errors() -> None:
    client = GraphQLWsClient()
    client.connection_init()
    with pytest.raises(GraphQLWsProtocolError, match="before connection_ack"):
        client.receive(b'{"id":"1","type":"next","payload":{}}')


def test_an_ack_without_an_init_is_a_protocol_error() -> None:
    with pytest.raises(GraphQLWsProtocolError, match="unexpected connection_ack"):
        GraphQLWsClient().receive(b'{"type":"connection_ack"}')


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.errors: list[str] = []
        self.changed = asyncio.Event()

    def on_event(self, event: Event, nbytes: int) -> None:
        assert nbytes > 0
        self.events.append(event)
        self.changed.set()

    def on_error(self, error: GraphQLWsProtocolError) -> None:
        self.errors.append(str(error))
        self.changed.set()

    async def until(self, predicate: Any) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


def test_the_listener_runs_the_whole_sequence_against_a_server() -> None:
    script = Script(token="Bearer t", ping_after_ack=True, events=2)

    async def scenario() -> Collected:
        collected = Collected()
        async with graphql_ws_server(script) as url:
            listener = await connect(url, {"X-Trace": "1"}, 5, collected.on_event, collected.on_error)
            listener.send(listener.client.connection_init({"Authorization": "Bearer t"}))
            await collected.until(lambda: any(isinstance(e, Pinged) for e in collected.events))
            _, subscribe = listener.client.subscribe("subscription { ticked }")
            listener.send(subscribe)
            await collected.until(lambda: any(isinstance(e, Completed) for e in collected.events))
            listener.close()
            await asyncio.wait_for(listener.closed, 5)
        return collected

    collected = asyncio.run(scenario())
    assert [type(e) for e in collected.events] == [Acknowledged, Pinged, Next, Next, Completed]
    assert [e.payload for e in collected.events if isinstance(e, Next)] == [{"data": {"ticked": 1}},
                                                                          {"data": {"ticked": 2}}]
    assert {"type": "pong"} in script.received
    assert script.upgrade_headers[0]["sec-websocket-protocol"] == "graphql-transport-ws"
    assert script.upgrade_headers[0]["x-trace"] == "1"
    assert collected.errors == []


def test_a_malformed_frame_closes_the_socket_with_4400() -> None:
    script = Script(raw_after_subscribe=b"{broken")

    async def scenario() -> Collected:
        collected = Collected()
        async with graphql_ws_server(script) as url:
            listener = await connect(url, {}, 5, collected.on_event, collected.on_error)
            listener.send(listener.client.connection_init())
            await collected.until(lambda: collected.events)
            listener.send(listener.client.subscribe("subscription { a }")[1])
            await asyncio.wait_for(listener.closed, 5)
        return collected

    collected = asyncio.run(scenario())
    assert collected.errors == ["a frame that is not JSON"]
    assert script.close_codes == [4400]


def test_a_binary_frame_is_a_protocol_error() -> None:
    script = Script(binary_after_subscribe=True)

    async def scenario() -> Collected:
        collected = Collected()
        async with graphql_ws_server(script) as url:
            listener = await connect(url, {}, 5, collected.on_event, collected.on_error)
            listener.send(listener.client.connection_init())
            await collected.until(lambda: collected.events)
            listener.send(listener.client.subscribe("subscription { a }")[1])
            await asyncio.wait_for(listener.closed, 5)
        return collected

    assert asyncio.run(scenario()).errors == ["a binary frame (the protocol sends text only)"]


def test_a_server_close_is_reported_with_its_code() -> None:
    script = Script(token="right")

    async def scenario() -> int | None:
        collected = Collected()
        async with graphql_ws_server(script) as url:
            listener = await connect(url, {}, 5, collected.on_event, collected.on_error)
            listener.send(listener.client.connection_init({"Authorization": "wrong"}))
            await asyncio.wait_for(listener.closed, 5)
        return listener.close_code

    assert asyncio.run(scenario()) == 4403
