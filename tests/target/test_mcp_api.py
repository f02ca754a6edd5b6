"""The MCP dispatcher and its HTTP transport, without sockets."""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import pytest

from streamtestbench.target.config import TargetConfig
from streamtestbench.target.context import TargetContext
from streamtestbench.target.datastore import DataStore
from streamtestbench.target.http_routes import default_router
from streamtestbench.target.http_types import Request, Response
from streamtestbench.target.mcp_api import dispatch, new_session_id, valid_session_id, wants_sse

SECRET = "mcp-unit-test-secret-long-enough-for-hs256"
STORE = DataStore(count=10)
ROUTER = default_router()


def rpc(method: str, params: Any = None, message_id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": message_id, "method": method}
    if params is not None:
        message["params"] = params
    response = dispatch(message, STORE)
    assert response is not None and response["id"] == message_id and response["jsonrpc"] == "2.0"
    return response


def tool(name: str, arguments: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name}
    if arguments is not None:
        params["arguments"] = arguments
    return rpc("tools/call", params)


def test_initialize_negotiates_the_version() -> None:
    result = rpc("initialize", {"protocolVersion": "2025-03-26", "capabilities": {},
                                "clientInfo": {"name": "t", "version": "1"}})["result"]
    assert result["protocolVersion"] == "2025-03-26"
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["serverInfo"]["name"] == "streamtestbench-target"
    assert rpc("initialize", {"protocolVersion": "1999-01-01"})["result"]["protocolVersion"] == "2025-06-18"
    assert rpc("initialize", {})["error"]["code"] == -32602


def test_tools_list_describes_the_three_tools() -> None:
    tools = rpc("tools/list")["result"]["tools"]
    assert [t["name"] for t in tools] == ["echo", "get_time", "get_user_info"]
    assert all(t["inputSchema"]["type"] == "object" and t["description"] for t in tools)


def test_echo_get_time_and_get_user_info() -> None:
    assert tool("echo", {"text": "Load test message 1-0"})["result"] == {
        "content": [{"type": "text", "text": "Load test message 1-0"}], "isError": False}
    stamp = tool("get_time")["result"]["content"][0]["text"]
    parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert stamp.endswith("Z") and parsed.tzinfo is not None
    for user_id in ("3", 3):
        text = tool("get_user_info", {"userId": user_id})["result"]["content"][0]["text"]
        assert orjson.loads(text) == STORE.users.get(3)


def test_tool_level_failures_are_results_with_is_error() -> None:
    for result in (tool("nope")["result"], tool("get_user_info", {"userId": "999"})["result"]):
        assert result["isError"] is True and result["content"][0]["text"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}, -32601),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo"}}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": 5}}},
         -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": [1]}}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_user_info", "arguments": {}}},
         -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}, -32602),
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, -32600),
        ({"jsonrpc": "2.0", "id": 1}, -32600),
        ({"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}, -32600),
        ([1, 2], -32600),
    ],
)
def test_json_rpc_errors(message: Any, code: int) -> None:
    response = dispatch(message, STORE)
    assert response is not None and response["error"]["code"] == code and response["error"]["message"]


def test_notifications_and_client_responses_get_no_answer() -> None:
    assert dispatch({"jsonrpc": "2.0", "method": "notifications/initialized"}, STORE) is None
    assert dispatch({"jsonrpc": "2.0", "id": 7, "result": {}}, STORE) is None
    assert rpc("ping", message_id="abc")["result"] == {}


@pytest.mark.parametrize(
    ("accept", "sse"),
    [
        (None, False),
        ("application/json", False),
        ("application/json, text/event-stream", False),
        ("text/event-stream", True),
        ("text/event-stream, application/json;q=0.9", True),
        ("application/json;q=0.5, text/event-stream", True),
        ("text/event-stream;q=0, application/json", False),
        ("*/*, text/event-stream;q=0.8", False),
    ],
)
def test_sse_only_when_preferred(accept: str | None, sse: bool) -> None:
    assert wants_sse(accept) is sse


def test_session_ids_are_signed() -> None:
    session = new_session_id(SECRET)
    assert valid_session_id(SECRET, session) and session.isascii()
    assert not valid_session_id(SECRET + "x", session)
    assert not valid_session_id(SECRET, session.split(".")[0] + ".0000")
    assert not valid_session_id(SECRET, "")


def post(body: bytes | Any, **headers: str) -> Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    request = Request("POST", "/mcp", {k.replace("_", "-"): v for k, v in headers.items()}, raw)
    match = ROUTER.resolve("POST", "/mcp")
    assert match.route is not None
    return match.route.handler(request, TargetContext(TargetConfig(jwt_secret=SECRET)))


def test_http_initialize_sets_the_session_header() -> None:
    response = post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}})
    assert response.status == 200 and response.content_type == "application/json"
    assert valid_session_id(SECRET, response.headers["Mcp-Session-Id"])
    follow_up = post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                     mcp_session_id=response.headers["Mcp-Session-Id"], mcp_protocol_version="2025-06-18")
    assert follow_up.status == 200 and "Mcp-Session-Id" not in follow_up.headers


def test_http_statuses() -> None:
    assert post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status == 202
    parse_error = post(b"{nope")
    assert parse_error.status == 400 and orjson.loads(parse_error.body)["error"]["code"] == -32700
    assert post({"jsonrpc": "2.0", "id": 1}).status == 400
    assert post({"jsonrpc": "2.0", "id": 1, "method": "nope"}).status == 200
    assert post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, mcp_session_id="forged.123").status == 404
    assert post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, mcp_protocol_version="1.0").status == 400
    assert post(b"[]").status == 400


def test_http_batch() -> None:
    response = post([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     {"jsonrpc": "2.0", "method": "notifications/initialized"},
                     {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"text": "b"}}}])
    body = orjson.loads(response.body)
    assert response.status == 200 and [r["id"] for r in body] == [1, 2]


def test_http_sse_reply_is_one_event_per_response() -> None:
    response = post({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                     "params": {"name": "echo", "arguments": {"text": "streamed"}}}, accept="text/event-stream")
    assert response.status == 200 and response.content_type == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache" and response.chunks is not None
    (event,) = response.chunks
    assert event.startswith(b"event: message\ndata: ") and event.endswith(b"\n\n")
    assert orjson.loads(event[len(b"event: message\ndata: "):])["result"]["content"][0]["text"] == "streamed"
