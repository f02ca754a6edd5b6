"""The server-side publisher (seed 001): every channel with subscribers gets a broadcast per tick.

Ticks are scheduled at ``start + n * period`` so they do not drift; a tick the loop was too busy
for is skipped rather than bunched up, since a burst would look like a server hiccup to clients.
"""

from __future__ import annotations

import asyncio
import math

from .context import TargetContext
from .messages import now_ms

__all__ = ["BroadcastTicker"]


class BroadcastTicker:
    def __init__(self, ctx: TargetContext, rate_hz: float, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        self._ctx = ctx
        self._period = 1.0 / rate_hz
        self._loop = loop or asyncio.get_running_loop()
        self._start = 0.0
        self._tick = 0
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._start = self._loop.time()
        self._tick = 0
        self._schedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        due = self._start + (self._tick + 1) * self._period
        now = self._loop.time()
        if due < now - self._period:
            # Fell behind by more than a tick: skip ahead instead of firing a burst.
            self._tick = math.floor((now - self._start) / self._period)
            due = self._start + (self._tick + 1) * self._period
        self._timer = self._loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._tick += 1
        self.publish_tick(self._tick)
        self._schedule()

    def publish_tick(self, tick: int) -> int:
        """One broadcast to every channel that has subscribers; returns how many channels got one."""
        ctx = self._ctx
        hub = ctx.hub
        ts = now_ms()
        sent = 0
        for channel in hub.channels():
            if hub.publish(channel, {"tick": tick, "source": "server"}, ts):
                sent += 1
        ctx.stats.broadcasts += sent
        return sent
