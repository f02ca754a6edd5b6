"""The hand-off to picows works on every loop/transport combination (uvloop or asyncio, with or
without aiofastnet), driven in-process so each combination costs milliseconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop
from _target_client import WSClient, masked_frame, upgrade_request
from picows import WSMsgType

from streamtestbench.target.config import TargetConfig
from streamtestbench.target.server import bound_port, start_target, stop_target

pytestmark = pytest.mark.integration


async def _http(port: int, raw: bytes, until: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    data = b""
    while until not in data:
        chunk = await asyncio.wait_for(reader.read(65536), 3)
        if not chunk:
            break
        data += chunk
    writer.close()
    return data


async def _scenario(use_aiofastnet: bool) -> None:
    config = TargetConfig(port=0, jwt_secret="in-process-secret", broadcast_rate=0, use_aiofastnet=use_aiofastnet)
    ctx, server, ticker = await start_target(config)
    port = bound_port(server)
    try:
        ws = await WSClient.connect(f"ws://127.0.0.1:{port}/ws")
        ws.send_json({"type": "ping", "id": 5})
        assert await ws.recv_json() == {"type": "pong", "id": 5}
        ws.send_bytes(b"\x00" * 300_000)  # bigger than picows' initial read buffer
        got = await ws.recv()
        assert got.msg_type == WSMsgType.BINARY and len(got.payload) == 300_000
        await ws.close()

        raw = upgrade_request("/ws") + masked_frame(b"tail")
        reply = await _http(port, raw, b"tail")
        assert reply.startswith(b"HTTP/1.1 101") and reply.endswith(b"\x82\x04tail")

        reply = await _http(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"}")
        assert reply.startswith(b"HTTP/1.1 200") and json.loads(reply.split(b"\r\n\r\n", 1)[1])["status"] == "ok"

        continue_head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(continue_head)
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"body")
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert final.startswith(b"HTTP/1.1 200")
        writer.close()

        totals = ctx.totals()
        assert totals["ws_total"] == 2 and totals["messages_in"] == 3
    finally:
        await stop_target(ctx, server, ticker)
    assert not ctx.connections


Runner = Callable[[Coroutine[Any, Any, None]], None]


@pytest.mark.parametrize("runner", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
@pytest.mark.parametrize("use_aiofastnet", [True, False], ids=["aiofastnet", "loop-transport"])
def test_handoff_on_every_loop_and_transport(runner: Runner, use_aiofastnet: bool) -> None:
    runner(_scenario(use_aiofastnet))
