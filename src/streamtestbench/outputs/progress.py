"""Live progress drawn by the parent only: a rich live view on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import IO, Any

from ..metrics.aggregate import Aggregator
from ..metrics.results import is_message_metric
from ..metrics.sample import Outcome


@dataclass
class ProgressLine:
    elapsed: float
    planned: float
    stage: str
    active_connections: int
    sent: int
    received: int
    ok: int
    failed: int
    rate: float
    p95_ms: float
    errors: int
    dropped: int

    def plain(self) -> str:
        return (f"[{self.elapsed:6.1f}s/{self.planned:.0f}s] {self.stage or '-':<14} "
                f"conns={self.active_connections:<6} "
                f"sent={self.sent:<9} recv={self.received:<9} ok={self.ok:<9} failed={self.failed:<6} "
                f"rate={self.rate:,.1f}/s p95={self.p95_ms:.2f}ms errors={self.errors} dropped={self.dropped}")


class Progress:
    """Samples the aggregator every ``every`` seconds and shows one line (or a live panel)."""

    def __init__(self, planned_seconds: float, every: float = 5.0, stream: IO[str] | None = None) -> None:
        self.planned = planned_seconds
        self.every = every
        self.stream = stream or sys.stderr
        self.live: Any = None
        self._last_ok = 0
        self._last_at = 0.0
        if self.stream.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(file=self.stream), refresh_per_second=4, transient=False)

    def start(self) -> None:
        if self.live is not None:
            self.live.start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()

    def snapshot(self, aggregator: Aggregator, elapsed: float) -> ProgressLine:
        totals = aggregator.totals
        messages = [s for k, s in totals.metrics.items() if is_message_metric(k)]
        ok = sum(s.count(Outcome.OK) for s in messages)
        failed = sum(s.count(Outcome.FAILED) + s.count(Outcome.TIMEOUT) for s in messages)
        series = aggregator.series()
        recent = series[-1] if series else None
        p95 = 0.0
        stage = ""
        if recent is not None:
            stage = recent.phase
            values = [m.corrected.get(95.0, 0) for k, m in recent.metrics.items() if is_message_metric(k)]
            p95 = max(values, default=0) / 1000.0
        window = max(elapsed - self._last_at, 1e-9)
        rate = (ok - self._last_ok) / window
        self._last_ok, self._last_at = ok, elapsed
        gauges = aggregator.active_gauges()
        counters = totals.counters
        return ProgressLine(elapsed, self.planned, stage, gauges.active_connections, counters.messages_sent,
                            counters.messages_received, ok, failed, rate, p95,
                            sum(totals.errors_by_kind().values()), counters.dropped_iterations)

    def show(self, line: ProgressLine) -> None:
        if self.live is not None:
            from rich.table import Table

            table = Table(title=f"streamtestbench  {line.elapsed:.0f}s / {line.planned:.0f}s  {line.stage}")
            for column in ("connections", "sent", "received", "ok", "failed", "msg/s", "p95 ms", "errors",
                           "dropped"):
                table.add_column(column, justify="right")
            table.add_row(str(line.active_connections), str(line.sent), str(line.received), str(line.ok),
                          str(line.failed), f"{line.rate:,.1f}", f"{line.p95_ms:.2f}", str(line.errors),
                          str(line.dropped))
            self.live.update(table)
        else:
            print(line.plain(), file=self.stream, flush=True)
