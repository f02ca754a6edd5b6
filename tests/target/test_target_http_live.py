"""HTTP endpoints over real sockets: health, metrics, exact stats, login, keep-alive, errors."""

from __future__ import annotations

import http.client
import json
import re

import pytest
from _target_client import SECRET, WSClient, http_json, http_request, raw_exchange, run
from picows import WSMsgType

from streamtestbench.auth.jwt import verify_token
from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration


def test_health(target: TargetProcess) -> None:
    status, headers, body = http_request(target.port, "GET", "/health")
    assert status == 200 and headers["content-type"] == "application/json"
    data = json.loads(body)
    assert data["status"] == "ok" and data["uptimeSeconds"] >= 0


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_stats_and_metrics_count_exactly(target: TargetProcess) -> None:
    pairs = 30

    async def exchange() -> None:
        ws = await WSClient.connect(target.ws_url)
        for i in range(pairs):
            ws.send_json({"type": "ping", "id": i})
            ws.send_bytes(b"x" * i)
        for _ in range(2 * pairs):
            await ws.recv()
        await ws.transport.measure_roundtrip_time(1)  # one PING control frame, one PONG back
        await ws.close()

    assert http_json(target.port, "POST", "/stats/reset") == {"status": "reset"}
    run(exchange())
    stats = http_json(target.port, "GET", "/stats")
    messages = 2 * pairs
    assert stats["messages"] == {"in": messages, "out": messages}
    # + the PING/PONG pair and the CLOSE frames of the closing handshake
    assert stats["frames"] == {"in": messages + 2, "out": messages + 2}
    assert stats["websockets"] == {"open": 0, "total": 1}
    assert stats["connections"]["open"] == 1  # just this /stats request
    assert stats["http"]["requests"] >= 1 and stats["uptimeSeconds"] > 0

    status, headers, body = http_request(target.port, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert _metric(text, 'stb_target_ws_messages_total{direction="in"}') == messages
    assert _metric(text, 'stb_target_ws_messages_total{direction="out"}') == messages
    assert _metric(text, 'stb_target_ws_frames_total{direction="in"}') == messages + 2
    assert _metric(text, "stb_target_websockets_total") == 1
    assert _metric(text, 'stb_target_http_requests_total{status="200"}') >= 2
    for name in ("stb_target_connections_open", "stb_target_connections_total", "stb_target_uptime_seconds"):
        _metric(text, name)


def test_login_ok_and_401(target: TargetProcess) -> None:
    body = http_json(target.port, "POST", "/auth/login", {"username": "loadtest", "password": "loadtestpassword"})
    assert body["tokens"]["expiresIn"] == 86400 and body["user"]["username"] == "loadtest"
    assert verify_token(body["tokens"]["accessToken"], SECRET)["sub"] == "loadtest"
    status, headers, _ = http_request(target.port, "POST", "/auth/login", {"username": "loadtest", "password": "x"})
    assert status == 401 and "bearer" in headers["www-authenticate"].lower()
    status, _, _ = http_request(target.port, "POST", "/auth/login", "username=loadtest&password=loadtestpassword",
                                {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200


def test_echo_get_and_post(target: TargetProcess) -> None:
    assert http_request(target.port, "GET", "/echo")[0] == 200
    status, _, body = http_request(target.port, "POST", "/echo", b"payload")
    assert status == 200 and len(body) < 64


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("DELETE", "/echo", 405), ("PUT", "/health", 405), ("GET", "/auth/login", 405)],
)
def test_unknown_path_and_wrong_method(target: TargetProcess, method: str, path: str, status: int) -> None:
    got, headers, body = http_request(target.port, method, path)
    assert got == status and json.loads(body)["status"] == status
    if status == 405:
        assert headers["allow"]


def test_malformed_request_is_400(target: TargetProcess) -> None:
    reply = raw_exchange(target.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")


def test_keep_alive_serves_many_requests_on_one_connection(target: TargetProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
    try:
        for _ in range(20):
            conn.request("GET", "/echo")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        conn.request("HEAD", "/health")
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b"" and int(head.getheader("Content-Length") or 0) > 0
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order(target: TargetProcess) -> None:
    requests = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n" \
               b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = raw_exchange(target.port, requests)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3})", reply)
    assert statuses == [b"200", b"404", b"200"]


def test_upgrade_after_keep_alive_request_on_same_connection(target: TargetProcess) -> None:
    # HTTP first, then a WebSocket upgrade on the very same TCP connection.
    from _target_client import masked_frame, upgrade_request

    data = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + upgrade_request("/ws") + masked_frame(b"after-http")
    reply = raw_exchange(target.port, data, until=b"after-http")
    assert reply.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 101" in reply
    assert reply.endswith(b"\x82\x0aafter-http")


def test_ws_then_http_counts_websocket_frames_separately(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.ws_url)
        ws.transport.send(WSMsgType.TEXT, b"hello")
        assert (await ws.recv()).payload == b"hello"
        await ws.close()

    before = http_json(target.port, "GET", "/stats")
    run(scenario())
    after = http_json(target.port, "GET", "/stats")
    assert after["messages"]["in"] - before["messages"]["in"] == 1
    assert after["websockets"]["total"] - before["websockets"]["total"] == 1
