"""The state one target process shares between its connections: config, counters, faults, channels."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from .broadcast import ChannelHub
from .config import TargetConfig
from .datastore import DataStore
from .faults import Fault, FaultController
from .stats import Stats, stats_document, vector_to_totals

__all__ = ["Closable", "StatsSource", "TargetContext"]


class Closable(Protocol):
    """A live connection the server can ask to go away on shutdown."""

    def shutdown(self) -> None: ...


class StatsSource(Protocol):
    """Where /stats reads from: this process only, or every worker's shared slot."""

    def vector(self) -> list[int]: ...

    def reset(self) -> None: ...


class _LocalStats:
    __slots__ = ("_stats",)

    def __init__(self, stats: Stats) -> None:
        self._stats = stats

    def vector(self) -> list[int]:
        return self._stats.vector()

    def reset(self) -> None:
        self._stats.reset()


class TargetContext:
    """Created once per process by the server; every protocol and listener holds a reference."""

    __slots__ = (
        "_data",
        "clock",
        "config",
        "connections",
        "fault_sink",
        "faults",
        "hub",
        "started_at",
        "stats",
        "stats_source",
        "stopping",
        "workers",
    )

    def __init__(
        self,
        config: TargetConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        stats: Stats | None = None,
        stats_source: StatsSource | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.started_at = clock()
        self.stats = stats or Stats()
        self.stats_source: StatsSource = stats_source or _LocalStats(self.stats)
        self.faults = FaultController(config.faults, now=self.started_at, seed=config.seed)
        self.hub = ChannelHub()
        # Every open connection (HTTP or WebSocket), so shutdown can close them.
        self.connections: set[Closable] = set()
        self.stopping = False
        self.workers = config.workers
        self._data: DataStore | None = None
        # Told about runtime fault changes, so other worker processes can follow (see workers.py).
        self.fault_sink: Callable[[list[str]], None] | None = None

    def set_faults(self, faults: Iterable[Fault]) -> None:
        """Switch the faults in force now (POST /admin/faults), here and in sibling workers."""
        self.faults.set(faults, self.clock())
        if self.fault_sink is not None:
            self.fault_sink(self.faults.specs())

    @property
    def data(self) -> DataStore:
        """Users and posts for the REST, GraphQL and MCP endpoints, built on first use."""
        if self._data is None:
            self._data = DataStore()
        return self._data

    def uptime(self) -> float:
        return self.clock() - self.started_at

    def stats_document(self) -> dict[str, object]:
        totals = vector_to_totals(self.stats_source.vector())
        return stats_document(
            totals, uptime_seconds=self.uptime(), active_faults=self.faults.specs(), workers=self.workers
        )

    def totals(self) -> dict[str, int]:
        return vector_to_totals(self.stats_source.vector())
