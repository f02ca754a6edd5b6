"""Plain clients for the integration tests: picows for WebSocket, http.client / raw sockets for HTTP.

Deliberately nothing from streamtestbench's own engine, so the target is checked by an outsider.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

# The --jwt-secret the test targets are started with.
SECRET = "integration-test-secret-long-enough-for-hs256"


@dataclass
class Got:
    msg_type: WSMsgType
    payload: bytes
    close_code: int | None = None
    close_reason: str | None = None

    def json(self) -> Any:
        assert self.msg_type == WSMsgType.TEXT, self
        return json.loads(self.payload)


class _Collector(WSListener):
    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[Got] = asyncio.Queue()
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            code = frame.get_close_code().value
            self.queue.put_nowait(Got(WSMsgType.CLOSE, b"", code, frame.get_close_reason()))
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()
            return
        self.queue.put_nowait(Got(frame.msg_type, frame.get_payload_as_bytes()))


class WSClient:
    """One connection; frames land in a queue that ``recv`` reads with a timeout."""

    def __init__(self, transport: WSTransport, listener: _Collector) -> None:
        self.transport = transport
        self._listener = listener

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str] | None = None) -> WSClient:
        transport, listener = await ws_connect(_Collector, url, extra_headers=headers, websocket_handshake_timeout=5)
        assert isinstance(listener, _Collector)
        return cls(transport, listener)

    def send_json(self, obj: Any) -> None:
        self.transport.send(WSMsgType.TEXT, json.dumps(obj).encode())

    def send_text(self, text: str | bytes) -> None:
        self.transport.send(WSMsgType.TEXT, text.encode() if isinstance(text, str) else text)

    def send_bytes(self, data: bytes) -> None:
        self.transport.send(WSMsgType.BINARY, data)

    async def recv(self, timeout: float = 3.0) -> Got:
        return await asyncio.wait_for(self._listener.queue.get(), timeout)

    async def recv_json(self, timeout: float = 3.0) -> Any:
        return (await self.recv(timeout)).json()

    async def nothing_for(self, seconds: float) -> bool:
        """True if no frame arrives within ``seconds``."""
        try:
            got = await asyncio.wait_for(self._listener.queue.get(), seconds)
        except TimeoutError:
            return True
        self._listener.queue.put_nowait(got)
        return False

    async def close(self) -> None:
        if not self.transport.is_disconnected:
            self.transport.send_close(WSCloseCode.OK)
            try:
                await asyncio.wait_for(self.transport.wait_disconnected(), 3)
            except TimeoutError:
                self.transport.disconnect()

    async def wait_disconnected(self, timeout: float = 3.0) -> None:
        await asyncio.wait_for(self.transport.wait_disconnected(), timeout)

    @property
    def server_close_code(self) -> int | None:
        handshake = self.transport.close_handshake
        if handshake is None or handshake.recv is None:
            return None
        return handshake.recv.code.value


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    host: str = "127.0.0.1",
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: (status, lower-cased headers, body)."""
    if isinstance(body, dict):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def http_json(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    status, _, data = http_request(port, method, path, body, headers)
    assert status == 200, (status, data)
    return json.loads(data)


def raw_exchange(port: int, data: bytes, until: bytes | None = None, timeout: float = 3.0) -> bytes:
    """Send raw bytes; read until ``until`` shows up, the server closes, or ``timeout`` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while until is None or until not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
        return received


def upgrade_request(path: str, extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


def masked_frame(payload: bytes, opcode: int = 0x2, fin: bool = True) -> bytes:
    """A client frame (masked, as RFC 6455 requires) for payloads under 126 bytes."""
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", (0x80 if fin else 0) | opcode, 0x80 | len(payload)) + mask + masked


def run(coro: Any) -> Any:
    """Run one async scenario on a fresh event loop."""
    return asyncio.run(coro)
