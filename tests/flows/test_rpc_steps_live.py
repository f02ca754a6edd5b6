"""GraphQL, JSON-RPC and MCP steps against the reference target's /graphql and /mcp (with --auth)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from streamtestbench.auth.jwt import mint_token
from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.rpc_steps import RpcCall, compile_rpc_step
from streamtestbench.protocols.http_client import ConnectionPool, Connector, split_url
from streamtestbench.scenario.flow import GraphQLStep, McpStep, RpcStep
from streamtestbench.target.process import TargetProcess
from streamtestbench.templating import RenderContext

pytestmark = pytest.mark.integration

SECRET = "rpc-steps-integration-secret-long-enough-for-hs256"
T = TypeVar("T")


@pytest.fixture(scope="module")
def target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--broadcast-rate", "0", "--seed", "1", "--jwt-secret", SECRET) as process:
        yield process


@pytest.fixture(scope="module")
def auth() -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(SECRET, {"sub": "rpc-steps"})}


def ctx(vu: int = 3) -> RenderContext:
    return RenderContext(vu=vu, iteration=0, rng=random.Random(1))


def run(target: TargetProcess, body: Callable[[ConnectionPool], Awaitable[T]]) -> T:
    async def scenario() -> T:
        pool = ConnectionPool(Connector(NullRecorder()), split_url(target.url)[0])
        try:
            async with asyncio.timeout(15):
                return await body(pool)
        finally:
            await pool.close()

    return asyncio.run(scenario())


async def call_once(pool: ConnectionPool, call: RpcCall, headers: dict[str, str],
                    context: RenderContext | None = None) -> tuple[str | None, dict[str, Any]]:
    body, extra = call.build(context or ctx())
    response = await pool.request("POST", call.url, {**headers, **extra}, body)
    return call.judge(response)


def test_graphql_query_and_mutation(target: TargetProcess, auth: dict[str, str]) -> None:
    endpoint = f"{target.url}/graphql"
    users = compile_rpc_step(GraphQLStep.model_validate({"graphql": {
        "query": "query GetUsers($first: Int) { users(pagination: { first: $first }) "
                 "{ edges { node { id name email } } } }",
        "operationName": "GetUsers", "variables": {"first": 10},
        "check": [{"jsonPath": "errors", "exists": False}],
        "capture": [{"json": "data.users.edges[0].node.id", "as": "firstUser"}]}}), endpoint)
    create = compile_rpc_step(GraphQLStep.model_validate({"graphql": {
        "query": "mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id title } }",
        "operationName": "CreatePost", "variables": {"input": {"title": "post ${vu}", "body": "b"}},
        "check": [{"jsonPath": "data.createPost.id", "exists": True}]}}), endpoint)
    broken = compile_rpc_step(GraphQLStep.model_validate({"graphql": {"query": "{ nosuchfield }"}}), endpoint)

    async def body(pool: ConnectionPool) -> list[tuple[str | None, dict[str, Any]]]:
        return [await call_once(pool, users, auth), await call_once(pool, create, auth),
                await call_once(pool, broken, auth), await call_once(pool, users, {})]

    listed, created, failed, unauthorised = run(target, body)
    assert listed[0] is None and listed[1]["firstUser"]
    assert created == (None, {})
    assert failed[0] == "graphql errors"
    assert unauthorised[0] == "HTTP 4xx"


@pytest.mark.parametrize("accept", [None, "text/event-stream"])
def test_mcp_handshake_and_tool_calls(target: TargetProcess, auth: dict[str, str], accept: str | None) -> None:
    endpoint = f"{target.url}/mcp"
    steps: list[McpStep | RpcStep] = [
        McpStep.model_validate({"mcp": {"tool": "echo", "arguments": {"text": "hello ${vu}"}}}),
        McpStep.model_validate({"mcp": {"tool": "get_time"}}),
        McpStep.model_validate({"mcp": {"tool": "get_user_info", "arguments": {"userId": "${vu}"}}}),
        McpStep.model_validate({"mcp": {"tool": "get_user_info", "arguments": {"userId": "999999"}}}),
        McpStep.model_validate({"mcp": {"tool": "echo", "arguments": {"wrong": 1}}}),
        RpcStep.model_validate({"rpc": {"method": "tools/list"}}),
        RpcStep.model_validate({"rpc": {"method": "no/such/method"}}),
    ]
    calls = [compile_rpc_step(step, endpoint) for step in steps]
    # The target streams only when text/event-stream is preferred; the HTTP behaviour puts scenario headers last.
    override = {"Accept": accept} if accept else {}

    async def body(pool: ConnectionPool) -> tuple[dict[str, str], list[str | None]]:
        session = await calls[0].prepare(pool, {**auth, **override})
        verdicts = []
        for call in calls:
            built, extra = call.build(ctx())
            response = await pool.request("POST", call.url, {**auth, **extra, **session, **override}, built)
            assert response.headers.get("content-type", "").startswith(accept or "application/json")
            verdicts.append(call.judge(response)[0])
        return session, verdicts

    session, verdicts = run(target, body)
    assert session["Mcp-Session-Id"]
    assert session["MCP-Protocol-Version"] == "2025-06-18"
    assert verdicts == [None, None, None, "mcp tool error", "rpc error -32602", None, "rpc error -32601"]


def test_a_forged_mcp_session_is_refused(target: TargetProcess, auth: dict[str, str]) -> None:
    call = compile_rpc_step(McpStep.model_validate({"mcp": {"tool": "get_time"}}), f"{target.url}/mcp")
    verdict = run(target, lambda pool: call_once(pool, call, {**auth, "Mcp-Session-Id": "forged"}))
    assert verdict[0] == "rpc error -32001"  # a 404 whose JSON-RPC error body names the failure better


def test_a_graphql_subscription_over_websocket(target: TargetProcess, auth: dict[str, str]) -> None:
    call = compile_rpc_step(GraphQLStep.model_validate({"graphql": {
        "query": "subscription Ticks($n: Int) { tick(intervalMs: 5, count: $n) { seq epochMs } }",
        "operationName": "Ticks", "variables": {"n": "${vu}"}, "subscription": True}}), f"{target.url}/graphql")

    class Recorded(NullRecorder):
        def __init__(self) -> None:
            self.messages: list[str | None] = []
            self.pushes = 0
            self.connections: list[str] = []
            self.errors: list[str] = []

        def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                    error: str | None = None) -> None:
            self.messages.append(error)

        def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
            assert name == "graphql.Ticks" and 0 <= latency_ns < 10_000_000_000
            self.pushes += 1

        def error(self, kind: str) -> None:
            self.errors.append(kind)

        def connection_open(self, connect_ns: int) -> None:
            self.connections.append("open")

        def connection_failed(self, error: str) -> None:
            self.connections.append(error)

        def connection_closed(self, error: str | None = None) -> None:
            self.connections.append(f"closed: {error}")

    def subscribe(headers: dict[str, str]) -> Recorded:
        recorder = Recorded()

        async def scenario() -> None:
            async with asyncio.timeout(15):
                await call.run_subscription(ctx(vu=4), headers, recorder, StopSignal())

        asyncio.run(scenario())
        return recorder

    allowed = subscribe(auth)
    assert (allowed.messages, allowed.pushes, allowed.errors) == ([None], 4, [])
    assert allowed.connections == ["open", "closed: None"]
    refused = subscribe({})
    assert refused.connections[0].startswith("Handshake failed")
