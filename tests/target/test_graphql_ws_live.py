"""graphql-transport-ws at /graphql over real sockets: handshake, queries, subscriptions, close codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _target_client import SECRET, WSClient, http_json, http_request, run
from picows import WSHandshakeError, WSMsgType

from streamtestbench.auth.jwt import mint_token
from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration

PROTOCOL = {"Sec-WebSocket-Protocol": "graphql-transport-ws"}


def graphql_url(target: TargetProcess) -> str:
    return f"ws://{target.host}:{target.port}/graphql"


async def connected(target: TargetProcess, headers: dict[str, str] | None = None) -> WSClient:
    ws = await WSClient.connect(graphql_url(target), {**PROTOCOL, **(headers or {})})
    ws.send_json({"type": "connection_init", "payload": {}})
    assert await ws.recv_json() == {"type": "connection_ack"}
    return ws


def subscribe(ws: WSClient, sub_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    ws.send_json({"id": sub_id, "type": "subscribe", "payload": payload})


async def closed_with(ws: WSClient) -> int | None:
    got = await ws.recv()
    assert got.msg_type == WSMsgType.CLOSE, got
    return int(got.close_code) if got.close_code is not None else None


def test_subprotocol_is_selected_and_ping_answered(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await connected(target)
        assert ws.transport.response.headers["Sec-WebSocket-Protocol"] == "graphql-transport-ws"
        ws.send_json({"type": "ping"})
        assert await ws.recv_json() == {"type": "pong"}
        ws.send_json({"type": "ping", "payload": {"t": 1}})
        assert await ws.recv_json() == {"type": "pong", "payload": {"t": 1}}
        ws.send_json({"type": "pong"})
        assert await ws.nothing_for(0.1)
        await ws.close()

    run(scenario())


def test_query_and_mutation_answer_next_then_complete(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await connected(target)
        subscribe(ws, "q1", "query($n: Int) { users(pagination: {first: $n}) { nodes { id } } }", {"n": 2})
        assert await ws.recv_json() == {"id": "q1", "type": "next",
                                        "payload": {"data": {"users": {"nodes": [{"id": "1"}, {"id": "2"}]}}}}
        assert await ws.recv_json() == {"id": "q1", "type": "complete"}
        subscribe(ws, "q2", "{ users { nope } }")
        error = await ws.recv_json()
        assert error["id"] == "q2" and error["type"] == "error"
        assert error["payload"][0]["message"] == 'Cannot query field "nope" on type "UserConnection".'
        await ws.close()

    run(scenario())


def test_tick_subscription_streams_then_completes(target: TargetProcess) -> None:
    async def scenario() -> None:
        before = http_json(target.port, "GET", "/stats")["api"]
        ws = await connected(target)
        subscribe(ws, "t", "subscription { tick(intervalMs: 20, count: 3) { seq timestamp epochMs } }")
        seqs = []
        for _ in range(3):
            event = await ws.recv_json()
            assert event["id"] == "t" and event["type"] == "next"
            tick = event["payload"]["data"]["tick"]
            assert tick["timestamp"].endswith("Z") and tick["epochMs"] > 1.7e12
            seqs.append(tick["seq"])
        assert seqs == [1, 2, 3]
        assert await ws.recv_json() == {"id": "t", "type": "complete"}
        stats = http_json(target.port, "GET", "/stats")["api"]
        assert stats["graphqlEvents"] - before["graphqlEvents"] == 3
        assert stats["graphql"] - before["graphql"] == 1
        subscribe(ws, "bad", "subscription { tick(intervalMs: 0) { seq } }")
        assert (await ws.recv_json())["type"] == "error"
        await ws.close()

    run(scenario())


def test_post_created_follows_graphql_and_rest_creations_until_complete(target: TargetProcess) -> None:
    async def scenario() -> None:
        watcher = await connected(target)
        subscribe(watcher, "s", "subscription { postCreated { title author { id } } }")
        writer = await connected(target)
        subscribe(writer, "m", 'mutation { createPost(input: {title: "via graphql", authorId: 2}) { id } }')
        assert (await writer.recv_json())["type"] == "next"
        assert await watcher.recv_json() == {"id": "s", "type": "next", "payload": {
            "data": {"postCreated": {"title": "via graphql", "author": {"id": "2"}}}}}
        assert http_request(target.port, "POST", "/api/v1/posts", {"title": "via rest"})[0] == 201
        event = await watcher.recv_json()
        assert event["payload"]["data"]["postCreated"]["title"] == "via rest"
        watcher.send_json({"id": "s", "type": "complete"})
        assert await watcher.nothing_for(0.05)
        assert http_request(target.port, "POST", "/api/v1/posts", {"title": "unheard"})[0] == 201
        assert await watcher.nothing_for(0.2)
        await watcher.close()
        await writer.close()

    run(scenario())


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        ([{"id": "1", "type": "subscribe", "payload": {"query": "{ users { totalCount } }"}}], 4401),
        ([{"type": "connection_init"}, {"type": "connection_init"}], 4429),
        ([{"type": "connection_init"}, {"type": "what"}], 4400),
        ([{"type": "connection_init"}, {"id": "", "type": "subscribe", "payload": {"query": "{ a }"}}], 4400),
        ([{"type": "connection_init"}, {"id": "q", "type": "subscribe", "payload": {"query": 5}}], 4400),
        ([{"type": "connection_init"}, {"id": "q", "type": "subscribe",
                                        "payload": {"query": "{ a }", "variables": [1]}}], 4400),
        ([{"type": "connection_init"},
          {"id": "x", "type": "subscribe", "payload": {"query": "subscription { postCreated { id } }"}},
          {"id": "x", "type": "subscribe", "payload": {"query": "subscription { postCreated { id } }"}}], 4409),
    ],
)
def test_protocol_violations_close_with_their_codes(
    target: TargetProcess, messages: list[dict[str, Any]], code: int
) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(graphql_url(target), PROTOCOL)
        for message in messages:
            ws.send_json(message)
        while True:
            got = await ws.recv()
            if got.msg_type == WSMsgType.CLOSE:
                assert got.close_code == code
                break
        await ws.wait_disconnected()

    run(scenario())


def test_text_that_is_not_json_closes_4400(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await connected(target)
        ws.send_text("not json")
        assert await closed_with(ws) == 4400

    run(scenario())


@pytest.fixture(scope="module")
def auth_target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--jwt-secret", SECRET, "--broadcast-rate", "0") as process:
        yield process


def test_upgrade_needs_the_token_when_auth_is_on(auth_target: TargetProcess) -> None:
    async def scenario() -> None:
        with pytest.raises(WSHandshakeError) as info:
            await WSClient.connect(graphql_url(auth_target), PROTOCOL)
        assert info.value.response is not None and int(info.value.response.status) == 401
        token = mint_token(SECRET, {"sub": "loadtest"})
        ws = await connected(auth_target, {"Authorization": f"Bearer {token}"})
        subscribe(ws, "1", "{ user(id: 5) { name } }")
        assert (await ws.recv_json())["payload"] == {"data": {"user": {"name": "User 5"}}}
        await ws.close()

    run(scenario())
