"""Seed 001 server broadcasts: every subscribed channel gets messages at --broadcast-rate, seq from 1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from _target_client import WSClient, http_json, run

from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration

RATE_HZ = 20


@pytest.fixture(scope="module")
def broadcaster() -> Iterator[TargetProcess]:
    with TargetProcess("--broadcast-rate", str(RATE_HZ)) as process:
        yield process


async def collect(ws: WSClient, seconds: float) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await ws.recv_json(left))
        except TimeoutError:
            break
    return got


def test_broadcasts_arrive_at_the_configured_rate_with_consecutive_seq(broadcaster: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(broadcaster.ws_url)
        for channel in ("prices", "news"):
            ws.send_json({"type": "subscribe", "channel": channel})
        assert [(await ws.recv_json())["type"] for _ in range(2)] == ["subscribed", "subscribed"]
        messages = await collect(ws, 1.0)
        by_channel: dict[str, list[dict[str, Any]]] = {"prices": [], "news": []}
        for message in messages:
            assert message["type"] == "broadcast"
            by_channel[message["channel"]].append(message)
        now_ms = time.time() * 1000
        for channel, items in by_channel.items():
            assert RATE_HZ * 0.5 <= len(items) <= RATE_HZ * 1.5, (channel, len(items))
            seqs = [m["seq"] for m in items]
            assert seqs == list(range(1, len(items) + 1))  # a new channel starts at 1, no gaps
            stamps = [m["ts"] for m in items]
            assert stamps == sorted(stamps) and all(now_ms - 5000 < ts <= now_ms + 1 for ts in stamps)
            assert all(isinstance(m["data"], dict) for m in items)
        ws.send_json({"type": "unsubscribe", "channel": "prices"})
        ws.send_json({"type": "unsubscribe", "channel": "news"})
        await collect(ws, 0.1)  # drain whatever was in flight
        assert await ws.nothing_for(3 / RATE_HZ)
        await ws.close()

    run(scenario())


def test_unsubscribed_clients_get_no_broadcasts(broadcaster: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(broadcaster.ws_url)
        assert await ws.nothing_for(3 / RATE_HZ)
        await ws.close()

    run(scenario())


def test_broadcasts_are_counted(broadcaster: TargetProcess) -> None:
    assert http_json(broadcaster.port, "GET", "/stats")["broadcasts"] >= RATE_HZ
