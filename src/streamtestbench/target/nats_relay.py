"""Seed 001's broker feed: relay NATS messages to subscribed WebSocket clients as broadcasts.

A publisher puts messages on NATS; the target subscribes (``--relay SUBJECT``) and fans each one
out to the channel named by the subject's last token (``prices.eu`` -> ``eu``), or to a fixed
channel (``--relay 'prices.>=prices'``). The broadcast is the hub's usual message with its own
per-channel ``seq`` (gap detection), but its ``ts`` is the publisher's embedded timestamp
(``_stb.t``, epoch ns) when there is one, so clients measure publish -> delivery, not relay ->
delivery. The publisher's payload, stamp included, is the broadcast's ``data``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from ..protocols.nats import Msg, NatsError
from ..protocols.nats_client import MessageHandler, NatsClient
from .context import TargetContext
from .messages import now_ms

__all__ = ["NatsRelay", "RelayRoute", "RelayStartError", "parse_relay", "publish_timestamp_ms"]

STAMP_KEY = "_stb"
RECONNECT_DELAY_S = 0.5


class RelayStartError(RuntimeError):
    """The relay could not reach NATS when the target started."""


@dataclass(frozen=True, slots=True)
class RelayRoute:
    """One ``--relay``: a subject pattern, and the channel it feeds (None: the subject's last token)."""

    subject: str
    channel: str | None = None

    def channel_for(self, subject: str) -> str:
        return self.channel if self.channel is not None else subject.rsplit(".", 1)[-1]


def parse_relay(spec: str) -> RelayRoute:
    """``SUBJECT`` or ``SUBJECT=CHANNEL``; raises ValueError naming what is wrong."""
    subject, sep, channel = spec.partition("=")
    subject = subject.strip()
    if not subject or any(ch.isspace() for ch in subject) or "" in subject.split("."):
        raise ValueError(f"--relay needs a NATS subject such as 'prices.>' or 'prices.*=prices', got {spec!r}")
    if sep and not channel.strip():
        raise ValueError(f"--relay {spec!r} names no channel after '='")
    return RelayRoute(subject, channel.strip() if sep else None)


def publish_timestamp_ms(message: Any) -> float | None:
    """The publisher's ``_stb.t`` (epoch ns) in epoch ms, the unit of a broadcast's ``ts``."""
    if not isinstance(message, dict):
        return None
    stamp = message.get(STAMP_KEY)
    if not isinstance(stamp, dict):
        return None
    t = stamp.get("t")
    if isinstance(t, int) and not isinstance(t, bool):
        return t / 1e6
    return None


def decode_payload(payload: bytes) -> Any:
    """JSON payloads travel as JSON; anything else as text."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", errors="replace")


class NatsRelay:
    """Holds the target's NATS connection; reconnects in the background if the server goes away."""

    def __init__(self, ctx: TargetContext, url: str, routes: tuple[RelayRoute, ...]) -> None:
        self._ctx = ctx
        self._url = url
        self._routes = routes
        self._client: NatsClient | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._stopping = False
        self.relayed = 0
        self.delivered = 0

    async def start(self, timeout_s: float = 5.0) -> None:
        try:
            await self._connect(timeout_s)
        except NatsError as exc:
            raise RelayStartError(f"cannot relay from NATS at {self._url}: {exc}") from None

    async def _connect(self, timeout_s: float) -> None:
        client = await NatsClient.connect(self._url, name="streamtestbench-target-relay", timeout_s=timeout_s)
        for route in self._routes:
            client.subscribe(route.subject, self._handler(route))
        await client.flush(timeout_s)
        client.on_disconnect = self._on_disconnect
        self._client = client

    def _handler(self, route: RelayRoute) -> MessageHandler:
        def on_message(msg: Msg) -> None:
            self.relay(route.channel_for(msg.subject), msg.payload)

        return on_message

    def relay(self, channel: str, payload: bytes) -> int:
        """Fan one NATS message out to ``channel``'s subscribers; returns how many got it."""
        data = decode_payload(payload)
        ts = publish_timestamp_ms(data)
        ctx = self._ctx
        reached = ctx.hub.publish(channel, data, ts if ts is not None else now_ms())
        self.relayed += 1
        if reached:
            ctx.stats.broadcasts += 1
            self.delivered += reached
        return reached

    def _on_disconnect(self, _exc: BaseException | None) -> None:
        self._client = None
        if not self._stopping and self._reconnect is None:
            print(f"streamtestbench target: lost NATS at {self._url}; reconnecting", file=sys.stderr, flush=True)
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        try:
            while not self._stopping:
                await asyncio.sleep(RECONNECT_DELAY_S)
                with contextlib.suppress(NatsError):
                    await self._connect(2.0)
                    return
        finally:
            self._reconnect = None

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        client, self._client = self._client, None
        if client is not None:
            await client.close()


async def start_relay(ctx: TargetContext) -> NatsRelay | None:
    """The relay ``ctx.config`` asks for (``--nats`` with ``--relay``), started; None without one."""
    config = ctx.config
    if not config.nats_url or not config.relays:
        return None
    relay = NatsRelay(ctx, config.nats_url, tuple(parse_relay(spec) for spec in config.relays))
    await relay.start()
    return relay
