"""Aggregator: exact totals, out-of-order and late snapshots, dead workers, phases, series."""

from __future__ import annotations

import numpy as np
import pytest

from streamtestbench.metrics.aggregate import Aggregator
from streamtestbench.metrics.hdr import HdrHistogram
from streamtestbench.metrics.sample import MetricKey, Outcome
from streamtestbench.metrics.snapshot import IntervalSnapshot, Recorder

SEC = 1_000_000_000
MESSAGE = MetricKey("ws.message", (("type", "ping"),))
CONNECT = MetricKey("ws.connect")
PCTS = (50.0, 95.0, 99.0)


def run_workers(workers: int, intervals: int, seed: int = 0) -> dict[tuple[int, int], IntervalSnapshot]:
    """Snapshots[(worker, interval)] of a synthetic run, plus each worker's raw latencies."""
    rng = np.random.default_rng(seed)
    out: dict[tuple[int, int], IntervalSnapshot] = {}
    for w in range(workers):
        rec = Recorder(w)
        msg = rec.metric(MESSAGE.name, dict(MESSAGE.tags))
        con = rec.metric(CONNECT.name)
        refused = rec.error_code("Connection refused")
        for i in range(intervals):
            n = int(rng.integers(50, 300))
            intended = i * SEC + np.sort(rng.integers(0, SEC, n))
            actual = intended + rng.integers(0, 3_000_000, n)
            end = actual + rng.lognormal(13.0, 1.0 + w / 4, n).astype(np.int64)
            failed = rng.random(n) < 0.05
            for k in range(n):
                rec.buffer.append(
                    msg if k % 10 else con,
                    int(intended[k]),
                    int(actual[k]),
                    int(end[k]),
                    64,
                    Outcome.FAILED if failed[k] else Outcome.OK,
                    refused if failed[k] else 0,
                )
            rec.counters.messages_sent += n
            rec.counters.messages_received += n - int(failed.sum())
            rec.counters.dropped_iterations += i % 2
            rec.gauges.active_connections = 10 + w
            rec.gauges.active_vus = 1
            phase = "warm-up" if i < 2 else "steady"
            out[(w, i)] = rec.snapshot(
                i, i * SEC, (i + 1) * SEC, phase=phase, step=f"step {i // 3}", final=i == intervals - 1
            )
    return out


def merged(snaps: list[IntervalSnapshot]) -> IntervalSnapshot:
    total = snaps[0].copy()
    for s in snaps[1:]:
        total.merge(s)
    return total


def test_out_of_order_snapshots_give_exact_totals_and_series() -> None:
    snaps = run_workers(4, 8, seed=1)
    order = list(snaps.values())
    np.random.default_rng(2).shuffle(order)
    agg = Aggregator(workers=range(4), max_lag=100)
    for snap in order:
        assert agg.add(snap.to_bytes())
    agg.finish()

    everything = merged(list(snaps.values()))
    assert agg.totals.metrics == everything.metrics
    for key, stats in agg.totals.metrics.items():
        assert stats.corrected.encode() == everything.metrics[key].corrected.encode()
    assert agg.totals.counters == everything.counters
    assert agg.totals.snapshots == 32
    assert agg.totals.errors_by_kind() == everything.errors_by_kind()

    series = agg.series()
    assert [s.index for s in series] == list(range(8))
    for s in series:
        expected = merged([snaps[(w, s.index)] for w in range(4)])
        assert s.workers == 4 and not s.partial
        assert s.completed == sum(m.completed for m in expected.metrics.values())
        assert s.failures == sum(m.failures for m in expected.metrics.values())
        assert s.dropped == expected.counters.dropped_iterations
        assert s.throughput == pytest.approx(s.completed)  # one-second intervals
        assert s.counters.messages_sent == expected.counters.messages_sent
        assert s.errors() == expected.errors_by_kind()
        assert s.active_connections == 10 + 11 + 12 + 13
        assert s.active_vus == 4
        for key, summary in s.metrics.items():
            exp = expected.metrics[key]
            assert summary.corrected == exp.corrected.percentiles(PCTS)
            assert summary.uncorrected == exp.uncorrected.percentiles(PCTS)
            assert summary.count == exp.count()
            assert summary.nbytes == exp.nbytes
        assert s.phase == ("warm-up" if s.index < 2 else "steady")
        assert s.to_dict()["metrics"][0]["corrected"].keys() == {"p50", "p95", "p99"}


def test_intervals_close_when_every_active_worker_moved_on() -> None:
    snaps = run_workers(2, 4)
    agg = Aggregator(workers=[0, 1], max_lag=10)
    agg.add(snaps[(0, 0)])
    agg.add(snaps[(0, 1)])
    assert agg.series() == [] and agg.open_intervals == 2  # worker 1 has not reported yet
    agg.add(snaps[(1, 0)])
    assert agg.series() == []  # worker 1 might still send more for interval 0
    agg.add(snaps[(1, 1)])
    assert [s.index for s in agg.series()] == [0]
    assert agg.interval(0) is not None and agg.interval(0).workers == 2  # type: ignore[union-attr]
    for i in (2, 3):
        agg.add(snaps[(0, i)])
        agg.add(snaps[(1, i)])
    # Both workers sent their final snapshot: everything is closed without finish().
    assert [s.index for s in agg.series()] == [0, 1, 2, 3]
    assert agg.open_intervals == 0


def test_snapshot_overtaking_an_earlier_one_does_not_close_intervals_early() -> None:
    snaps = run_workers(2, 4)
    agg = Aggregator(workers=[0, 1], max_lag=10)
    for i in range(4):
        agg.add(snaps[(1, i)])  # worker 1 is done (final)
    agg.add(snaps[(0, 0)])
    agg.add(snaps[(0, 2)])  # seq 2 overtakes seq 1
    agg.add(snaps[(0, 3)])  # even its final snapshot
    assert [s.index for s in agg.series()] == []  # interval 0 could still get data from seq 1
    assert agg.workers()[0].active and agg.workers()[0].complete_index == 0
    agg.add(snaps[(0, 1)])
    assert [s.index for s in agg.series()] == [0, 1, 2, 3]
    assert all(s.workers == 2 and not s.partial for s in agg.series())
    assert agg.late_snapshots == 0


def test_worker_that_stops_sending() -> None:
    snaps = run_workers(3, 10, seed=4)
    agg = Aggregator(workers=range(3), max_lag=3)
    sent = [snaps[(w, i)] for i in range(10) for w in range(3) if not (w == 2 and i > 3)]
    for s in sent:
        agg.add(s)

    # Its numbers up to its last snapshot are kept, exactly.
    assert agg.totals.metrics == merged(sent).metrics
    state = agg.workers()[2]
    assert (state.last_index, state.snapshots, state.active) == (3, 4, True)
    # Intervals it never reported were closed by the lag bound, with the other two workers.
    closed = {s.index: s for s in agg.series()}
    assert closed[3].workers == 3
    assert all(closed[i].workers == 2 for i in range(4, 10 - 3))
    assert closed[5].active_connections == 10 + 11

    agg.worker_lost(2)
    assert not agg.workers()[2].active
    assert agg.active_gauges().active_connections == 0  # workers 0 and 1 sent final=True
    agg.finish()
    assert [s.index for s in agg.series()] == list(range(10))
    assert agg.totals.snapshots == len(sent)


def test_lost_worker_unblocks_interval_closing() -> None:
    snaps = run_workers(2, 3)
    agg = Aggregator(workers=[0, 1], max_lag=10)
    agg.add(snaps[(0, 0)])
    agg.add(snaps[(0, 1)])
    assert agg.series() == []
    assert agg.active_gauges().active_connections == 10
    agg.worker_lost(1)
    assert [s.index for s in agg.series()] == [0]
    assert agg.interval(0).workers == 1  # type: ignore[union-attr]


def test_duplicates_are_ignored() -> None:
    snaps = run_workers(1, 3)
    agg = Aggregator()
    assert agg.add(snaps[(0, 0)])
    data = snaps[(0, 1)].to_bytes()
    assert agg.add(data)
    assert not agg.add(data)
    assert not agg.add(snaps[(0, 0)])
    assert agg.duplicates == 2
    assert agg.totals.snapshots == 2
    assert agg.workers()[0].last_seq == 1


@pytest.mark.parametrize("keep", [False, True])
def test_late_snapshot_after_interval_closed(keep: bool) -> None:
    snaps = run_workers(3, 6, seed=5)
    agg = Aggregator(workers=range(3), max_lag=2, keep_interval_histograms=keep)
    late = snaps[(2, 0)]
    for i in range(6):
        for w in range(3):
            if (w, i) != (2, 0):
                agg.add(snaps[(w, i)])
    assert agg.interval(0) is not None and agg.interval(0).workers == 2  # type: ignore[union-attr]
    agg.add(late)
    agg.finish()
    assert agg.late_snapshots == 1
    s0 = agg.interval(0)
    assert s0 is not None
    expected = merged([snaps[(w, 0)] for w in range(3)])
    # Counts are exact either way.
    assert s0.workers == 3
    assert s0.completed == sum(m.completed for m in expected.metrics.values())
    assert s0.counters == expected.counters
    assert s0.errors() == expected.errors_by_kind()
    assert s0.active_connections == 10 + 11 + 12
    # Percentiles are exact only when per-interval histograms were kept.
    assert s0.partial is not keep
    for key, summary in s0.metrics.items():
        assert summary.count == expected.metrics[key].count()
        assert summary.corrected_max == expected.metrics[key].corrected.max()
        if keep:
            assert summary.corrected == expected.metrics[key].corrected.percentiles(PCTS)
            assert summary.corrected_hdr is not None
            assert HdrHistogram.decode(summary.corrected_hdr) == expected.metrics[key].corrected.copy()
    # Totals never depend on arrival time.
    assert agg.totals.metrics == merged(list(snaps.values())).metrics


def test_phase_and_step_totals() -> None:
    snaps = run_workers(2, 6)
    agg = Aggregator()
    for s in snaps.values():
        agg.add(s)
    phases = agg.phases()
    assert set(phases) == {("warm-up", "step 0"), ("steady", "step 0"), ("steady", "step 1")}
    for (phase, step), totals in phases.items():
        part = [s for s in snaps.values() if (s.phase, s.step) == (phase, step)]
        assert totals.metrics == merged(part).metrics
        assert totals.counters == merged(part).counters
        assert totals.snapshots == len(part)
    assert phases[("warm-up", "step 0")].start_ns == 0
    assert phases[("warm-up", "step 0")].end_ns == 2 * SEC


def test_layout_mismatch_rejected() -> None:
    from streamtestbench.metrics.hdr import HdrLayout

    rec = Recorder(layout=HdrLayout(1, 10**6, 2))
    rec.buffer.append(rec.metric("x"), 0, 0, 1000)
    with pytest.raises(ValueError, match="layout"):
        Aggregator().add(rec.snapshot(0, 0, SEC))


def test_summary_to_dict_is_json_ready() -> None:
    import orjson

    snaps = run_workers(1, 2)
    agg = Aggregator(keep_interval_histograms=True)
    for s in snaps.values():
        agg.add(s)
    doc = orjson.loads(orjson.dumps([s.to_dict() for s in agg.series()]))
    assert [d["index"] for d in doc] == [0, 1]
    assert doc[0]["metrics"][0]["outcomes"]["ok"] > 0
    assert "corrected_hdr" in doc[0]["metrics"][0]
