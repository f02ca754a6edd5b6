"""The worker's Recorder: turns protocol and flow events into samples and counters.

Metric ids and error codes are resolved once per (name, stage) and cached, so the hot
path is a dict lookup and one ``array.extend``.
"""

from __future__ import annotations

import time

from ..metrics.names import CONNECT, FIRST_MESSAGE, PUSH_PREFIX
from ..metrics.sample import NO_ERROR, Outcome
from ..metrics.snapshot import Recorder as MetricsRecorder


def outcome_of(error: str) -> Outcome:
    return Outcome.TIMEOUT if "timeout" in error.lower() else Outcome.FAILED


class WorkerSink:
    """Implements ``engine.recording.Recorder`` on top of the metrics Recorder."""

    def __init__(self, metrics: MetricsRecorder) -> None:
        self.metrics = metrics
        self.stage = ""
        self._by_stage: dict[str, dict[str, int]] = {"": {}}
        self._ids: dict[str, int] = self._by_stage[""]
        self._errors: dict[str, tuple[int, int]] = {}
        self._append = metrics.buffer.append
        self._append_row = metrics.buffer.append_row
        self._counters = metrics.counters
        self._push_ids: dict[str, int] = {}
        """Push metric ids by bare name for the current stage (pushes arrive at broadcast rates)."""

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self._ids = self._by_stage.setdefault(stage, {})
        self._push_ids = {}

    def _metric(self, name: str) -> int:
        metric = self._ids.get(name)
        if metric is None:
            metric = self._ids[name] = self.metrics.metric(name, {"stage": self.stage} if self.stage else None)
        return metric

    def _error(self, kind: str) -> tuple[int, int]:
        found = self._errors.get(kind)
        if found is None:
            found = self._errors[kind] = (self.metrics.error_code(kind), int(outcome_of(kind)))
        return found

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        if error is None:
            metric = self._ids.get(name)
            if metric is None:
                metric = self._metric(name)
            self._append_row((metric, intended_ns, start_ns, end_ns, nbytes, 0, NO_ERROR))
        else:
            code, outcome = self._error(error)
            self._append(self._metric(name), intended_ns, start_ns, end_ns, nbytes, outcome, code)

    def sent(self, nbytes: int, count: int = 1) -> None:
        self._counters.messages_sent += count

    def received(self, nbytes: int, count: int = 1) -> None:
        self._counters.messages_received += count

    def connection_attempt(self) -> None:
        self._counters.connections_attempted += 1

    def connection_open(self, connect_ns: int) -> None:
        self._counters.connections_opened += 1
        self.metrics.gauges.active_connections += 1
        end = time.monotonic_ns()
        self._append(self._metric(CONNECT), end - connect_ns, end - connect_ns, end, 0, 0, NO_ERROR)

    def connection_failed(self, error: str) -> None:
        self._counters.connections_failed += 1
        self._counters.error(error)

    def connection_closed(self, error: str | None = None) -> None:
        self._counters.connections_closed += 1
        self.metrics.gauges.active_connections -= 1
        if error is not None:
            self._counters.error(error)

    def first_message(self, latency_ns: int) -> None:
        end = time.monotonic_ns()
        self._append(self._metric(FIRST_MESSAGE), end - latency_ns, end - latency_ns, end, 0, 0, NO_ERROR)

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        end = time.monotonic_ns()
        start = end - max(latency_ns, 0)
        metric = self._push_ids.get(name)
        if metric is None:
            metric = self._push_ids[name] = self._metric(PUSH_PREFIX + name)
        self._append(metric, start, start, end, nbytes, 0, NO_ERROR)
        if gap:
            self._counters.incr("push_gaps", gap)
        if reordered:
            self._counters.incr("push_reordered")

    def error(self, kind: str) -> None:
        self._counters.error(kind)

    def count(self, name: str, value: int = 1) -> None:
        if name == "dropped_iterations":
            self._counters.dropped_iterations += value
        elif name == "reconnects":
            self._counters.reconnects += value
        else:
            self._counters.incr(name, value)

    def vus(self, delta: int) -> None:
        self.metrics.gauges.active_vus += delta
