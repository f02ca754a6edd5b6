"""What one virtual user does, independent of how many run or when they start.

Executors decide *when* and *how many*; a Behaviour decides *what*: run the flow in a
loop on one connection (closed model), run it once for an arrival (open model), or
send at a per-connection rate. Each protocol provides one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .stopping import StopSignal


class Behaviour(Protocol):
    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        """Hold one connection until ``stop``: loop the flow, or send at ``next_due(i)`` (monotonic ns)."""

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        """One pass of the flow for an open-model arrival scheduled at ``scheduled_ns``."""

    async def close(self) -> None:
        """Release anything kept between iterations (pooled connections)."""


@runtime_checkable
class PreparesArrivals(Protocol):
    async def prepare_arrivals(self, users: int) -> None:
        """Before the start: ready ``users`` pre-allocated open-model users (k6's preAllocatedVUs)."""


@runtime_checkable
class StartsIterations(Protocol):
    def start_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> asyncio.Future[None]:
        """Begin one open-model pass from a callback, with no task; the future settles when it ends.

        On ``stop`` the pass gets the grace period, as ``run_iteration`` gives it. At thousands of
        arrivals a second, a task per arrival costs several loop turns before its user is free again.
        """
