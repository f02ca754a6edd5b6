"""Credentials on WebSocket upgrades: every auth type, and seed 004's login against the target."""

from __future__ import annotations

import asyncio
import base64
import random
import time
from typing import Any

import pytest

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.websocket import WebSocketBehaviour
from streamtestbench.flows.websocket_auth import UpgradeCredentials, http_base
from streamtestbench.scenario.auth import Authentication
from streamtestbench.scenario.model import Scenario
from streamtestbench.target.process import TargetProcess

URL = "ws://127.0.0.1:1/ws"


def credentials(auth: dict[str, Any] | None) -> UpgradeCredentials:
    return UpgradeCredentials(None if auth is None else Authentication.model_validate(auth), URL, NullRecorder())


def headers(auth: dict[str, Any] | None) -> dict[str, str] | None:
    return asyncio.run(credentials(auth).headers())


def test_static_kinds_and_jwt_need_no_request() -> None:
    assert headers({"type": "BEARER_TOKEN", "credentials": {"token": "t"}}) == {"Authorization": "Bearer t"}
    basic = headers({"type": "BASIC_AUTH", "credentials": {"username": "u", "password": "p"}})
    assert basic is not None and base64.b64decode(basic["Authorization"].split()[1]) == b"u:p"
    assert headers({"type": "API_KEY", "credentials": {"key": "k"}}) == {"X-API-Key": "k"}
    jwt = headers({"type": "JWT", "credentials": {"secret": "s" * 32}})
    assert jwt is not None and jwt["Authorization"].startswith("Bearer ey")
    assert headers(None) == {}


def test_an_api_key_in_the_query_goes_on_the_upgrade_url() -> None:
    key = credentials({"type": "API_KEY", "credentials": {"key": "k 1", "in": "query", "name": "token"}})
    assert key.url("ws://h/ws") == "ws://h/ws?token=k%201"
    assert key.url("ws://h/ws?a=1") == "ws://h/ws?a=1&token=k%201"


def test_a_relative_login_url_is_posted_to_the_websocket_servers_http_side() -> None:
    assert http_base("ws://127.0.0.1:8000/ws") == "http://127.0.0.1:8000"
    assert http_base("wss://localhost:8443/a/b?x=1") == "https://localhost:8443"


def login_scenario(port: int, password: str) -> Scenario:
    return Scenario.model_validate({
        "name": "ws login", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{port}/ws",
        "duration_seconds": 2, "connections": 2,
        "authentication": {"type": "BEARER_TOKEN", "login": {
            "url": "/auth/login", "json": {"username": "loadtest", "password": password}}},
        "flow": [{"send": {"json": {"type": "ping"}, "expect": {"match": {"type": "pong"}}}}],
    })


class Counting(NullRecorder):
    def __init__(self) -> None:
        self.names: list[tuple[str, str | None]] = []
        self.failed: list[str] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.names.append((name, error))

    def connection_failed(self, error: str) -> None:
        self.failed.append(error)


async def one_iteration(scenario: Scenario, recorder: Counting) -> None:
    behaviour = WebSocketBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
    await behaviour.run_iteration(0, time.monotonic_ns(), StopSignal())
    await behaviour.run_iteration(1, time.monotonic_ns(), StopSignal())
    await behaviour.close()


@pytest.mark.integration
def test_login_once_then_every_upgrade_carries_the_token() -> None:
    recorder = Counting()
    with TargetProcess("--auth") as target:
        asyncio.run(one_iteration(login_scenario(target.port, "loadtestpassword"), recorder))
    assert recorder.names.count(("http.POST /auth/login", None)) == 1
    assert recorder.names.count(("ws.ping", None)) == 2
    assert recorder.failed == []


@pytest.mark.integration
def test_a_refused_login_fails_the_connection_without_sending() -> None:
    recorder = Counting()
    with TargetProcess("--auth") as target:
        asyncio.run(one_iteration(login_scenario(target.port, "wrong"), recorder))
    assert recorder.failed == ["login failed", "login failed"]
    assert not any(name.startswith("ws.") for name, _ in recorder.names)
