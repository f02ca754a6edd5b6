"""Recorder bulk recording, coordinated-omission correction, snapshot wire format and merge."""

from __future__ import annotations

import numpy as np
import pytest

from streamtestbench.metrics.hdr import LATENCY_US, HdrHistogram, HdrLayout
from streamtestbench.metrics.sample import MetricKey, Outcome, Sample, SampleBatch
from streamtestbench.metrics.snapshot import (
    Counters,
    Gauges,
    IntervalSnapshot,
    MetricStats,
    Recorder,
    stats_from_batch,
)

MS = 1_000_000  # ns
SEC = 1_000 * MS


def random_rows(seed: int, n: int, metrics: int) -> np.ndarray:
    """Synthetic (n, 7) sample rows: intended, a small start delay, a lognormal service time."""
    rng = np.random.default_rng(seed)
    intended = np.sort(rng.integers(0, 10 * SEC, n))
    actual = intended + rng.integers(0, 2 * MS, n)
    end = actual + rng.lognormal(13.0, 1.0, n).astype(np.int64)
    outcome = rng.choice([Outcome.OK, Outcome.OK, Outcome.OK, Outcome.FAILED, Outcome.TIMEOUT, Outcome.DROPPED], n)
    error = np.where(outcome == Outcome.FAILED, rng.integers(1, 4, n), 0)
    return np.column_stack(
        [rng.integers(0, metrics, n), intended, actual, end, rng.integers(0, 2000, n), outcome, error]
    ).astype(np.int64)


def recorder_with_metrics(worker: int, metrics: int) -> Recorder:
    rec = Recorder(worker)
    for m in range(metrics):
        rec.metric("ws.message", {"type": f"t{m}"})
    return rec


def feed(rec: Recorder, rows: np.ndarray) -> None:
    for row in rows.tolist():
        rec.buffer.append_row(row)


# -- bulk recording ------------------------------------------------------------------------------


def test_stats_from_batch_matches_per_metric_reference() -> None:
    rows = random_rows(1, 5_000, 3)
    rec = recorder_with_metrics(0, 3)
    feed(rec, rows)
    stats = stats_from_batch(rec.buffer.drain(), rec.registry, rec.errors)
    assert len(stats) == 3
    for m in range(3):
        mine = rows[rows[:, 0] == m]
        s = stats[rec.registry.key(m)]
        in_hist = mine[mine[:, 5] != Outcome.DROPPED]
        corrected = HdrHistogram()
        corrected.record_many((in_hist[:, 3] - in_hist[:, 1]) // 1000)
        uncorrected = HdrHistogram()
        uncorrected.record_many((in_hist[:, 3] - in_hist[:, 2]) // 1000)
        assert s.corrected == corrected
        assert s.uncorrected == uncorrected
        assert s.outcomes.tolist() == np.bincount(mine[:, 5], minlength=len(Outcome)).tolist()
        assert s.nbytes == int(mine[:, 4].sum())
        expected_errors = {
            rec.errors.name(code): int(n) for code, n in enumerate(np.bincount(mine[:, 6])) if code and n
        }
        assert s.errors == expected_errors
        assert s.count() == len(mine)
        assert s.completed == len(in_hist)


def test_single_metric_and_empty_batches() -> None:
    rec = recorder_with_metrics(0, 2)
    assert stats_from_batch(SampleBatch.empty(), rec.registry, rec.errors) == {}
    batch = SampleBatch.from_samples([Sample(1, 0, 0, 5_000), Sample(1, 0, 1_000, 9_999)])
    stats = stats_from_batch(batch, rec.registry, rec.errors)
    assert list(stats) == [MetricKey("ws.message", (("type", "t1"),))]
    s = stats[MetricKey("ws.message", (("type", "t1"),))]
    assert s.corrected.percentiles([0, 100]) == {0.0: 5, 100.0: 9}
    assert s.uncorrected.percentiles([0, 100]) == {0.0: 5, 100.0: 8}


def test_unregistered_metric_id_is_an_error() -> None:
    rec = recorder_with_metrics(0, 1)
    with pytest.raises(ValueError, match="metric id"):
        stats_from_batch(SampleBatch.from_samples([Sample(5, 0, 0, 1)]), rec.registry, rec.errors)


def test_out_of_range_latencies_clamped_per_metric() -> None:
    rec = recorder_with_metrics(0, 2)
    hour = 3_600 * SEC
    batch = SampleBatch.from_samples(
        [Sample(0, 0, 0, 2 * hour), Sample(1, 0, 0, 1_000), Sample(1, 5_000, 5_000, 1_000)]
    )
    stats = stats_from_batch(batch, rec.registry, rec.errors)
    s0, s1 = (stats[rec.registry.key(i)] for i in range(2))
    assert (s0.corrected.clamped_high, s0.corrected.clamped_low) == (1, 0)
    assert (s1.corrected.clamped_high, s1.corrected.clamped_low) == (0, 1)
    assert s0.corrected.total_count == 1 and s1.corrected.total_count == 2


def test_histogram_outcomes_option() -> None:
    rec = Recorder(histogram_outcomes=[Outcome.OK])
    m = rec.metric("http.request")
    rec.buffer.append(m, 0, 0, 1_000_000, outcome=Outcome.OK)
    rec.buffer.append(m, 0, 0, 9_000_000, outcome=Outcome.TIMEOUT)
    s = rec.snapshot(0, 0, SEC).metrics[MetricKey("http.request")]
    assert s.corrected.total_count == 1
    assert s.count() == 2


def test_coordinated_omission_stall_shows_in_corrected_only() -> None:
    """Constant 1000/s schedule, one connection, 0.5 ms service time, one 2 s stall at t=5 s.

    A closed-loop client cannot send while the stalled request is outstanding, so the ~2000
    requests scheduled during the stall start late. Uncorrected latency (end - actual start)
    hides that: only the stalled request looks slow. Corrected latency (end - intended start)
    shows the wait every scheduled request suffered, as wrk2 reports it.
    """
    n = 10_000
    intended = np.arange(n, dtype=np.int64) * MS
    service = np.full(n, MS // 2, dtype=np.int64)
    service[5_000] = 2 * SEC
    actual = np.empty(n, dtype=np.int64)
    end = np.empty(n, dtype=np.int64)
    free_at = 0
    for i in range(n):
        actual[i] = max(int(intended[i]), free_at)
        end[i] = actual[i] + service[i]
        free_at = int(end[i])

    rec = Recorder()
    m = rec.metric("http.request")
    for i in range(n):
        rec.buffer.append(m, int(intended[i]), int(actual[i]), int(end[i]), 100)
    s = rec.snapshot(0, 0, 12 * SEC).metrics[MetricKey("http.request")]

    corrected_us = (end - intended) // 1000
    uncorrected_us = (end - actual) // 1000
    for p in (50.0, 90.0, 99.0, 99.9):
        exact_c = int(np.percentile(corrected_us, p, method="inverted_cdf"))
        exact_u = int(np.percentile(uncorrected_us, p, method="inverted_cdf"))
        assert s.corrected.value_at_percentile(p) == LATENCY_US.highest_equivalent(exact_c)
        assert s.uncorrected.value_at_percentile(p) == LATENCY_US.highest_equivalent(exact_u)

    assert s.corrected.value_at_percentile(99) > 1_500_000  # seconds of latency: the stall
    assert s.corrected.value_at_percentile(90) > 500_000
    assert s.uncorrected.value_at_percentile(99) < 1_000  # half a millisecond: stall hidden
    assert s.uncorrected.value_at_percentile(99.9) < 1_000
    assert s.uncorrected.max() >= 2_000_000  # only the one stalled request
    assert s.corrected.max() == s.uncorrected.max()
    assert s.corrected.mean() > 50 * s.uncorrected.mean()


# -- recorder ------------------------------------------------------------------------------------


def test_recorder_snapshot_takes_counters_and_copies_gauges() -> None:
    rec = Recorder(worker=3)
    counters = rec.counters
    counters.messages_sent += 10
    counters.connections_opened += 2
    counters.error("Connection refused")
    counters.incr("mqtt.puback", 4)
    rec.gauges.active_connections = 2
    first = rec.snapshot(0, 0, SEC, phase="warm-up", step="s1")
    assert (first.worker, first.seq, first.index, first.phase, first.step) == (3, 0, 0, "warm-up", "s1")
    assert first.counters.messages_sent == 10
    assert first.counters.errors == {"Connection refused": 1}
    assert first.counters.named == {"mqtt.puback": 4}
    assert first.gauges.active_connections == 2
    assert first.metrics == {}
    # Counters reset in place (the engine's reference still works); gauges persist.
    assert rec.counters is counters and counters.messages_sent == 0 and counters.errors == {}
    counters.messages_sent += 1
    second = rec.snapshot(1, SEC, 2 * SEC, final=True)
    assert second.seq == 1 and second.final
    assert second.counters.messages_sent == 1
    assert second.gauges.active_connections == 2
    assert first.counters.messages_sent == 10


def test_compact_between_samples_gives_the_same_snapshot_as_no_compact() -> None:
    """Folding the buffer into the interval's stats in slices loses and double-counts nothing."""
    rows = random_rows(5, 6_000, 3)
    rows = np.vstack([rows, [[2, 0, 0, 3_600 * SEC * 2, 7, Outcome.OK, 0]]])  # a clamped value, last chunk
    only_metric_0 = rows[rows[:, 0] == 0][:50]  # a chunk where the other metrics are absent
    chunks = [rows[:1_000], only_metric_0, rows[1_000:1_001], rows[1_001:4_000], rows[4_000:]]
    compacted, plain = recorder_with_metrics(1, 3), recorder_with_metrics(1, 3)
    for chunk in chunks:
        feed(compacted, chunk)
        compacted.compact()
        assert len(compacted.buffer) == 0
        compacted.compact()  # a second compact on the emptied buffer changes nothing
        feed(plain, chunk)
    feed(compacted, rows[:10])  # samples still buffered at snapshot time count too
    feed(plain, rows[:10])

    got = compacted.snapshot(0, 0, SEC).metrics
    want = plain.snapshot(0, 0, SEC).metrics
    assert set(got) == set(want) and len(got) == 3
    assert got == want
    key = compacted.registry.key(2)
    assert got[key].corrected.clamped_high == 1
    assert sum(s.count() for s in got.values()) == len(rows) + len(only_metric_0) + 10
    assert sum(sum(s.errors.values()) for s in got.values()) > 0


def test_snapshot_after_compact_leaves_the_next_interval_empty() -> None:
    rec = recorder_with_metrics(0, 2)
    feed(rec, random_rows(2, 500, 2))
    rec.compact()
    first = rec.snapshot(0, 0, SEC)
    assert sum(s.count() for s in first.metrics.values()) == 500
    assert rec.snapshot(1, SEC, 2 * SEC).metrics == {}
    rec.compact()
    assert rec.snapshot(2, 2 * SEC, 3 * SEC).metrics == {}
    # A new sample after the snapshot lands in the next interval only, not in the shipped one.
    rec.buffer.append(1, 0, 0, 5_000)
    rec.compact()
    third = rec.snapshot(3, 3 * SEC, 4 * SEC)
    assert [s.count() for s in third.metrics.values()] == [1]
    assert sum(s.count() for s in first.metrics.values()) == 500


def test_compact_on_an_empty_buffer_is_a_no_op() -> None:
    rec = recorder_with_metrics(0, 1)
    rec.compact()
    rec.compact()
    assert len(rec.buffer) == 0
    assert rec.snapshot(0, 0, SEC).metrics == {}


# -- wire format and merge -----------------------------------------------------------------------


def full_snapshot(worker: int, seed: int, index: int = 0) -> IntervalSnapshot:
    rec = recorder_with_metrics(worker, 3)
    feed(rec, random_rows(seed, 2_000, 3))
    rec.buffer.append(0, 0, 0, 3_600 * SEC * 2)  # a clamped value
    rec.counters.messages_sent += 100 + seed
    rec.counters.messages_received += 90
    rec.counters.connections_attempted += 5
    rec.counters.connections_failed += 1
    rec.counters.reconnects += 1
    rec.counters.dropped_iterations += 2
    rec.counters.error("DNS failure", 2)
    rec.counters.incr("custom", seed)
    rec.gauges.active_connections = 4
    rec.gauges.active_vus = 8
    rec.gauges.named["queue"] = 1.5
    return rec.snapshot(index, index * SEC, (index + 1) * SEC, phase="steady", step="step 2")


def test_to_bytes_from_bytes_round_trip() -> None:
    snap = full_snapshot(7, 1)
    data = snap.to_bytes()
    assert isinstance(data, bytes)
    back = IntervalSnapshot.from_bytes(data)
    assert back == snap
    assert back.to_bytes() == data
    key = MetricKey("ws.message", (("type", "t0"),))
    assert back.metrics[key].corrected.clamped_high == 1
    assert back.gauges.named == {"queue": 1.5}


def test_empty_snapshot_round_trip() -> None:
    snap = IntervalSnapshot(worker=0, index=5, start_ns=1, end_ns=2)
    assert IntervalSnapshot.from_bytes(snap.to_bytes()) == snap


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"[]",
        b'{"v": 99}',
        b"\xff\xfe",
        b'{"v": 1}',
        b'{"v": 1, "worker": 0, "index": 0, "start_ns": 0, "end_ns": 1, "metrics": [{"name": "x"}]}',
        b'{"v": 1, "worker": 0, "index": 0, "start_ns": 0, "end_ns": 1, "metrics": [{"name": "x",'
        b' "corrected": {"hdr": "AAAA"}, "uncorrected": {"hdr": "AAAA"}}]}',
    ],
)
def test_from_bytes_rejects_garbage(garbage: bytes) -> None:
    with pytest.raises(ValueError):
        IntervalSnapshot.from_bytes(garbage)


def test_merge_of_workers_equals_one_recorder_over_all_samples() -> None:
    rows = random_rows(9, 8_000, 3)
    owner = np.random.default_rng(9).integers(0, 4, len(rows))
    parts = []
    for w in range(4):
        rec = recorder_with_metrics(w, 3)
        feed(rec, rows[owner == w])
        rec.counters.messages_sent += w + 1
        rec.counters.error("Connection reset", w)
        rec.gauges.active_connections = 10
        parts.append(IntervalSnapshot.from_bytes(rec.snapshot(0, 0, SEC).to_bytes()))
    single_rec = recorder_with_metrics(0, 3)
    feed(single_rec, rows)
    single = single_rec.snapshot(0, 0, SEC)

    merged = parts[0].copy()
    for p in parts[1:]:
        merged.merge(p)
    assert merged.metrics == single.metrics
    for key, stats in merged.metrics.items():
        assert stats.corrected.encode() == single.metrics[key].corrected.encode()
        assert np.array_equal(stats.uncorrected.counts, single.metrics[key].uncorrected.counts)
    assert merged.counters.messages_sent == 1 + 2 + 3 + 4
    assert merged.counters.errors == {"Connection reset": 0 + 1 + 2 + 3}
    assert merged.gauges.active_connections == 40  # workers' levels add up
    assert merged.worker == -1 and merged.index == 0
    assert parts[0].counters.messages_sent == 1  # copy() kept the original intact


def test_merge_identity_fields_and_errors_by_kind() -> None:
    a = full_snapshot(1, 1, index=2)
    b = full_snapshot(1, 2, index=3)
    a.merge(b)
    assert (a.worker, a.index, a.start_ns, a.end_ns) == (1, 2, 2 * SEC, 4 * SEC)
    assert a.seq == 0  # both were seq 0 of fresh recorders
    errors = a.errors_by_kind()
    assert errors["DNS failure"] == 4
    assert sum(errors.values()) == 4 + sum(sum(s.errors.values()) for s in a.metrics.values())


def test_metric_stats_merge_requires_same_layout() -> None:
    a = MetricStats.empty()
    b = MetricStats.empty(HdrLayout(1, 10**6, 2))
    with pytest.raises(ValueError):
        a.merge(b)


def test_counters_and_gauges_dict_round_trip() -> None:
    c = Counters(messages_sent=3, reconnects=1, errors={"x": 2}, named={"y": 5})
    assert Counters.from_dict(c.to_dict()) == c
    g = Gauges(active_connections=2, active_vus=3, named={"z": 0.5})
    assert Gauges.from_dict(g.to_dict()) == g
