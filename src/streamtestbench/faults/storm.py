"""A reconnect storm: at one moment of the run, a fixed fraction of the connections drop together.

Which connections belong to the storm depends only on their unit number, spread evenly by the
golden ratio, so the fraction holds across workers and runs without any coordination.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..scenario.injection import FailureInjection

GOLDEN = 0.6180339887498949


class ReconnectStorm:
    def __init__(self, at_seconds: float, fraction: float, reconnect_delay_s: float) -> None:
        self.at_seconds = at_seconds
        self.fraction = fraction
        self.reconnect_delay_s = reconnect_delay_s

    @classmethod
    def from_scenario(cls, config: FailureInjection | None) -> ReconnectStorm | None:
        storm = config.reconnect_storm if config is not None and config.enabled else None
        if storm is None or not storm.enabled:
            return None
        return cls(storm.at_seconds, storm.fraction, storm.reconnect_delay_ms / 1000)

    def selects(self, unit: int) -> bool:
        """Whether connection ``unit`` is one the storm drops: ``fraction`` of any run of units."""
        return (unit * GOLDEN) % 1.0 < self.fraction

    def arm(self, unit: int, run_start_ns: int, now_ns: int, drop: Callable[[], None]) -> asyncio.TimerHandle | None:
        """Schedule ``drop`` for the storm's moment, if ``unit`` is in it and the moment is still ahead."""
        if not self.selects(unit):
            return None
        delay_s = (run_start_ns - now_ns) / 1e9 + self.at_seconds
        if delay_s < 0:
            return None
        return asyncio.get_running_loop().call_later(delay_s, drop)
