"""Hold replies until their release time, in arrival order (the ``stall`` and ``slow`` faults).

One queue and at most one timer per connection, instead of one ``call_at`` per reply: the event
loop's timer heap does not keep equal deadlines in FIFO order, and replies must never overtake
each other. :class:`ReleaseQueue` is pure; :class:`Releaser` adds the loop timer.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ReleaseQueue", "Releaser"]

T = TypeVar("T")

PRECISE_WINDOW_S = 0.0015
"""How long before a release the timer hands over to per-iteration checks."""


class ReleaseQueue(Generic[T]):
    """FIFO of (release_at, item). An item never leaves before the ones queued ahead of it."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: deque[tuple[float, T]] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def push(self, release_at: float, item: T) -> None:
        self._entries.append((release_at, item))

    def next_release(self) -> float | None:
        return self._entries[0][0] if self._entries else None

    def pop_due(self, now: float) -> list[T]:
        """Items whose time has come, stopping at the first that has to wait (order wins)."""
        due: list[T] = []
        entries = self._entries
        while entries and entries[0][0] <= now:
            due.append(entries.popleft()[1])
        return due

    def clear(self) -> None:
        self._entries.clear()


class Releaser(Generic[T]):
    """A :class:`ReleaseQueue` driven by the event loop: ``emit`` is called for each due item.

    Deadlines are on ``time.monotonic`` rather than ``loop.time()`` because uvloop's loop clock
    has millisecond granularity; a timer that fires a little early just re-arms for the rest.
    """

    __slots__ = ("_clock", "_emit", "_generation", "_loop", "_queue", "_timer")

    def __init__(
        self,
        emit: Callable[[T], None],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._loop = loop or asyncio.get_running_loop()
        self._clock = clock
        self._queue: ReleaseQueue[T] = ReleaseQueue()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._generation = 0

    def __bool__(self) -> bool:
        return bool(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, release_at: float, item: T) -> None:
        self._queue.push(release_at, item)
        if self._timer is None:
            self._arm()

    def _arm(self) -> None:
        deadline = self._queue.next_release()
        if deadline is None:
            return
        delay = deadline - self._clock()
        if delay <= PRECISE_WINDOW_S:
            # Loop timers fire up to a millisecond late (uvloop counts in ms): for the last stretch,
            # look again on every loop iteration so a 10 ms fault answers at 10 ms, not 10.8.
            self._timer = self._loop.call_soon(self._fire)
        else:
            self._timer = self._loop.call_later(delay - PRECISE_WINDOW_S, self._fire)

    def _fire(self) -> None:
        self._timer = None
        generation = self._generation
        for item in self._queue.pop_due(self._clock()):
            if self._generation != generation:
                return  # emit cancelled us: the connection is gone
            self._emit(item)
        if self._generation == generation and self._timer is None and self._queue:
            self._arm()

    def cancel(self) -> None:
        """Forget every held item (the connection is gone)."""
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
