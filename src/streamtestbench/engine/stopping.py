"""A stop signal that idle virtual users can wait on cheaply.

Thousands of VUs sleep between messages. ``asyncio.wait_for(event.wait(), t)`` costs a task
per sleeper; here a sleep is one future and one timer, and ``set()`` wakes every sleeper.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

_LOG = logging.getLogger("streamtestbench.stop")


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class StopSignal:
    __slots__ = ("_callbacks", "_is_set", "_waiters")

    def __init__(self) -> None:
        self._is_set = False
        self._waiters: set[asyncio.Future[None]] = set()
        self._callbacks: set[Callable[[], None]] = set()

    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> None:
        self._is_set = True
        waiters, self._waiters = self._waiters, set()
        for future in waiters:
            _wake(future)
        callbacks, self._callbacks = self._callbacks, set()
        for callback in callbacks:
            try:
                callback()
            except Exception:  # one user's failing hook must not keep the others running
                _LOG.exception("stop callback failed")

    def on_set(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once) when the signal is set (at once if it is): what a user with no task watches."""
        if self._is_set:
            callback()
        else:
            self._callbacks.add(callback)

    def discard(self, callback: Callable[[], None]) -> None:
        self._callbacks.discard(callback)

    async def wait(self) -> None:
        if self._is_set:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)
        try:
            await future
        finally:
            self._waiters.discard(future)

    async def until(self, future: asyncio.Future[Any]) -> bool:
        """Wait for ``future`` unless stopped first; True when it finished.

        One future and one callback: an open-model arrival pays this on every iteration, where a
        task for ``wait()`` plus ``asyncio.wait`` would cost several times as much.
        """
        if future.done():
            return True
        if self._is_set:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished(_: asyncio.Future[Any]) -> None:
            _wake(waiter)

        future.add_done_callback(finished)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            self._waiters.discard(waiter)
            future.remove_done_callback(finished)
        return future.done()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopped first; True when the full time passed."""
        if self._is_set:
            return False
        if seconds <= 0:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, future)
        self._waiters.add(future)
        try:
            await future
        finally:
            timer.cancel()
            self._waiters.discard(future)
        return not self._is_set
