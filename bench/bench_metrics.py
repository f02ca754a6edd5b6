"""Cost per sample of the metrics hot path and bulk recording, vs hdrh's per-value record.

Run: .venv/bin/python bench/bench_metrics.py [samples]   (default 1,000,000)

Why: DESIGN.md budgets the hot path to "append a few ints" and moves histogram work to a
once-per-interval bulk step; this shows what each part costs per sample, next to the
per-value ``record_value`` alternative (which a worker would pay twice per sample: corrected
and uncorrected). Numbers are the best of several runs; a busy machine inflates them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from streamtestbench.metrics.hdr import HdrHistogram
from streamtestbench.metrics.sample import Outcome
from streamtestbench.metrics.snapshot import IntervalSnapshot, Recorder, stats_from_batch


def best_ns(fn: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> int:
    """Best wall time of ``repeat`` runs of ``fn``; ``before`` runs untimed ahead of each."""
    best: int | None = None
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter_ns()
        fn()
        elapsed = time.perf_counter_ns() - t0
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    intended_a = np.arange(n, dtype=np.int64) * 1000 + 10**15  # realistic monotonic_ns magnitudes
    actual_a = intended_a + rng.integers(0, 50_000, n)
    end_a = actual_a + rng.lognormal(13.0, 1.0, n).astype(np.int64)
    intended, actual, end = intended_a.tolist(), actual_a.tolist(), end_a.tolist()
    latency_us = (end_a - intended_a) // 1000
    rows: list[tuple[str, float, str]] = []

    def add(name: str, total_ns: int, count: int, note: str = "") -> None:
        rows.append((name, total_ns / count, note))

    def loop_baseline() -> None:
        for i in range(n):
            (1, intended[i], actual[i], end[i], 128, 0, 0)

    add("python loop + 7-tuple (baseline)", best_ns(loop_baseline, 3), n, "included in the two rows below")

    rec = Recorder()
    mid = rec.metric("ws.message")
    buf = rec.buffer

    def fill_append_row() -> None:
        row = buf.append_row
        for i in range(n):
            row((mid, intended[i], actual[i], end[i], 128, 0, 0))

    def fill_append() -> None:
        append = buf.append
        for i in range(n):
            append(mid, intended[i], actual[i], end[i], 128, 0, 0)

    add("hot path: buffer.append_row((...))", best_ns(fill_append_row, 3, buf.drain), n, "bound list.extend")
    add("hot path: buffer.append(...)", best_ns(fill_append, 3, buf.drain), n, "method call, 7 args")
    add("flush: buffer.drain() -> numpy", best_ns(buf.drain, 3, fill_append_row), n, "once per interval")

    fill_append_row()
    batch = buf.drain()
    add(
        "flush: bulk record, 1 metric",
        best_ns(lambda: stats_from_batch(batch, rec.registry, rec.errors), 3),
        n,
        "corrected + uncorrected + outcomes",
    )
    rec8 = Recorder()
    ids = np.array([rec8.metric("ws.message", {"type": f"t{m}"}) for m in range(8)], dtype=np.int64)
    rows8 = np.column_stack(
        [
            ids[np.arange(n) % 8],
            batch.intended_ns,
            batch.actual_ns,
            batch.end_ns,
            batch.nbytes,
            batch.outcome,
            batch.error,
        ]
    )
    rec8.buffer.extend_rows(rows8)
    batch8 = rec8.buffer.drain()
    add(
        "flush: bulk record, 8 metrics",
        best_ns(lambda: stats_from_batch(batch8, rec8.registry, rec8.errors), 3),
        n,
        "same, split per metric",
    )
    h = HdrHistogram()
    add("HdrHistogram.record_many", best_ns(lambda: h.record_many(latency_us), 5), n, "one histogram")

    m = min(n, 200_000)
    values = latency_us[:m].tolist()
    ours = HdrHistogram()

    def record_ours() -> None:
        record = ours.record
        for v in values:
            record(v)

    add("HdrHistogram.record (per value)", best_ns(record_ours, 2), m, f"{m:,} values; one histogram")
    try:
        from hdrh.histogram import HdrHistogram as RefHistogram
    except ImportError:
        rows.append(("hdrh record_value (per value)", float("nan"), "hdrh not installed"))
    else:
        ref = RefHistogram(1, 3_600_000_000, 3)

        def record_ref() -> None:
            record = ref.record_value
            for v in values:
                record(v)

        add("hdrh record_value (per value)", best_ns(record_ref, 2), m, f"{m:,} values; one histogram")

    # Per-interval costs (not per sample).
    h.reset()
    h.record_many(latency_us)
    encoded = h.encode()
    t_enc = best_ns(h.encode, 20)
    t_dec = best_ns(lambda: HdrHistogram.decode(encoded), 20)
    small = Recorder()
    sid = small.metric("ws.message")
    for i in range(5_000):
        small.buffer.append(sid, intended[i], actual[i], end[i], 128, Outcome.OK)
    snap = small.snapshot(0, 0, 10**9)
    snap_bytes = snap.to_bytes()
    t_to = best_ns(snap.to_bytes, 20)
    t_from = best_ns(lambda: IntervalSnapshot.from_bytes(snap_bytes), 20)

    print(f"\nStream Testbench metrics bench: {n:,} samples (best of several runs)\n")
    print(f"{'operation':<38} {'ns/sample':>10}  note")
    print("-" * 90)
    for name, ns, note in rows:
        print(f"{name:<38} {ns:>10.1f}  {note}")
    print()
    print("per interval:")
    print(f"  HDR encode ({n:,}-value histogram)  {t_enc / 1000:8.1f} µs  {len(encoded):,} chars")
    print(f"  HDR decode                          {t_dec / 1000:8.1f} µs")
    print(f"  snapshot to_bytes (1 metric)        {t_to / 1000:8.1f} µs  {len(snap_bytes):,} bytes")
    print(f"  snapshot from_bytes (1 metric)      {t_from / 1000:8.1f} µs")


if __name__ == "__main__":
    main()
