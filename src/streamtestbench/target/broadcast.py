"""Channel membership and fan-out (seed 001): who is subscribed where, and each channel's seq.

The hub serialises a broadcast once and hands the same bytes to every subscriber's ``deliver``;
it knows nothing about sockets, so tests use plain objects as subscribers.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol

from .messages import broadcast_message

__all__ = ["ChannelHub", "Subscriber"]


class Subscriber(Hashable, Protocol):
    """Anything that can take a ready-made text message."""

    def deliver(self, payload: bytes) -> None: ...


class _Channel:
    __slots__ = ("seq", "subscribers")

    def __init__(self) -> None:
        self.seq = 0
        # A dict keeps insertion order, so fan-out order is subscription order.
        self.subscribers: dict[Subscriber, None] = {}


class ChannelHub:
    """Channels exist while they have subscribers; a channel's seq starts at 1 each time it appears."""

    __slots__ = ("_channels", "published")

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}
        self.published = 0

    def subscribe(self, channel: str, subscriber: Subscriber) -> bool:
        """Add ``subscriber``; False if it was already there."""
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
        if subscriber in state.subscribers:
            return False
        state.subscribers[subscriber] = None
        return True

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> bool:
        """Remove ``subscriber``; False if it was not subscribed."""
        state = self._channels.get(channel)
        if state is None or subscriber not in state.subscribers:
            return False
        del state.subscribers[subscriber]
        if not state.subscribers:
            del self._channels[channel]
        return True

    def channels(self) -> list[str]:
        """Channels that currently have at least one subscriber."""
        return list(self._channels)

    def subscriber_count(self, channel: str) -> int:
        state = self._channels.get(channel)
        return 0 if state is None else len(state.subscribers)

    def publish(self, channel: str, data: Any, ts_ms: float) -> int:
        """Send one broadcast to every subscriber of ``channel``; returns how many got it."""
        state = self._channels.get(channel)
        if state is None:
            return 0
        state.seq += 1
        self.published += 1
        payload = broadcast_message(channel, state.seq, data, ts_ms)
        # Copy: a subscriber's deliver may unsubscribe it (e.g. when its socket is gone).
        recipients = list(state.subscribers)
        for subscriber in recipients:
            subscriber.deliver(payload)
        return len(recipients)
