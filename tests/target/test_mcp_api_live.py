"""``POST /mcp`` over real sockets with --auth: the MCP handshake, seed 004's tool calls, SSE replies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _target_client import SECRET, http_json, http_request, raw_exchange

from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def auth_target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--jwt-secret", SECRET, "--broadcast-rate", "0") as process:
        yield process


@pytest.fixture(scope="module")
def token(auth_target: TargetProcess) -> str:
    login = http_json(auth_target.port, "POST", "/auth/login", {"username": "loadtest", "password": "loadtestpassword"})
    return str(login["tokens"]["accessToken"])


def mcp(target: TargetProcess, token: str, message: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
                   **{k.replace("_", "-"): v for k, v in headers.items()}}
    status, headers, body = http_request(target.port, "POST", "/mcp", message, all_headers)
    return status, headers, body


def test_seed_004_session(auth_target: TargetProcess, token: str) -> None:
    status, headers, body = mcp(auth_target, token, {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["result"]["capabilities"]["tools"] == {"listChanged": False}
    session = {"Mcp-Session-Id": headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
    status, _, body = mcp(auth_target, token, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **session)
    assert (status, body) == (202, b"")
    status, _, body = mcp(auth_target, token, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, **session)
    assert [t["name"] for t in json.loads(body)["result"]["tools"]] == ["echo", "get_time", "get_user_info"]
    calls = [("echo", {"text": "Load test message 1-0"}), ("get_time", {}), ("get_user_info", {"userId": "1"})]
    for i, (name, arguments) in enumerate(calls, start=3):
        status, _, body = mcp(auth_target, token, {"jsonrpc": "2.0", "id": f"id-{i}", "method": "tools/call",
                                                   "params": {"name": name, "arguments": arguments}}, **session)
        reply = json.loads(body)
        assert status == 200 and reply["id"] == f"id-{i}" and reply["result"]["isError"] is False, reply
    assert json.loads(reply["result"]["content"][0]["text"])["email"] == "user1@example.test"


def test_sse_reply_when_the_client_prefers_it(auth_target: TargetProcess, token: str) -> None:
    status, headers, body = mcp(auth_target, token, {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                                                     "params": {"name": "echo", "arguments": {"text": "hi"}}},
                                Accept="text/event-stream")
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked"
    event, data = body.decode().rstrip("\n").split("\n")
    assert event == "event: message" and json.loads(data.removeprefix("data: "))["result"]["content"][0]["text"] == "hi"


def test_sse_on_the_wire_is_chunked(auth_target: TargetProcess, token: str) -> None:
    message = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    request = (f"POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(message)}\r\nConnection: close\r\n\r\n")
    reply = raw_exchange(auth_target.port, request.encode() + message)
    head, _, body = reply.partition(b"\r\n\r\n")
    event = b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"%x\r\n%b\r\n0\r\n\r\n" % (len(event), event)


def test_errors_over_the_wire(auth_target: TargetProcess, token: str) -> None:
    status, _, body = mcp(auth_target, token, b"{not json")
    assert status == 400 and json.loads(body)["error"]["code"] == -32700
    status, _, body = mcp(auth_target, token, {"jsonrpc": "2.0", "id": 1, "method": "nope"})
    assert status == 200 and json.loads(body)["error"]["code"] == -32601
    status, _, _ = mcp(auth_target, token, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, Mcp_Session_Id="x.y")
    assert status == 404
    status, headers, _ = http_request(auth_target.port, "GET", "/mcp", headers={"Authorization": f"Bearer {token}"})
    assert status == 405 and headers["allow"] == "POST"


def test_mcp_needs_the_token(auth_target: TargetProcess) -> None:
    status, _, _ = http_request(auth_target.port, "POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert status == 401
