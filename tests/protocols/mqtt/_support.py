"""Helpers for tests against the shared mosquitto on 127.0.0.1:1883: unique topics, a collecting handler."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from streamtestbench.protocols.mqtt import ClientSession, MqttConnection, MqttHandler, SessionConfig, open_mqtt
from streamtestbench.protocols.mqtt.codec import PacketType, Publish

HOST = "127.0.0.1"
PORT = 1883


def unique_prefix() -> str:
    """A topic prefix no other test (or helper) shares."""
    return f"stb-test/{uuid.uuid4().hex}"


class Inbox(MqttHandler):
    """Collects everything a connection reports."""

    def __init__(self) -> None:
        self.messages: list[Publish] = []
        self.done: list[tuple[Any, int]] = []
        self.requests: list[tuple[PacketType, Any, list[int]]] = []
        self.closed: str | None = None

    def on_message(self, message: Publish) -> None:
        self.messages.append(message)

    def on_publish_done(self, token: Any, reason: int) -> None:
        self.done.append((token, reason))

    def on_request_done(self, kind: PacketType, token: Any, reasons: list[int]) -> None:
        self.requests.append((kind, token, reasons))

    def on_closed(self, error: str | None) -> None:
        self.closed = error

    async def wait(self, what: str, count: int, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(getattr(self, what)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


async def connect(client_id: str, inbox: Inbox, **config: Any) -> tuple[MqttConnection, ClientSession, Any]:
    session = ClientSession(SessionConfig(client_id, **config))
    connection, connected = await open_mqtt(HOST, PORT, session, inbox, timeout_s=5)
    return connection, session, connected


async def subscribe(connection: MqttConnection, session: ClientSession, inbox: Inbox, topic: str,
                    qos: int = 0) -> list[int]:
    before = len(inbox.requests)
    session.subscribe([(topic, qos)], topic)
    connection.flush()
    await inbox.wait("requests", before + 1)
    return inbox.requests[before][2]
