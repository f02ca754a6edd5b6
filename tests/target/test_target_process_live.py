"""The target as a program: refusals at start, clean shutdown on signals, workers, the token command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from _target_client import WSClient, http_json, http_request, run
from click.testing import CliRunner

from streamtestbench.auth.jwt import verify_token
from streamtestbench.target.command import token_command
from streamtestbench.target.process import TargetProcess, TargetStartError

pytestmark = pytest.mark.integration


def run_target_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamtestbench.target", *args],
        capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "192.168.1.10", "example.com", "::"])
def test_non_loopback_host_is_refused(host: str) -> None:
    result = run_target_cli("--host", host, "--port", "0")
    assert result.returncode == 2
    assert "loopback" in result.stderr and result.stdout == ""


def test_bad_fault_spec_is_refused_with_the_allowed_forms() -> None:
    result = run_target_cli("--port", "0", "--fault", "slow:10", "--fault", "explode:3")
    assert result.returncode == 2
    assert "explode:3" in result.stderr and "stall:SECONDS[@AFTER]" in result.stderr


def test_target_process_reports_a_start_failure() -> None:
    with pytest.raises(TargetStartError, match="exited"):
        TargetProcess("--fault", "nope", stderr=subprocess.DEVNULL).start()


def test_prints_exactly_one_listening_line() -> None:
    target = TargetProcess("--broadcast-rate", "0").start()
    try:
        assert target.listening_line == (
            f"streamtestbench target listening on http://127.0.0.1:{target.port} (ws://127.0.0.1:{target.port}/ws)"
        )
        assert target.port > 0
    finally:
        assert target.stop() == 0
    assert target.proc is not None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_websockets_with_1001_and_exits_0(signum: signal.Signals) -> None:
    target = TargetProcess("--broadcast-rate", "0").start()

    async def scenario() -> float:
        ws = await WSClient.connect(target.ws_url)
        ws.send_json({"type": "ping"})
        await ws.recv_json()
        start = time.monotonic()
        os.kill(target.pid, signum)
        closing = await ws.recv(timeout=3)
        assert closing.close_code == 1001
        await ws.wait_disconnected()
        return time.monotonic() - start

    try:
        assert run(scenario()) < 2.0
        start = time.monotonic()
        assert target.proc is not None
        assert target.proc.wait(timeout=5) == 0
        assert time.monotonic() - start < 2.0
    finally:
        if target.proc is not None and target.proc.poll() is None:
            target.stop()


def test_shutdown_is_quick_with_idle_http_keep_alive_connections() -> None:
    import http.client

    target = TargetProcess("--broadcast-rate", "0").start()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
    try:
        conn.request("GET", "/health")
        conn.getresponse().read()  # the connection stays open (keep-alive)
        start = time.monotonic()
        assert target.stop() == 0
        assert time.monotonic() - start < 2.0
    finally:
        conn.close()


def test_ipv6_loopback_when_available() -> None:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with TargetProcess("--broadcast-rate", "0", host="::1") as target:
        assert target.host == "[::1]"
        assert http_request(target.port, "GET", "/health", host="::1")[0] == 200


def test_workers_share_the_port_and_aggregate_stats() -> None:
    with TargetProcess("--workers", "2", "--broadcast-rate", "0") as target:

        async def scenario() -> set[int]:
            clients = [await WSClient.connect(target.ws_url) for _ in range(12)]
            for client in clients:
                for i in range(5):
                    client.send_json({"type": "ping", "id": i})
            for client in clients:
                assert [(await client.recv_json())["id"] for _ in range(5)] == list(range(5))
            for client in clients:
                await client.close()
            return set()

        http_json(target.port, "POST", "/stats/reset")
        time.sleep(0.15)
        run(scenario())
        time.sleep(0.2)  # let the other worker flush its counters
        stats = http_json(target.port, "GET", "/stats")
        assert stats["workers"] == 2
        assert stats["messages"] == {"in": 60, "out": 60}
        assert stats["websockets"]["total"] == 12
        # A fault switched through one worker reaches the other one too.
        http_json(target.port, "POST", "/admin/faults", {"fault": "drop:1"})
        time.sleep(0.2)

        async def dropped() -> bool:
            quiet = True
            for _ in range(6):  # several connections, so both workers are asked
                ws = await WSClient.connect(target.ws_url)
                ws.send_json({"type": "ping"})
                quiet = quiet and await ws.nothing_for(0.1)
                await ws.close()
            return quiet

        assert run(dropped())
        assert target.stop() == 0


def test_token_command_prints_a_24h_jwt() -> None:
    result = CliRunner().invoke(token_command, ["--secret", "cli-secret-long-enough-for-hs256-xx", "--subject", "me"])
    assert result.exit_code == 0
    claims = verify_token(result.output.strip(), "cli-secret-long-enough-for-hs256-xx")
    assert claims["sub"] == "me" and claims["exp"] - claims["iat"] == 86400


def test_token_command_uses_the_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STB_JWT_SECRET", "env-secret-long-enough-for-hs256-xxxxx")
    result = CliRunner().invoke(token_command, ["--ttl", "60"])
    claims = verify_token(result.output.strip(), "env-secret-long-enough-for-hs256-xxxxx")
    assert claims["exp"] - claims["iat"] == 60


def test_target_and_token_agree_on_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STB_JWT_SECRET", raising=False)
    token = CliRunner().invoke(token_command, []).output.strip()
    env = {k: v for k, v in os.environ.items() if k != "STB_JWT_SECRET"}
    with TargetProcess("--auth", "--broadcast-rate", "0", env=env) as target:
        assert http_request(target.port, "GET", "/echo", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert http_request(target.port, "GET", "/echo")[0] == 401


def test_asyncio_loop_variant_works_too() -> None:
    with TargetProcess("--loop", "asyncio", "--broadcast-rate", "0") as target:

        async def scenario() -> None:
            ws = await WSClient.connect(target.ws_url)
            ws.send_json({"type": "ping", "id": 1})
            assert await ws.recv_json() == {"type": "pong", "id": 1}
            await ws.close()

        run(scenario())
        assert http_request(target.port, "GET", "/echo")[0] == 200
        assert asyncio.iscoroutinefunction(scenario)
