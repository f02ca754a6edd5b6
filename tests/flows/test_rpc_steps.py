"""GraphQL, JSON-RPC and MCP steps: bodies, judging responses, the MCP handshake, subscriptions."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import pytest

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows import rpc_steps
from streamtestbench.flows.rpc_steps import (
    GraphQLSubscription,
    McpInitializeFailed,
    RpcCall,
    compile_rpc_step,
    operation_type,
    server_stamp_ms,
    websocket_url,
)
from streamtestbench.protocols.http_client import ConnectionPool, Connector, split_url
from streamtestbench.protocols.http_types import HttpResponse, HttpTimeout
from streamtestbench.scenario.examples.seed004 import GRAPHQL_QUERY_MUTATION, MCP_TOOLS
from streamtestbench.scenario.flow import GraphQLStep, McpStep, RpcStep
from streamtestbench.scenario.loader import scenario_from_data
from streamtestbench.templating import RenderContext
from tests.protocols.graphql_ws_server import Script, graphql_ws_server

ENDPOINT = "http://127.0.0.1:9/graphql"


def ctx(vu: int = 3, iteration: int = 0) -> RenderContext:
    return RenderContext(vu=vu, iteration=iteration, rng=random.Random(1))


def graphql(**spec: Any) -> RpcCall:
    return compile_rpc_step(GraphQLStep.model_validate({"graphql": spec}), ENDPOINT)


def rpc(**spec: Any) -> RpcCall:
    return compile_rpc_step(RpcStep.model_validate({"rpc": spec}), "http://127.0.0.1:9/rpc")


def mcp(**spec: Any) -> RpcCall:
    return compile_rpc_step(McpStep.model_validate({"mcp": spec}), "http://127.0.0.1:9/mcp")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json", **(headers or {})}, orjson.dumps(body))


def sse_response(*events: Any) -> HttpResponse:
    body = b"".join(b"event: message\ndata: " + orjson.dumps(event) + b"\n\n" for event in events)
    return HttpResponse(200, {"content-type": "text/event-stream"}, b": opened\n\n" + body)


def sent_id(call: RpcCall, context: RenderContext | None = None) -> Any:
    body, _ = call.build(context or ctx())
    return orjson.loads(body)["id"]


# -- names and addresses ----------------------------------------------------------------------------

def test_metric_names_follow_the_protocol_prefixes() -> None:
    assert graphql(query="query GetUsers { users { totalCount } }", operationName="GetUsers").name == \
        "graphql.GetUsers"
    assert graphql(query="  mutation { createUser(input: {name: \"a\"}) { id } }").name == "graphql.mutation"
    assert graphql(query="{ users { totalCount } }").name == "graphql.query"
    assert graphql(query="subscription { tick { seq } }", subscription=True).name == "graphql.subscription"
    assert rpc(method="tools/list").name == "rpc.tools/list"
    assert mcp(tool="echo").name == "mcp.echo"


def test_operation_type_skips_comments() -> None:
    assert operation_type("# a comment\n  mutation M { x }") == "mutation"
    assert operation_type("queryish") == "query"


def test_urls_default_to_the_endpoint_and_paths_resolve_against_it() -> None:
    assert graphql(query="{ a }").url == ENDPOINT
    assert graphql(query="{ a }", url="/other?x=1").url == "http://127.0.0.1:9/other?x=1"
    assert graphql(query="{ a }", url="http://127.0.0.2:7/g").url == "http://127.0.0.2:7/g"
    assert graphql(query="subscription { a }", subscription=True).url == "ws://127.0.0.1:9/graphql"
    assert websocket_url("https://h/g?x") == "wss://h/g?x"


def test_seed004_graphql_and_mcp_flows_compile() -> None:
    names = {}
    for example in (GRAPHQL_QUERY_MUTATION, MCP_TOOLS):
        scenario = scenario_from_data(example, env={})
        assert scenario.endpoint is not None
        steps = [step for step in scenario.flow if isinstance(step, GraphQLStep | RpcStep | McpStep)]
        assert len(steps) == len(scenario.flow)
        names[scenario.name] = [compile_rpc_step(step, scenario.endpoint).name for step in steps]
    assert names == {"GraphQL Query and Mutation": ["graphql.GetUsers", "graphql.CreatePost"],
                     "MCP Tool Calls": ["rpc.tools/list", "mcp.echo", "mcp.get_time", "mcp.get_user_info"]}


# -- GraphQL over HTTP ------------------------------------------------------------------------------

def test_a_graphql_body_carries_query_operation_and_rendered_variables() -> None:
    call = graphql(query="mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id } }",
                   operationName="CreatePost", variables={"input": {"title": "post ${vu}-${iteration}", "n": 1}})
    body, headers = call.build(ctx(vu=4, iteration=2))
    assert orjson.loads(body) == {
        "query": "mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id } }",
        "operationName": "CreatePost", "variables": {"input": {"title": "post 4-2", "n": 1}}}
    assert headers["Content-Type"] == "application/json"


def test_a_graphql_body_without_variables_is_encoded_once() -> None:
    call = graphql(query="{ users { totalCount } }")
    first, _ = call.build(ctx())
    assert first is call.build(ctx(vu=9))[0]
    assert orjson.loads(first) == {"query": "{ users { totalCount } }"}


@pytest.mark.parametrize(("response", "kind"), [
    (json_response({"data": {"users": []}}), None),
    (json_response({"data": None, "errors": [{"message": "bad"}]}), "graphql errors"),
    (json_response({"errors": [{"message": "syntax"}]}, status=400), "HTTP 4xx"),
    (json_response({"data": {}}, status=503), "HTTP 5xx"),
    (json_response({"data": {}}, status=302), "HTTP 3xx"),
    (HttpResponse(200, {}, b"<html>"), "graphql invalid response"),
    (json_response([1]), "graphql invalid response"),
])
def test_graphql_responses_are_judged(response: HttpResponse, kind: str | None) -> None:
    assert graphql(query="{ users { id } }").judge(response) == (kind, {})


def test_graphql_checks_and_captures_run_after_the_errors_check() -> None:
    call = graphql(query="mutation { createPost(input: {title: \"t\"}) { id } }",
                   check=[{"jsonPath": "data.createPost.id", "exists": True}],
                   capture=[{"json": "data.createPost.id", "as": "postId"}])
    assert call.judge(json_response({"data": {"createPost": {"id": "17"}}})) == (None, {"postId": "17"})
    failure, _ = call.judge(json_response({"data": {"createPost": None}}))
    assert failure == "check failed: jsonPath data.createPost.id"


# -- JSON-RPC ---------------------------------------------------------------------------------------

def test_rpc_requests_get_fresh_ids_and_rendered_params() -> None:
    call = rpc(method="users.get", params={"id": "${vu}", "tag": "t-${iteration}"})
    first, headers = call.build(ctx(vu=5, iteration=1))
    second, _ = call.build(ctx(vu=5, iteration=1))
    one, two = orjson.loads(first), orjson.loads(second)
    assert one["params"] == {"id": 5, "tag": "t-1"} and one["method"] == "users.get" and one["jsonrpc"] == "2.0"
    assert two["id"] == one["id"] + 1
    assert headers["Content-Type"] == "application/json"


def test_an_rpc_answer_with_its_id_passes_and_another_id_fails() -> None:
    call = rpc(method="sum", params=[1, 2])
    request_id = sent_id(call)
    assert call.judge(json_response({"jsonrpc": "2.0", "id": request_id, "result": 3})) == (None, {})
    assert call.judge(json_response({"jsonrpc": "2.0", "id": request_id + 1, "result": 3}))[0] == "rpc id mismatch"
    assert call.judge(json_response({"jsonrpc": "2.0", "result": 3}))[0] == "rpc id mismatch"


@pytest.mark.parametrize("code", [-32700, -32600, -32601, -32602, -32603, -32000, 7])
def test_rpc_error_objects_fail_with_their_code(code: int) -> None:
    call = rpc(method="x")
    request_id = sent_id(call)
    error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": "m"}}
    assert call.judge(json_response(error))[0] == f"rpc error {code}"
    assert call.judge(json_response(error, status=400))[0] == f"rpc error {code}"


def test_a_null_id_error_counts_as_the_servers_answer() -> None:
    call = rpc(method="x")
    sent_id(call)
    null = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    assert call.judge(json_response(null, status=400))[0] == "rpc error -32700"


@pytest.mark.parametrize(("response", "kind"), [
    (HttpResponse(200, {}, b"not json"), "rpc invalid response"),
    (json_response({"id": 1, "result": 1}), "rpc invalid response"),
    (HttpResponse(502, {}, b"bad gateway"), "HTTP 5xx"),
])
def test_broken_rpc_answers_name_the_problem(response: HttpResponse, kind: str) -> None:
    call = rpc(method="x")
    sent_id(call)
    assert call.judge(response)[0] == kind


def test_an_rpc_notification_has_no_id_and_needs_only_a_2xx() -> None:
    call = rpc(method="log", params={"line": "a"}, notification=True)
    body, _ = call.build(ctx())
    assert "id" not in orjson.loads(body)
    assert call.judge(HttpResponse(202, {}, b"")) == (None, {})
    assert call.judge(HttpResponse(500, {}, b""))[0] == "HTTP 5xx"


def test_concurrent_users_judge_against_their_own_request_ids() -> None:
    call = rpc(method="slow")

    async def user(delay: float) -> str | None:
        request_id = sent_id(call)
        await asyncio.sleep(delay)
        return call.judge(json_response({"jsonrpc": "2.0", "id": request_id, "result": "ok"}))[0]

    async def scenario() -> list[str | None]:
        return list(await asyncio.gather(user(0.02), user(0.0), user(0.01)))

    assert asyncio.run(scenario()) == [None, None, None]


# -- MCP ----------------------------------------------------------------------------------------------

def test_an_mcp_call_is_a_tools_call_with_rendered_arguments() -> None:
    call = mcp(tool="echo", arguments={"text": "message ${vu}-${iteration}"})
    body, headers = call.build(ctx(vu=2, iteration=7))
    message = orjson.loads(body)
    assert message["method"] == "tools/call"
    assert message["params"] == {"name": "echo", "arguments": {"text": "message 2-7"}}
    assert headers["Accept"] == "application/json, text/event-stream"


def test_an_mcp_tool_error_fails_the_call() -> None:
    call = mcp(tool="get_user_info", arguments={"userId": "${vu}"})
    request_id = sent_id(call)
    result = {"content": [{"type": "text", "text": "User 3 not found"}], "isError": True}
    assert call.judge(json_response({"jsonrpc": "2.0", "id": request_id, "result": result}))[0] == "mcp tool error"
    ok = {"content": [{"type": "text", "text": "{}"}], "isError": False}
    assert call.judge(json_response({"jsonrpc": "2.0", "id": request_id, "result": ok})) == (None, {})


def test_an_mcp_answer_in_an_event_stream_is_found_among_notifications() -> None:
    call = mcp(tool="echo", arguments={"text": "hi"})
    request_id = sent_id(call)
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
    answer = {"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": "hi"}]}}
    assert call.judge(sse_response(progress, answer)) == (None, {})
    assert call.judge(sse_response(progress, {**answer, "id": request_id + 5}))[0] == "rpc id mismatch"
    assert call.judge(sse_response(progress))[0] == "rpc id mismatch"
    error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32602, "message": "bad"}}
    assert call.judge(sse_response(error))[0] == "rpc error -32602"
    broken = HttpResponse(200, {"content-type": "text/event-stream"}, b"data: {nope\n\n")
    assert call.judge(broken)[0] == "rpc invalid response"


class FakeTransport:
    """Answers each request with ``answer(method, url, headers, body)``; remembers every request."""

    def __init__(self, answer: Callable[[dict[str, Any], Mapping[str, str]], HttpResponse]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    async def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                      body: bytes | None = None, timeout_s: float = 30.0) -> HttpResponse:
        message = orjson.loads(body or b"null")
        self.requests.append((method, url, dict(headers or {}), message))
        return self.answer(message, headers or {})


def mcp_server(session: str | None = "s-1", init_error: bool = False, sse: bool = False,
               notify_status: int = 202) -> FakeTransport:
    def answer(message: dict[str, Any], headers: Mapping[str, str]) -> HttpResponse:
        if "id" not in message:
            return HttpResponse(notify_status, {}, b"")
        if init_error:
            return json_response({"jsonrpc": "2.0", "id": message["id"],
                                  "error": {"code": -32602, "message": "Unsupported protocol version"}})
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "fake", "version": "1"}}
        extra = {"mcp-session-id": session} if session else {}
        if sse:
            response = sse_response({"jsonrpc": "2.0", "id": message["id"], "result": result})
            response.headers.update(extra)
            return response
        return json_response({"jsonrpc": "2.0", "id": message["id"], "result": result}, headers=extra)

    return FakeTransport(answer)


def test_the_mcp_handshake_initializes_then_notifies_with_the_session_id() -> None:
    transport = mcp_server()
    call = mcp(tool="echo", arguments={"text": "a"})
    session = asyncio.run(call.prepare(transport, {"Authorization": "Bearer t"}))
    assert session == {"Mcp-Session-Id": "s-1", "MCP-Protocol-Version": "2025-06-18"}
    (_, url, init_headers, init), (_, _, notify_headers, notify) = transport.requests
    assert url == "http://127.0.0.1:9/mcp"
    assert init["method"] == "initialize"
    assert init["params"]["protocolVersion"] == "2025-06-18"
    assert init["params"]["capabilities"] == {}
    assert init["params"]["clientInfo"]["name"] == "streamtestbench"
    assert init_headers["Authorization"] == "Bearer t" and "Mcp-Session-Id" not in init_headers
    assert notify == {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert notify_headers["Mcp-Session-Id"] == "s-1"


def test_a_server_without_sessions_gives_no_session_header() -> None:
    session = asyncio.run(mcp(tool="echo").prepare(mcp_server(session=None, sse=True), {}))
    assert session == {"MCP-Protocol-Version": "2025-06-18"}


@pytest.mark.parametrize("transport", [
    mcp_server(init_error=True),
    mcp_server(notify_status=400),
    FakeTransport(lambda message, headers: HttpResponse(500, {}, b"")),
    FakeTransport(lambda message, headers: json_response({"jsonrpc": "2.0", "id": 999, "result": {}})),
    FakeTransport(lambda message, headers: json_response({"jsonrpc": "2.0", "id": message["id"], "result": 1})),
])
def test_a_failed_handshake_is_mcp_initialize_failed(transport: FakeTransport) -> None:
    with pytest.raises(McpInitializeFailed) as caught:
        asyncio.run(mcp(tool="echo").prepare(transport, {}))
    assert caught.value.kind == "mcp initialize failed"


def test_a_handshake_timeout_is_mcp_initialize_failed() -> None:
    def timeout(message: dict[str, Any], headers: Mapping[str, str]) -> HttpResponse:
        raise HttpTimeout("no answer")

    with pytest.raises(McpInitializeFailed) as caught:
        asyncio.run(mcp(tool="echo").prepare(FakeTransport(timeout), {}))
    assert caught.value.kind == "mcp initialize failed"
    assert isinstance(caught.value.__cause__, HttpTimeout)


def test_graphql_and_rpc_calls_need_no_preparation() -> None:
    transport = mcp_server()
    assert asyncio.run(graphql(query="{ a }").prepare(transport, {})) == {}
    assert asyncio.run(rpc(method="tools/list").prepare(transport, {})) == {}
    assert transport.requests == []


# -- MCP over a real socket: an event stream in many chunks ---------------------------------------------

async def serve_mcp_sse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 MCP server answering every request as a chunked event stream, split oddly."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            message = orjson.loads(await reader.readexactly(length))
            if "id" not in message:
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                continue
            result: Any = {"protocolVersion": "2025-06-18", "capabilities": {}} \
                if message["method"] == "initialize" else {"content": [{"type": "text", "text": "pong"}]}
            answer = orjson.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})
            stream = b": hello\r\n\r\nevent: message\r\ndata: " + answer + b"\r\n\r\n"
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nmcp-session-id: live-1\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            for start in range(0, len(stream), 7):  # cuts fall inside CRLFs, field names and the JSON
                piece = stream[start:start + 7]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def test_mcp_over_a_chunked_event_stream_on_loopback() -> None:
    async def scenario() -> tuple[dict[str, str], tuple[str | None, dict[str, Any]]]:
        server = await asyncio.start_server(serve_mcp_sse, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/mcp"
        pool = ConnectionPool(Connector(NullRecorder()), split_url(url)[0])
        call = compile_rpc_step(McpStep.model_validate({"mcp": {"tool": "ping"}}), url)
        try:
            async with asyncio.timeout(10):
                session = await call.prepare(pool, {})
                body, headers = call.build(ctx())
                response = await pool.request("POST", call.url, {**headers, **session}, body)
                return session, call.judge(response)
        finally:
            await pool.close()
            server.close()

    session, verdict = asyncio.run(scenario())
    assert session["Mcp-Session-Id"] == "live-1"
    assert verdict == (None, {})


# -- GraphQL subscriptions over graphql-transport-ws ----------------------------------------------------

class Recorded(NullRecorder):
    def __init__(self) -> None:
        self.messages: list[tuple[str, int, str | None]] = []
        self.pushes: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.connections: list[str] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        assert end_ns >= start_ns == intended_ns
        self.messages.append((name, nbytes, error))

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        assert latency_ns >= 0
        self.pushes.append((name, nbytes))

    def error(self, kind: str) -> None:
        self.errors.append(kind)

    def connection_open(self, connect_ns: int) -> None:
        self.connections.append("open")

    def connection_failed(self, error: str) -> None:
        self.connections.append(f"failed: {error}")

    def connection_closed(self, error: str | None = None) -> None:
        self.connections.append(f"closed: {error}")


def run_subscription(script: Script, call: RpcCall | None = None, headers: dict[str, str] | None = None,
                     stop_after_s: float | None = None) -> Recorded:
    recorder = Recorded()

    async def scenario() -> None:
        async with graphql_ws_server(script) as url:
            subscription = call or compile_rpc_step(GraphQLStep.model_validate({"graphql": {
                "query": "subscription OnTick($n: Int) { tick(count: $n) { seq } }", "operationName": "OnTick",
                "variables": {"n": "${vu}"}, "subscription": True}}), url.replace("ws://", "http://"))
            if call is not None:
                subscription.url = url
            stop = StopSignal()
            if stop_after_s is not None:
                asyncio.get_running_loop().call_later(stop_after_s, stop.set)
            async with asyncio.timeout(10):
                await subscription.run_subscription(ctx(vu=2), headers or {}, recorder, stop)

    asyncio.run(scenario())
    return recorder


def test_a_subscription_records_time_to_first_event_and_every_event() -> None:
    script = Script(token="Bearer t", events=3)
    recorder = run_subscription(script, headers={"Authorization": "Bearer t"})
    assert [(name, error) for name, _, error in recorder.messages] == [("graphql.OnTick", None)]
    assert [name for name, _ in recorder.pushes] == ["graphql.OnTick"] * 3
    assert recorder.connections == ["open", "closed: None"]
    subscribe = next(m for m in script.received if m["type"] == "subscribe")
    assert subscribe["payload"] == {"query": "subscription OnTick($n: Int) { tick(count: $n) { seq } }",
                                    "variables": {"n": 2}, "operationName": "OnTick"}
    assert script.received[0] == {"type": "connection_init", "payload": {"Authorization": "Bearer t"}}
    assert recorder.errors == []


def test_a_server_error_before_any_event_fails_the_subscription() -> None:
    recorder = run_subscription(Script(events=0, end="error"))
    assert [error for _, _, error in recorder.messages] == ["graphql errors"]
    assert recorder.pushes == []


def test_a_server_error_after_events_is_counted_as_an_error() -> None:
    recorder = run_subscription(Script(events=1, end="error"))
    assert [error for _, _, error in recorder.messages] == [None]
    assert recorder.errors == ["graphql errors"]


def test_a_refused_connection_init_is_a_failed_connection() -> None:
    recorder = run_subscription(Script(token="right"), headers={"Authorization": "wrong"})
    assert recorder.connections == ["failed: connection_init refused: 4403"]
    assert recorder.messages == []


def test_a_missing_ack_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc_steps, "HANDSHAKE_TIMEOUT_S", 0.2)
    recorder = run_subscription(Script(acknowledge=False))
    assert recorder.connections == ["failed: connection_ack timeout"]


def test_a_malformed_frame_is_a_protocol_error_not_a_hang() -> None:
    recorder = run_subscription(Script(raw_after_subscribe=b'{"id":"1","type":"next"}'))
    assert recorder.errors == ["graphql-ws protocol error"]
    assert recorder.messages == []


def test_a_server_close_mid_stream_is_reported_with_its_code() -> None:
    recorder = run_subscription(Script(events=1, end="close"))
    assert recorder.connections == ["open", "closed: closed 4500"]


def test_a_close_before_the_first_event_fails_the_subscription() -> None:
    recorder = run_subscription(Script(events=0, end="close"))
    assert [error for _, _, error in recorder.messages] == ["Connection closed"]
    assert recorder.connections == ["open", "closed: closed 4500"]


def test_a_stop_during_the_handshake_is_not_a_failure() -> None:
    recorder = run_subscription(Script(acknowledge=False), stop_after_s=0.1)
    assert (recorder.connections, recorder.messages) == ([], [])


def test_the_stop_signal_ends_an_open_subscription_and_completes_it() -> None:
    script = Script(events=2, end="none")
    recorder = run_subscription(script, stop_after_s=0.2)
    assert len(recorder.pushes) == 2
    assert {"id": "1", "type": "complete"} in script.received
    assert recorder.connections == ["open", "closed: None"]


def test_an_event_limit_ends_the_subscription_after_that_many_events() -> None:
    step = GraphQLStep.model_validate({"graphql": {"query": "subscription { tick { seq } }", "subscription": True}})
    call = compile_rpc_step(step, ENDPOINT)
    assert isinstance(call, GraphQLSubscription)
    call.event_limit = 2
    script = Script(events=5, end="none")
    recorder = run_subscription(script, call=call)
    assert len(recorder.pushes) == 2
    assert {"id": "1", "type": "complete"} in script.received


def test_a_refused_websocket_is_a_failed_connection() -> None:
    call = graphql(query="subscription { tick { seq } }", subscription=True)
    recorder = Recorded()
    asyncio.run(call.run_subscription(ctx(), {}, recorder, StopSignal()))
    assert recorder.connections == ["failed: Connection refused"]


def test_subscriptions_cannot_be_built_as_http_requests() -> None:
    call = graphql(query="subscription { tick { seq } }", subscription=True)
    assert call.is_subscription
    with pytest.raises(TypeError):
        call.build(ctx())
    with pytest.raises(TypeError):
        asyncio.run(rpc(method="x").run_subscription(ctx(), {}, NullRecorder(), StopSignal()))


def test_a_server_timestamp_is_read_from_the_root_field() -> None:
    assert server_stamp_ms({"data": {"tick": {"seq": 1, "epochMs": 1_763_700_000_000.5}}}) == 1_763_700_000_000.5
    assert server_stamp_ms({"data": {"tick": {"seq": 1, "ts": 12}}}) is None
    assert server_stamp_ms({"data": {"a": {}, "b": {}}}) is None
    assert server_stamp_ms({"errors": []}) is None
