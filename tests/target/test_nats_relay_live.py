"""Seed 001 end to end: a NATS publish reaches the target's subscribed WebSocket clients, stamp intact."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from _target_client import WSClient, run

from streamtestbench.protocols.nats_client import NatsClient
from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration

NATS_URL = "nats://127.0.0.1:4222"
PREFIX = f"stb.relaytest.{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def relay_target() -> Iterator[TargetProcess]:
    with TargetProcess("--broadcast-rate", "0", "--nats", NATS_URL,
                       "--relay", f"{PREFIX}.ch.>", "--relay", f"{PREFIX}.all.*=everything") as process:
        yield process


async def subscribed(url: str, channel: str) -> WSClient:
    ws = await WSClient.connect(url)
    ws.send_json({"type": "subscribe", "channel": channel})
    assert (await ws.recv_json())["type"] == "subscribed"
    return ws


def test_a_nats_publish_reaches_every_subscriber_with_the_publishers_stamp(relay_target: TargetProcess) -> None:
    async def scenario() -> tuple[list[Any], list[Any], list[Any]]:
        fx_a = await subscribed(relay_target.ws_url, "fx")
        fx_b = await subscribed(relay_target.ws_url, "fx")
        other = await subscribed(relay_target.ws_url, "rates")
        nats = await NatsClient.connect(NATS_URL)
        stamps = [{"p": "test", "s": seq, "t": time.time_ns()} for seq in range(1, 4)]
        for stamp in stamps:
            nats.publish(f"{PREFIX}.ch.fx", orjson.dumps({"price": stamp["s"], "_stb": stamp}))
        nats.publish(f"{PREFIX}.ch.rates", b"not json")
        await nats.flush()
        got_a = [await fx_a.recv_json() for _ in stamps]
        got_b = [await fx_b.recv_json() for _ in stamps]
        got_other = [await other.recv_json()]
        assert await fx_a.nothing_for(0.2)
        await nats.close()
        for ws in (fx_a, fx_b, other):
            await ws.close()
        return stamps, got_a + got_b, got_other

    stamps, got, got_other = run(scenario())
    expected = [{"type": "broadcast", "channel": "fx", "seq": index + 1, "ts": stamp["t"] / 1e6,
                 "data": {"price": stamp["s"], "_stb": stamp}} for index, stamp in enumerate(stamps)]
    assert got == expected + expected
    assert got_other[0]["data"] == "not json" and got_other[0]["seq"] == 1


def test_a_mapped_relay_sends_every_subject_to_one_channel(relay_target: TargetProcess) -> None:
    async def scenario() -> list[Any]:
        ws = await subscribed(relay_target.ws_url, "everything")
        nats = await NatsClient.connect(NATS_URL)
        for name in ("a", "b"):
            nats.publish(f"{PREFIX}.all.{name}", orjson.dumps({"from": name}))
        await nats.flush()
        got = [await ws.recv_json() for _ in range(2)]
        await nats.close()
        await ws.close()
        return got

    got = run(scenario())
    assert [(m["channel"], m["seq"], m["data"]) for m in got] == [("everything", 1, {"from": "a"}),
                                                                  ("everything", 2, {"from": "b"})]


def test_with_several_workers_each_client_gets_each_message_once() -> None:
    """Every worker process subscribes to NATS and fans out to its own clients."""
    subject = f"{PREFIX}.workers"
    with TargetProcess("--broadcast-rate", "0", "--workers", "2", "--nats", NATS_URL,
                       "--relay", f"{subject}.>") as target:
        async def scenario() -> list[list[int]]:
            clients = [await subscribed(target.ws_url, "w") for _ in range(8)]
            nats = await NatsClient.connect(NATS_URL)
            for index in range(5):
                nats.publish(f"{subject}.w", orjson.dumps({"i": index}))
            await nats.flush()
            got = [[(await ws.recv_json())["data"]["i"] for _ in range(5)] for ws in clients]
            for ws in clients:
                assert await ws.nothing_for(0.1)
                await ws.close()
            await nats.close()
            return got

        assert run(scenario()) == [[0, 1, 2, 3, 4]] * 8


def test_the_target_refuses_to_start_when_nats_is_unreachable() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "streamtestbench", "target", "--port", "0", "--nats", f"nats://127.0.0.1:{port}",
         "--relay", "x.>"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 1
    assert "cannot relay from NATS" in result.stderr


def test_relay_without_nats_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "streamtestbench", "target", "--relay", "x.>"],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "--relay needs --nats" in result.stderr


def test_the_relay_reconnects_when_nats_restarts() -> None:
    """A private nats-server on a free port: kill it, start it again, publishes flow again."""
    import shutil
    import socket

    server_bin = shutil.which("nats-server") or "/usr/sbin/nats-server"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"nats://127.0.0.1:{port}"

    def start_nats() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([server_bin, "-a", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe, __import__("contextlib").suppress(OSError):
                probe.connect(("127.0.0.1", port))
                return process
            time.sleep(0.05)
        process.kill()
        raise RuntimeError("nats-server did not start")

    nats_server = start_nats()
    try:
        with TargetProcess("--broadcast-rate", "0", "--nats", url, "--relay", "re.>",
                           stderr=subprocess.DEVNULL) as target:
            async def publish_and_receive(ws: WSClient, tag: str) -> Any:
                deadline = time.monotonic() + 8
                while time.monotonic() < deadline:
                    try:
                        nats = await NatsClient.connect(url, timeout_s=1)
                    except Exception:
                        await asyncio.sleep(0.1)
                        continue
                    nats.publish("re.ch", orjson.dumps({"tag": tag}))
                    await nats.flush()
                    await nats.close()
                    try:
                        return (await ws.recv_json(0.5))["data"]
                    except TimeoutError:
                        continue
                raise AssertionError("relay never delivered")

            async def scenario() -> tuple[Any, Any]:
                ws = await subscribed(target.ws_url, "ch")
                before = await publish_and_receive(ws, "before")
                nats_server.terminate()
                nats_server.wait(5)
                restarted = start_nats()
                try:
                    after = await publish_and_receive(ws, "after")
                finally:
                    await ws.close()
                    restarted.terminate()
                    restarted.wait(5)
                return before, after

            assert run(scenario()) == ({"tag": "before"}, {"tag": "after"})
    finally:
        if nats_server.poll() is None:
            nats_server.terminate()
            nats_server.wait(5)
