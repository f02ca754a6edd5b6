"""Metrics core: one sample record, bulk HDR recording, exact worker-to-parent merging.

Flow: the engine appends samples to a worker's :class:`Recorder` buffer on the hot path;
once per interval ``Recorder.snapshot()`` bulk-records them into HDR histograms and the
worker ships ``IntervalSnapshot.to_bytes()`` to the parent, whose :class:`Aggregator`
merges them exactly into totals, per-phase totals and a per-interval time series.
"""

from .aggregate import DEFAULT_PERCENTILES, Aggregator, IntervalSummary, MetricSummary, Totals, WorkerState
from .hdr import LATENCY_US, HdrHistogram, HdrLayout
from .sample import (
    COMMON_ERROR_KINDS,
    NO_ERROR,
    ErrorKinds,
    MetricKey,
    MetricRegistry,
    Outcome,
    Sample,
    SampleBatch,
    SampleBuffer,
)
from .snapshot import Counters, Gauges, IntervalSnapshot, MetricStats, Recorder, stats_from_batch

__all__ = [
    "COMMON_ERROR_KINDS",
    "DEFAULT_PERCENTILES",
    "LATENCY_US",
    "NO_ERROR",
    "Aggregator",
    "Counters",
    "ErrorKinds",
    "Gauges",
    "HdrHistogram",
    "HdrLayout",
    "IntervalSnapshot",
    "IntervalSummary",
    "MetricKey",
    "MetricRegistry",
    "MetricStats",
    "MetricSummary",
    "Outcome",
    "Recorder",
    "Sample",
    "SampleBatch",
    "SampleBuffer",
    "Totals",
    "WorkerState",
    "stats_from_batch",
]
