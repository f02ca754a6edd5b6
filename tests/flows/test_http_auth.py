"""Authentication of HTTP virtual users: static kinds, JWT minting and re-minting, the seed 004 login
(against the reference target with --auth), re-login on 401 and before the token expires."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamtestbench.auth.jwt import mint_token
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.http import HttpBehaviour
from streamtestbench.flows.http_auth import (
    NEVER,
    AuthProvider,
    JwtAuth,
    LoginAuth,
    refresh_margin_s,
    token_expiry,
)
from streamtestbench.protocols.http_client import ConnectionPool, Connector, split_url
from streamtestbench.scenario.auth import Authentication
from streamtestbench.target.process import TargetProcess
from tests.flows.test_http import EchoServer, errors, make_scenario, one_pass
from tests.protocols.test_http_client import ListRecorder

pytestmark = pytest.mark.integration

SECRET = "http-auth-tests-secret-long-enough-for-hs256"


def authentication(data: dict[str, Any]) -> Authentication:
    return Authentication.model_validate(data)


@pytest.fixture(scope="module")
def auth_target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--broadcast-rate", "0", "--jwt-secret", SECRET) as process:
        yield process


# -- static kinds -----------------------------------------------------------------------------
def test_basic_auth_header_bytes() -> None:
    state = AuthProvider(authentication({"type": "BASIC_AUTH", "credentials": {"username": "u", "password": "p"}}),
                         ListRecorder()).state()
    assert state.block == b"Authorization: Basic " + base64.b64encode(b"u:p") + b"\r\n"
    assert state.block == b"Authorization: Basic dTpw\r\n"


def test_static_credentials_are_shared_and_never_renewed() -> None:
    provider = AuthProvider(authentication({"type": "BEARER_TOKEN", "credentials": {"token": "t"}}), ListRecorder())
    assert provider.state() is provider.state()
    assert provider.state().block == b"Authorization: Bearer t\r\n"
    assert provider.state().refresh_at_ns == NEVER
    assert AuthProvider(None, ListRecorder()).state().block == b""


@pytest.mark.parametrize(("credentials", "block"), [
    ({"key": "k"}, b"X-API-Key: k\r\n"),
    ({"key": "k", "header": "X-Custom-Key"}, b"X-Custom-Key: k\r\n"),
    ({"key": "k", "in": "header", "name": "Api-Key"}, b"Api-Key: k\r\n"),
])
def test_api_key_in_a_header(credentials: dict[str, str], block: bytes) -> None:
    state = AuthProvider(authentication({"type": "API_KEY", "credentials": credentials}), ListRecorder()).state()
    assert (state.block, state.query) == (block, "")


def test_api_key_in_the_query_is_appended_to_every_request() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [{"get": {"url": "/a"}}, {"get": {"url": "/b?x=1"}}],
                                     authentication={"type": "API_KEY", "credentials": {
                                         "in": "query", "name": "api key", "key": "s3cret&more"}})
            await one_pass(scenario, recorder)
            assert server.targets() == ["/a?api%20key=s3cret%26more", "/b?x=1&api%20key=s3cret%26more"]
            assert "authorization" not in server.requests[0][2]

    asyncio.run(go())


# -- JWT --------------------------------------------------------------------------------------
def test_jwt_is_minted_and_re_minted_before_it_expires() -> None:
    wall = [1_000_000.0]
    mono = [5_000_000_000]
    state = JwtAuth(SECRET, {"sub": "vu"}, 100, clock=lambda: wall[0], monotonic_ns=lambda: mono[0])
    first = state.headers["Authorization"].split()[1]
    assert token_expiry(first) == (1_000_100.0, 1_000_000.0)
    assert state.refresh_at_ns == 5_000_000_000 + 90 * 10**9  # a tenth of 100 s before expiry
    assert not state.due(mono[0] + 89 * 10**9) and state.due(mono[0] + 90 * 10**9)
    version = state.version
    wall[0] += 90
    mono[0] += 90 * 10**9
    asyncio.run(state.refresh(None))  # type: ignore[arg-type]
    second = state.headers["Authorization"].split()[1]
    assert token_expiry(second) == (1_000_190.0, 1_000_090.0)
    assert state.version == version + 1 and state.cache == {}


def test_minted_jwt_is_accepted_by_the_target(auth_target: TargetProcess) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(auth_target.url, [{"get": {"url": "/echo"}}], authentication={
            "type": "JWT", "credentials": {"secret": SECRET, "claims": {"sub": "jwt-user"}, "expiresInSeconds": 60}})
        await one_pass(scenario, recorder)
        assert errors(recorder) == [("http.GET /echo", None)]

    asyncio.run(go())


def test_refresh_margin_and_expiry_reading() -> None:
    assert refresh_margin_s(3600) == 30.0
    assert refresh_margin_s(100) == 10.0
    assert refresh_margin_s(4) == 1.0
    assert refresh_margin_s(1) == 0.5
    assert token_expiry("not-a-jwt") is None
    assert token_expiry(mint_token(SECRET, {"sub": "x"}, 10, now=100)) == (110.0, 100.0)


# -- the login step ---------------------------------------------------------------------------
def login_scenario(url: str, flow: list[Any], password: str = "loadtestpassword") -> Any:
    return make_scenario(url, flow, authentication={
        "type": "BEARER_TOKEN",
        "login": {"url": "/auth/login", "json": {"username": "loadtest", "password": password},
                  "tokenPath": "tokens.accessToken"}})


def test_login_once_then_bearer_on_every_request(auth_target: TargetProcess) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = login_scenario(auth_target.url, [{"get": {"url": "/echo"}}, {"post": {"url": "/echo"}}])
        behaviour = await one_pass(scenario, recorder)
        await one_pass(scenario, recorder, unit=1, behaviour=behaviour)
        assert errors(recorder) == [("http.POST /auth/login", None), ("http.GET /echo", None),
                                    ("http.POST /echo", None), ("http.GET /echo", None), ("http.POST /echo", None)]
        await behaviour.close()

    asyncio.run(go())


def test_a_401_logs_in_again_and_retries_once(auth_target: TargetProcess) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = login_scenario(auth_target.url, [{"get": {"url": "/echo"}}])
        behaviour = await one_pass(scenario, recorder)
        session = behaviour.idle_users[0].session
        assert isinstance(session.auth, LoginAuth) and session.auth.logins == 1
        session.auth._set_headers({"Authorization": "Bearer expired-or-revoked"})
        await one_pass(scenario, recorder, behaviour=behaviour)
        assert errors(recorder) == [("http.POST /auth/login", None), ("http.GET /echo", None),
                                    ("http.POST /auth/login", None), ("http.GET /echo", None)]
        assert recorder.counts["auth.relogin"] == 1
        assert session.auth.logins == 2
        await behaviour.close()
        assert recorder.counts["http.status.4xx"] == 1

    asyncio.run(go())


def test_a_failed_login_fails_the_request_and_pauses(auth_target: TargetProcess) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = login_scenario(auth_target.url, [{"get": {"url": "/echo"}}], password="wrong")
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=0.5)
        stop = StopSignal()
        task = asyncio.ensure_future(behaviour.run_connection(0, stop, None))
        while len(recorder.messages) < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(task, 3)
        assert errors(recorder) == [("http.POST /auth/login", "HTTP 4xx"), ("http.GET /echo", "login failed")]

    asyncio.run(go())


class TokenServer(EchoServer):
    """Logs in with tokens that expire ``ttl`` seconds after issue."""

    ttl = 20

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str],
                                                                                               bytes]:
        if target == "/auth/login":
            token = mint_token(SECRET, {"sub": "loadtest"}, self.ttl)
            return 200, {}, b'{"tokens": {"accessToken": "%s"}}' % token.encode()
        return super().answer(method, target, headers, body)


def test_login_again_when_the_token_nears_its_expiry() -> None:
    async def go() -> None:
        async with TokenServer() as server:
            recorder = ListRecorder()
            scenario = login_scenario(server.url, [{"get": {"url": "/a"}}])
            before = time.monotonic_ns()
            behaviour = await one_pass(scenario, recorder)
            auth = behaviour.idle_users[0].session.auth
            expected = before + int((TokenServer.ttl - refresh_margin_s(TokenServer.ttl)) * 1e9)
            assert abs(auth.refresh_at_ns - expected) < 5 * 10**9
            first = server.requests[1][2]["authorization"]
            auth.refresh_at_ns = time.monotonic_ns()  # as if 18 of the 20 seconds had passed
            await one_pass(scenario, recorder, behaviour=behaviour)
            assert server.targets() == ["/auth/login", "/a", "/auth/login", "/a"]
            assert first.startswith("Bearer ey") and server.requests[3][2]["authorization"].startswith("Bearer ey")
            assert "auth.relogin" not in recorder.counts

    asyncio.run(go())


def test_a_token_missing_at_the_path_is_a_capture_failure() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            auth = LoginAuth(authentication({"type": "BEARER_TOKEN", "login": {
                "url": "/token", "method": "GET", "tokenPath": "data.nothing"}}).login, recorder)  # type: ignore[arg-type]
            pool = ConnectionPool(Connector(recorder), split_url(server.url)[0])
            assert await auth.refresh(pool) == "capture failed: data.nothing"
            assert auth.refresh_at_ns == 0
            auth_ok = LoginAuth(authentication({"type": "BEARER_TOKEN", "login": {
                "url": "/token", "method": "GET", "tokenPath": "data.token"}}).login, recorder)  # type: ignore[arg-type]
            assert await auth_ok.refresh(pool) is None
            assert auth_ok.block == b"Authorization: Bearer from-body\r\n" and auth_ok.refresh_at_ns == NEVER
            await pool.close()

    asyncio.run(go())


def test_the_run_command_logs_in_and_loads_the_target(auth_target: TargetProcess, tmp_path: Path) -> None:
    """End to end through the CLI (runner, worker process, recorder): seed 004's login, then GETs."""
    scenario = {"name": "login then load", "protocol": "HTTP", "endpoint": auth_target.url, "connections": 2,
                "duration_seconds": 1.5, "authentication": {"type": "BEARER_TOKEN", "login": {
                    "url": "/auth/login", "json": {"username": "loadtest", "password": "loadtestpassword"}}},
                "flow": [{"get": {"url": "/echo", "check": [{"status": 200}]}}]}
    path, out = tmp_path / "scenario.json", tmp_path / "results.json"
    path.write_text(json.dumps(scenario))
    done = subprocess.run([sys.executable, "-m", "streamtestbench", "run", "-s", str(path), "--workers", "1",
                           "-o", str(out)], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    results = json.loads(out.read_text())
    assert results["failedMessages"] == 0
    assert results["successfulMessages"] > 2
    assert results["counters"]["http.status.2xx"] == results["successfulMessages"]
    assert results["connectionMetrics"]["failedConnections"] == 0
    assert results["connectionMetrics"]["closedConnections"] == results["connectionMetrics"]["successfulConnections"]
    assert {"http.POST /auth/login", "http.GET /echo"} <= set(results["metrics"])
