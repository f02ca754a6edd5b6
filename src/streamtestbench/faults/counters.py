"""The result counter names every injection is recorded under (contract: ``injected.*``).

They sit apart from the server's own failures, so a run's report tells what the client caused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario.enums import MutationType


@dataclass(frozen=True)
class InjectionCounts:
    network_delay: str = "injected.network_delay"
    duplicate: str = "injected.duplicate"
    """Counts extra copies sent, so a message sent three times adds 2."""
    schema_drift: str = "injected.schema_drift"
    schema_drift_no_path: str = "injected.schema_drift.no_path"
    """A drift was drawn but its field path is not in this message (or it is not JSON): nothing changed."""
    connection_drop: str = "injected.connection_drop"
    reconnect_storm: str = "injected.reconnect_storm"
    reconnects: str = "reconnects"
    """Every reopened connection, injected or not (the WebSocket behaviour's existing counter)."""

    def schema_drift_of(self, kind: MutationType) -> str:
        return f"{self.schema_drift}.{kind.value}"


COUNTS = InjectionCounts()

DROP_ERROR = "injected connection drop"
"""The error kind of messages in flight on a connection the client dropped on purpose."""
