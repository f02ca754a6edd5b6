"""Sample record, SampleBuffer, metric registry and error-kind table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.metrics.sample import (
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

i63 = st.integers(-(2**63), 2**63 - 1)
rows = st.lists(st.tuples(i63, i63, i63, i63, i63, i63, i63), max_size=50)


def test_sample_latencies() -> None:
    s = Sample(metric=0, intended_start_ns=1_000, actual_start_ns=5_000, end_ns=9_000)
    assert s.corrected_ns == 8_000
    assert s.uncorrected_ns == 4_000
    assert s.outcome is Outcome.OK and s.error == NO_ERROR
    assert s.row() == (0, 1_000, 5_000, 9_000, 0, 0, 0)


@given(rows)
def test_buffer_round_trips_rows(data: list[tuple[int, ...]]) -> None:
    buf = SampleBuffer()
    for row in data:
        buf.append(*row)
    assert len(buf) == len(data)
    batch = buf.drain()
    assert len(batch) == len(data)
    got = list(
        zip(
            batch.metric.tolist(),
            batch.intended_ns.tolist(),
            batch.actual_ns.tolist(),
            batch.end_ns.tolist(),
            batch.nbytes.tolist(),
            batch.outcome.tolist(),
            batch.error.tolist(),
            strict=True,
        )
    )
    assert got == data
    assert len(buf) == 0


def test_drain_empties_and_append_row_survives_drain() -> None:
    buf = SampleBuffer()
    row = buf.append_row  # what a hot loop would cache
    row((1, 10, 11, 20, 5, Outcome.OK, 0))
    first = buf.drain()
    assert len(first) == 1 and len(buf) == 0
    row((2, 30, 31, 40, 6, Outcome.TIMEOUT, 3))
    buf.add(Sample(0, 1, 2, 3))
    second = buf.drain()
    assert second.metric.tolist() == [2, 0]
    assert second.outcome.tolist() == [Outcome.TIMEOUT, Outcome.OK]
    # Drained batches own their memory: later appends do not change them.
    assert first.metric.tolist() == [1]
    assert len(buf.drain()) == 0


def test_batch_columns_are_contiguous_int64() -> None:
    buf = SampleBuffer()
    for i in range(10):
        buf.append(i, i, i, i)
    batch = buf.drain()
    for column in (batch.metric, batch.intended_ns, batch.end_ns, batch.error):
        assert column.dtype == np.int64
        assert column.flags.c_contiguous


def test_malformed_trailing_row_is_dropped_not_fatal() -> None:
    buf = SampleBuffer()
    buf.append(0, 1, 2, 3)
    buf.append_row((9, 9, 9))  # engine bug: short row
    batch = buf.drain()
    assert len(batch) == 1
    assert batch.end_ns.tolist() == [3]


def test_extend_rows() -> None:
    buf = SampleBuffer()
    buf.append(0, 1, 2, 3)
    buf.extend_rows(np.arange(14, dtype=np.int32).reshape(2, 7))
    batch = buf.drain()
    assert batch.metric.tolist() == [0, 0, 7]
    assert batch.error.tolist() == [0, 6, 13]
    with pytest.raises(ValueError):
        buf.extend_rows(np.zeros((2, 6), dtype=np.int64))


def test_batch_from_samples() -> None:
    batch = SampleBatch.from_samples([Sample(1, 2, 3, 4, 5, Outcome.FAILED, 6), Sample(0, 0, 0, 0)])
    assert batch.nbytes.tolist() == [5, 0]
    assert batch.outcome.tolist() == [1, 0]
    assert len(SampleBatch.from_samples([])) == 0


def test_metric_registry_ids_and_keys() -> None:
    reg = MetricRegistry()
    a = reg.id("ws.message", {"type": "ping", "phase": "warm-up"})
    b = reg.id("ws.message", {"phase": "warm-up", "type": "ping"})
    c = reg.id("ws.connect")
    assert a == b != c
    assert len(reg) == 2
    key = reg.key(a)
    assert key == MetricKey("ws.message", (("phase", "warm-up"), ("type", "ping")))
    assert key.label() == "ws.message{phase=warm-up,type=ping}"
    assert key.tag_dict() == {"phase": "warm-up", "type": "ping"}
    assert reg.key(c).label() == "ws.connect"
    assert reg.id_of(key) == a
    assert reg.keys() == (key, MetricKey("ws.connect"))


def test_error_kinds_interning() -> None:
    kinds = ErrorKinds()
    assert kinds.name(NO_ERROR) == ""
    assert kinds.code("Connection timeout") == 1
    assert kinds.code("Connection refused") == 2
    assert len(kinds) == len(COMMON_ERROR_KINDS) + 1
    custom = kinds.code("GraphQL error")
    assert kinds.code("GraphQL error") == custom
    assert kinds.name(custom) == "GraphQL error"
    assert kinds.name(999) == "error #999"
    assert kinds.names()[custom] == "GraphQL error"
