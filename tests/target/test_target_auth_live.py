"""--auth: JWT on WebSocket upgrades (header or ?token=) and HTTP routes; ops routes stay open."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from _target_client import SECRET, WSClient, http_json, http_request, run
from picows import WSHandshakeError

from streamtestbench.auth.jwt import mint_token
from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration

GOOD = mint_token(SECRET, {"sub": "loadtest"})
BAD_SIGNATURE = mint_token(SECRET + "-not-the-same", {"sub": "loadtest"})
EXPIRED = mint_token(SECRET, {"sub": "loadtest"}, ttl_seconds=60, now=time.time() - 3600)


@pytest.fixture(scope="module")
def auth_target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--jwt-secret", SECRET, "--broadcast-rate", "0") as process:
        yield process


async def _refused(url: str, headers: dict[str, str] | None = None) -> int:
    with pytest.raises(WSHandshakeError) as info:
        await WSClient.connect(url, headers)
    assert info.value.response is not None
    return int(info.value.response.status)


@pytest.mark.parametrize("token", [None, BAD_SIGNATURE, EXPIRED, "garbage"])
def test_websocket_upgrade_needs_a_valid_token(auth_target: TargetProcess, token: str | None) -> None:
    async def scenario() -> None:
        headers = None if token is None else {"Authorization": f"Bearer {token}"}
        assert await _refused(auth_target.ws_url, headers) == 401
        if token is not None:
            assert await _refused(f"{auth_target.ws_url}?token={token}") == 401
        mobile = f"ws://{auth_target.host}:{auth_target.port}/ws/mobile/sync/?device_id=d"
        assert await _refused(mobile, headers) == 401

    run(scenario())


def test_websocket_accepts_header_or_query_token(auth_target: TargetProcess) -> None:
    async def scenario() -> None:
        for ws in (
            await WSClient.connect(auth_target.ws_url, {"Authorization": f"Bearer {GOOD}"}),
            await WSClient.connect(f"{auth_target.ws_url}?token={GOOD}"),
        ):
            ws.send_json({"type": "ping"})
            assert await ws.recv_json() == {"type": "pong"}
            await ws.close()

    run(scenario())


def test_token_from_login_opens_the_websocket(auth_target: TargetProcess) -> None:
    login = http_json(auth_target.port, "POST", "/auth/login", {"username": "loadtest", "password": "loadtestpassword"})
    token = login["tokens"]["accessToken"]

    async def scenario() -> None:
        ws = await WSClient.connect(auth_target.ws_url, {"Authorization": f"Bearer {token}"})
        ws.send_json({"type": "ping"})
        assert await ws.recv_json() == {"type": "pong"}
        await ws.close()

    run(scenario())


@pytest.mark.parametrize("token", [None, BAD_SIGNATURE, EXPIRED])
def test_http_routes_need_a_valid_token(auth_target: TargetProcess, token: str | None) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    for method, path in (("GET", "/echo"), ("POST", "/stats/reset"), ("GET", "/admin/faults")):
        status, response_headers, _ = http_request(auth_target.port, method, path, headers=headers)
        assert status == 401, (method, path)
        assert response_headers["www-authenticate"].startswith("Bearer")


def test_http_accepts_header_or_query_token(auth_target: TargetProcess) -> None:
    assert http_request(auth_target.port, "GET", "/echo", headers={"Authorization": f"Bearer {GOOD}"})[0] == 200
    assert http_request(auth_target.port, "GET", f"/echo?token={GOOD}")[0] == 200


def test_ops_routes_and_login_stay_open(auth_target: TargetProcess) -> None:
    for path in ("/health", "/metrics", "/stats"):
        assert http_request(auth_target.port, "GET", path)[0] == 200, path
    creds = {"username": "loadtest", "password": "loadtestpassword"}
    assert http_request(auth_target.port, "POST", "/auth/login", creds)[0] == 200
