"""What one virtual user does, independent of how many run or when they start.

Executors decide *when* and *how many*; a Behaviour decides *what*: run the flow in a
loop on one connection (closed model), run it once for an arrival (open model), or
send at a per-connection rate. Each protocol provides one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .stopping import StopSignal


class Behaviour(Protocol):
    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        """Hold one connection until ``stop``: loop the flow, or send at ``next_due(i)`` (monotonic ns)."""

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        """One pass of the flow for an open-model arrival scheduled at ``scheduled_ns``."""

    async def close(self) -> None:
        """Release anything kept between iterations (pooled connections)."""
