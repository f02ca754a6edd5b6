"""A small graphql-transport-ws server on loopback for the client's tests (picows, scripted behaviour)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server


@dataclass
class Script:
    token: str | None = None
    """When set, connection_init must carry {"Authorization": token} or the server closes with 4403."""
    acknowledge: bool = True
    ping_after_ack: bool = False
    events: int = 2
    """``next`` messages sent for each subscribe (counting 1, 2, ...)."""
    end: str = "complete"
    """After the events: "complete", "error", "close" (close 4500) or "none" (stay open)."""
    raw_after_subscribe: bytes | None = None
    """A frame sent right after subscribe instead of events (malformed-frame tests)."""
    binary_after_subscribe: bool = False
    received: list[Any] = field(default_factory=list)
    close_codes: list[int] = field(default_factory=list)
    upgrade_headers: list[dict[str, str]] = field(default_factory=list)


class _Server(WSListener):
    def __init__(self, script: Script) -> None:
        self.script = script

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            self.script.close_codes.append(int(frame.get_close_code().value))
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not WSMsgType.TEXT:
            return
        message = orjson.loads(frame.get_payload_as_bytes())
        self.script.received.append(message)
        kind = message.get("type")
        if kind == "connection_init":
            self._init(transport, message)
        elif kind == "subscribe":
            self._subscribe(transport, message["id"])

    def _init(self, transport: WSTransport, message: dict[str, Any]) -> None:
        script = self.script
        if script.token is not None and (message.get("payload") or {}).get("Authorization") != script.token:
            transport.send_close(WSCloseCode(4403), b"Forbidden")
            transport.disconnect()
            return
        if script.acknowledge:
            _send(transport, {"type": "connection_ack"})
        if script.ping_after_ack:
            _send(transport, {"type": "ping", "payload": {"at": 1}})

    def _subscribe(self, transport: WSTransport, operation_id: str) -> None:
        script = self.script
        if script.binary_after_subscribe:
            transport.send(WSMsgType.BINARY, b"\x00\x01")
            return
        if script.raw_after_subscribe is not None:
            transport.send(WSMsgType.TEXT, script.raw_after_subscribe)
            return
        for count in range(1, script.events + 1):
            _send(transport, {"id": operation_id, "type": "next", "payload": {"data": {"ticked": count}}})
        if script.end == "complete":
            _send(transport, {"id": operation_id, "type": "complete"})
        elif script.end == "error":
            _send(transport, {"id": operation_id, "type": "error", "payload": [{"message": "boom"}]})
        elif script.end == "close":
            transport.send_close(WSCloseCode(4500), b"Internal")
            transport.disconnect()


def _send(transport: WSTransport, message: dict[str, Any]) -> None:
    transport.send(WSMsgType.TEXT, orjson.dumps(message))


@asynccontextmanager
async def graphql_ws_server(script: Script) -> AsyncIterator[str]:
    """Serve ``script`` on 127.0.0.1; yields the ws:// URL of /graphql."""

    def factory(request: WSUpgradeRequest) -> _Server:
        script.upgrade_headers.append({k.lower(): v for k, v in request.headers.items()})
        return _Server(script)

    server = await ws_create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
