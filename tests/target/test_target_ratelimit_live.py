"""--rate-limit: WebSocket clients over budget are closed with 1008, HTTP clients get 429."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from _target_client import WSClient, http_json, run
from picows import WSMsgType

from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration

RATE = 5


@pytest.fixture(scope="module")
def limited_target() -> Iterator[TargetProcess]:
    with TargetProcess("--rate-limit", str(RATE), "--broadcast-rate", "0") as process:
        yield process


def test_websocket_client_over_the_limit_is_closed_with_1008(limited_target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(limited_target.ws_url)
        for i in range(4 * RATE):
            ws.send_json({"type": "ping", "id": i})
        replies = []
        while True:
            got = await ws.recv()
            if got.msg_type == WSMsgType.CLOSE:
                break
            replies.append(got.json()["id"])
        assert replies == list(range(len(replies))) and RATE <= len(replies) <= RATE + 1
        assert got.close_code == 1008 and got.close_reason == "rate limit exceeded"
        await ws.wait_disconnected()

    run(scenario())


def test_websocket_client_within_the_limit_is_served(limited_target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(limited_target.ws_url)
        for i in range(RATE - 1):
            ws.send_json({"type": "ping", "id": i})
            assert (await ws.recv_json())["id"] == i
        await ws.close()

    run(scenario())


def test_http_client_over_the_limit_gets_429_with_retry_after(limited_target: TargetProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", limited_target.port, timeout=5)
    statuses, retry_after = [], []
    try:
        for _ in range(3 * RATE):
            conn.request("GET", "/echo")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            if response.status == 429:
                retry_after.append(response.getheader("Retry-After"))
        # Operations endpoints are never limited.
        for _ in range(3 * RATE):
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
    finally:
        conn.close()
    assert statuses[:RATE] == [200] * RATE
    assert statuses.count(429) >= 2 * RATE - 1
    assert all(value is not None and int(value) >= 1 for value in retry_after)


def test_rate_limited_clients_are_counted(limited_target: TargetProcess) -> None:
    http_json(limited_target.port, "POST", "/stats/reset")

    async def scenario() -> None:
        ws = await WSClient.connect(limited_target.ws_url)
        for _ in range(2 * RATE):
            ws.send_bytes(b"x")
        while (await ws.recv()).msg_type != WSMsgType.CLOSE:
            pass
        await ws.wait_disconnected()

    run(scenario())
    conn = http.client.HTTPConnection("127.0.0.1", limited_target.port, timeout=5)
    try:
        for _ in range(RATE + 2):
            conn.request("GET", "/echo")
            conn.getresponse().read()
    finally:
        conn.close()
    stats = http_json(limited_target.port, "GET", "/stats")
    assert stats["rateLimited"] == {"ws": 1, "http": 2, "total": 3}
    assert stats["http"]["byStatus"]["429"] == 2
    assert stats["messages"] == {"in": 2 * RATE, "out": RATE}
