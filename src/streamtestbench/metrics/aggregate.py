"""Parent-side aggregation of worker snapshots into run totals and a per-second series.

Why: N worker processes each send one snapshot per interval; they arrive interleaved, late,
duplicated (retries) or stop arriving (a worker died). The parent must still report exact
totals -- histograms merged by adding counts -- and a per-interval time series, with memory
bounded by the run's metrics, not its samples: running totals keep one histogram pair per
metric (and per phase/step); intervals keep full histograms only while still open, then
collapse to summary numbers (optionally keeping the encoded histograms).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .hdr import LATENCY_US, HdrHistogram, HdrLayout
from .sample import MetricKey, Outcome
from .snapshot import Counters, Gauges, IntervalSnapshot, MetricStats

__all__ = [
    "DEFAULT_PERCENTILES",
    "Aggregator",
    "IntervalSummary",
    "MetricSummary",
    "Totals",
    "WorkerState",
]

DEFAULT_PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)


class Totals:
    """Exact running totals over any set of snapshots: merged stats per metric plus counters."""

    __slots__ = ("counters", "end_ns", "metrics", "snapshots", "start_ns")

    def __init__(self) -> None:
        self.metrics: dict[MetricKey, MetricStats] = {}
        self.counters = Counters()
        self.snapshots = 0
        self.start_ns: int | None = None
        self.end_ns: int | None = None

    def add(self, snap: IntervalSnapshot) -> None:
        for key, stats in snap.metrics.items():
            mine = self.metrics.get(key)
            if mine is None:
                self.metrics[key] = stats.copy()
            else:
                mine.merge(stats)
        self.counters.merge(snap.counters)
        self.snapshots += 1
        self.start_ns = snap.start_ns if self.start_ns is None else min(self.start_ns, snap.start_ns)
        self.end_ns = snap.end_ns if self.end_ns is None else max(self.end_ns, snap.end_ns)

    def errors_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = dict(self.counters.errors)
        for stats in self.metrics.values():
            for kind, n in stats.errors.items():
                out[kind] = out.get(kind, 0) + n
        return out

    def corrected(self, key: MetricKey) -> HdrHistogram:
        return self.metrics[key].corrected

    def uncorrected(self, key: MetricKey) -> HdrHistogram:
        return self.metrics[key].uncorrected


@dataclass(slots=True)
class MetricSummary:
    """One metric in one interval reduced to numbers (plus, optionally, encoded histograms).

    The additive parts (outcome counts, bytes, errors) are kept exactly so a late snapshot
    can still be folded in.
    """

    outcomes: tuple[int, ...]  # count per Outcome value
    nbytes: int
    errors: dict[str, int]
    rate: float  # completed operations per second
    corrected: dict[float, int]  # percentile -> µs
    uncorrected: dict[float, int]
    corrected_max: int
    uncorrected_max: int
    corrected_hdr: str | None = None
    uncorrected_hdr: str | None = None

    @property
    def count(self) -> int:
        return sum(self.outcomes)

    @property
    def ok(self) -> int:
        return self.outcomes[Outcome.OK]

    @property
    def failures(self) -> int:
        return self.outcomes[Outcome.FAILED] + self.outcomes[Outcome.TIMEOUT]

    @property
    def completed(self) -> int:
        return self.ok + self.failures

    @property
    def dropped(self) -> int:
        return self.outcomes[Outcome.DROPPED]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "outcomes": {o.name.lower(): self.outcomes[o] for o in Outcome},
            "bytes": self.nbytes,
            "errors": dict(self.errors),
            "rate": self.rate,
            "corrected": {f"p{p:g}": v for p, v in self.corrected.items()},
            "uncorrected": {f"p{p:g}": v for p, v in self.uncorrected.items()},
            "corrected_max": self.corrected_max,
            "uncorrected_max": self.uncorrected_max,
        }
        if self.corrected_hdr is not None:
            out["corrected_hdr"] = self.corrected_hdr
            out["uncorrected_hdr"] = self.uncorrected_hdr
        return out


@dataclass(slots=True)
class IntervalSummary:
    """All workers' numbers for one interval: one point of the time series.

    ``partial`` is set when a snapshot arrived after the interval was summarised and the
    per-interval histograms were not kept: counts include it, percentiles do not.
    """

    index: int
    start_ns: int
    end_ns: int
    worker_ids: tuple[int, ...]
    phase: str
    step: str
    counters: Counters
    active_connections: int
    active_vus: int
    metrics: dict[MetricKey, MetricSummary]
    partial: bool = False

    @property
    def workers(self) -> int:
        return len(self.worker_ids)

    @property
    def duration_s(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e9

    @property
    def completed(self) -> int:
        return sum(m.completed for m in self.metrics.values())

    @property
    def failures(self) -> int:
        """Failed + timed-out operations over all metrics."""
        return sum(m.failures for m in self.metrics.values())

    @property
    def dropped(self) -> int:
        """Dropped samples plus the dropped-iterations counter."""
        return sum(m.dropped for m in self.metrics.values()) + self.counters.dropped_iterations

    @property
    def throughput(self) -> float:
        """Completed operations per second."""
        seconds = self.duration_s
        return self.completed / seconds if seconds > 0 else 0.0

    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in self.metrics.values())

    def errors(self) -> dict[str, int]:
        """Errors by kind: per-sample kinds of every metric plus sample-less counter errors."""
        out = dict(self.counters.errors)
        for m in self.metrics.values():
            for kind, n in m.errors.items():
                out[kind] = out.get(kind, 0) + n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "workers": self.workers,
            "phase": self.phase,
            "step": self.step,
            "completed": self.completed,
            "failures": self.failures,
            "dropped": self.dropped,
            "throughput": self.throughput,
            "bytes": self.nbytes,
            "errors": self.errors(),
            "counters": self.counters.to_dict(),
            "active_connections": self.active_connections,
            "active_vus": self.active_vus,
            "metrics": [{"name": k.name, "tags": k.tag_dict(), **m.to_dict()} for k, m in self.metrics.items()],
            "partial": self.partial,
        }


@dataclass(slots=True)
class WorkerState:
    """What the parent knows about one worker, from the snapshots it received.

    Snapshots carry a per-worker ``seq`` (0, 1, 2, ...); a worker restarted by the engine
    must use a new worker id. ``complete_index`` only advances over a gap-free run of seqs,
    so a snapshot overtaking an earlier one never closes an interval too early.
    """

    worker: int
    snapshots: int = 0
    last_seq: int = -1
    last_index: int = -1  # highest interval index received
    complete_index: int = -1  # highest interval index with every earlier snapshot received
    last_end_ns: int = 0
    last_gauges: Gauges = field(default_factory=Gauges)
    final: bool = False  # its final snapshot and every one before it were received
    lost: bool = False  # declared dead by the engine
    _next_seq: int = field(default=0, init=False, repr=False)
    _ahead: dict[int, int] = field(default_factory=dict, init=False, repr=False)  # seq -> index
    _final_seq: int | None = field(default=None, init=False, repr=False)

    @property
    def active(self) -> bool:
        """Still expected to send snapshots."""
        return not (self.final or self.lost)

    def seen(self, seq: int) -> bool:
        return seq < self._next_seq or seq in self._ahead

    def receive(self, snap: IntervalSnapshot) -> None:
        self.snapshots += 1
        self._ahead[snap.seq] = snap.index
        while self._next_seq in self._ahead:
            self.complete_index = max(self.complete_index, self._ahead.pop(self._next_seq))
            self._next_seq += 1
        if snap.seq > self.last_seq:
            self.last_seq = snap.seq
            self.last_gauges = snap.gauges.copy()
            self.last_end_ns = snap.end_ns
        self.last_index = max(self.last_index, snap.index)
        if snap.final:
            self._final_seq = snap.seq
        self.final = self._final_seq is not None and self._next_seq > self._final_seq


class _OpenInterval:
    """An interval still accepting snapshots: full merged histograms, gauges per worker."""

    __slots__ = ("gauges", "merged", "workers")

    def __init__(self, snap: IntervalSnapshot) -> None:
        self.merged = snap.copy()
        self.merged.gauges = Gauges()
        self.gauges: dict[int, tuple[int, Gauges]] = {snap.worker: (snap.seq, snap.gauges.copy())}
        self.workers = {snap.worker}

    def add(self, snap: IntervalSnapshot) -> None:
        gauges = self.merged.gauges
        self.merged.merge(snap)
        self.merged.gauges = gauges
        if self.merged.index != snap.index:  # merge() takes the min; keep ours
            self.merged.index = snap.index
        previous = self.gauges.get(snap.worker)
        if previous is None or snap.seq >= previous[0]:
            self.gauges[snap.worker] = (snap.seq, snap.gauges.copy())
        self.workers.add(snap.worker)


class Aggregator:
    """Merges snapshots from N workers into totals, per-phase totals and a time series.

    An interval is summarised (its histograms collapsed to numbers) once every active
    worker has sent, without gaps, a snapshot for a later interval (or its final one), or
    once it is ``max_lag`` intervals behind the newest, whichever comes first; workers the
    engine reports with :meth:`worker_lost` stop holding intervals open; :meth:`finish`
    summarises the rest. Workers should therefore send one snapshot every interval, even
    an empty one. Totals never depend on timing: every snapshot is merged into them
    exactly, however late it arrives.
    """

    def __init__(
        self,
        *,
        workers: Iterable[int] = (),
        percentiles: Iterable[float] = DEFAULT_PERCENTILES,
        max_lag: int = 5,
        keep_interval_histograms: bool = False,
        layout: HdrLayout = LATENCY_US,
    ) -> None:
        if max_lag < 1:
            raise ValueError("max_lag must be >= 1")
        self.percentiles = tuple(float(p) for p in percentiles)
        self.max_lag = max_lag
        self.keep_interval_histograms = keep_interval_histograms
        self.layout = layout
        self.totals = Totals()
        self._phases: dict[tuple[str, str], Totals] = {}
        self._workers: dict[int, WorkerState] = {w: WorkerState(w) for w in workers}
        self._open: dict[int, _OpenInterval] = {}
        self._series: dict[int, IntervalSummary] = {}
        self._newest = -1
        self.duplicates = 0
        self.late_snapshots = 0

    # -- input -----------------------------------------------------------------------------

    def add(self, snapshot: IntervalSnapshot | bytes | bytearray | memoryview) -> bool:
        """Take one snapshot (object or ``to_bytes`` form). False if it was a duplicate."""
        snap = snapshot if isinstance(snapshot, IntervalSnapshot) else IntervalSnapshot.from_bytes(snapshot)
        for stats in snap.metrics.values():
            if stats.corrected.layout != self.layout or stats.uncorrected.layout != self.layout:
                raise ValueError(f"snapshot histogram layout differs from the aggregator's {self.layout}")
        state = self._workers.get(snap.worker)
        if state is None:
            state = self._workers[snap.worker] = WorkerState(snap.worker)
        if state.seen(snap.seq):
            self.duplicates += 1
            return False
        state.receive(snap)

        self.totals.add(snap)
        phase_key = (snap.phase, snap.step)
        phase = self._phases.get(phase_key)
        if phase is None:
            phase = self._phases[phase_key] = Totals()
        phase.add(snap)

        if snap.index in self._series:
            self._add_late(snap)
        else:
            interval = self._open.get(snap.index)
            if interval is None:
                self._open[snap.index] = _OpenInterval(snap)
            else:
                interval.add(snap)
        self._newest = max(self._newest, snap.index)
        self._close_ready()
        return True

    def worker_lost(self, worker: int) -> None:
        """The engine saw ``worker`` die: stop waiting for it; its numbers so far are kept."""
        state = self._workers.get(worker)
        if state is None:
            state = self._workers[worker] = WorkerState(worker)
        state.lost = True
        self._close_ready()

    def finish(self) -> None:
        """Summarise every interval still open (end of run)."""
        for index in sorted(self._open):
            self._close(index)

    # -- output ----------------------------------------------------------------------------

    def series(self) -> list[IntervalSummary]:
        """Summarised intervals in index order (open intervals are not included)."""
        return [self._series[i] for i in sorted(self._series)]

    def interval(self, index: int) -> IntervalSummary | None:
        return self._series.get(index)

    def phases(self) -> dict[tuple[str, str], Totals]:
        """Totals per (phase, step) label, in first-seen order."""
        return dict(self._phases)

    def workers(self) -> dict[int, WorkerState]:
        return dict(self._workers)

    def active_gauges(self) -> Gauges:
        """Sum of the latest gauges of workers that are still running."""
        total = Gauges()
        for state in self._workers.values():
            if state.active:
                total.merge(state.last_gauges)
        return total

    @property
    def open_intervals(self) -> int:
        return len(self._open)

    # -- internals -------------------------------------------------------------------------

    def _close_ready(self) -> None:
        if not self._open:
            return
        active = [s.complete_index for s in self._workers.values() if s.active]
        # Every active worker has moved past an interval -> nothing more should come for it.
        watermark = min(active) if active else self._newest + 1
        lag_limit = self._newest - self.max_lag
        for index in sorted(self._open):
            if index < watermark or index <= lag_limit:
                self._close(index)
            else:
                break

    def _close(self, index: int) -> None:
        interval = self._open.pop(index)
        gauges = Gauges()
        for _, g in interval.gauges.values():
            gauges.merge(g)
        self._series[index] = self._summarise(interval.merged, gauges, tuple(sorted(interval.workers)))

    def _summarise(self, snap: IntervalSnapshot, gauges: Gauges, worker_ids: tuple[int, ...]) -> IntervalSummary:
        seconds = max(snap.end_ns - snap.start_ns, 0) / 1e9
        return IntervalSummary(
            index=snap.index,
            start_ns=snap.start_ns,
            end_ns=snap.end_ns,
            worker_ids=worker_ids,
            phase=snap.phase,
            step=snap.step,
            counters=snap.counters.copy(),
            active_connections=gauges.active_connections,
            active_vus=gauges.active_vus,
            metrics={key: self._metric_summary(stats, seconds) for key, stats in snap.metrics.items()},
        )

    def _metric_summary(self, stats: MetricStats, seconds: float) -> MetricSummary:
        keep = self.keep_interval_histograms
        return MetricSummary(
            outcomes=tuple(int(n) for n in stats.outcomes),
            nbytes=stats.nbytes,
            errors=dict(stats.errors),
            rate=stats.completed / seconds if seconds > 0 else 0.0,
            corrected=stats.corrected.percentiles(self.percentiles),
            uncorrected=stats.uncorrected.percentiles(self.percentiles),
            corrected_max=stats.corrected.max(),
            uncorrected_max=stats.uncorrected.max(),
            corrected_hdr=stats.corrected.encode() if keep else None,
            uncorrected_hdr=stats.uncorrected.encode() if keep else None,
        )

    def _rebuild(self, summary: MetricSummary) -> MetricStats:
        """MetricStats back from a summary: exact counts; histograms only if they were kept."""
        stats = MetricStats.empty(self.layout)
        if summary.corrected_hdr is not None and summary.uncorrected_hdr is not None:
            stats.corrected = HdrHistogram.decode(summary.corrected_hdr)
            stats.uncorrected = HdrHistogram.decode(summary.uncorrected_hdr)
        stats.outcomes[:] = summary.outcomes
        stats.nbytes = summary.nbytes
        stats.errors = dict(summary.errors)
        return stats

    def _add_late(self, snap: IntervalSnapshot) -> None:
        """Fold a snapshot into an already summarised interval, as exactly as memory allows."""
        self.late_snapshots += 1
        old = self._series[snap.index]
        rebuilt = IntervalSnapshot(
            worker=-1,
            index=old.index,
            start_ns=old.start_ns,
            end_ns=old.end_ns,
            phase=old.phase,
            step=old.step,
            metrics={key: self._rebuild(m) for key, m in old.metrics.items()},
            counters=old.counters.copy(),
        )
        rebuilt.merge(snap)
        rebuilt.index, rebuilt.phase, rebuilt.step = old.index, old.phase, old.step
        gauges = Gauges(old.active_connections, old.active_vus)
        if snap.worker not in old.worker_ids:
            gauges.merge(snap.gauges)
        new = self._summarise(rebuilt, gauges, tuple(sorted({*old.worker_ids, snap.worker})))
        new.partial = old.partial
        for key, before in old.metrics.items():
            if key in snap.metrics and before.corrected_hdr is None:
                # The old histograms are gone: keep percentiles of what we had, flag it.
                after = new.metrics[key]
                after.corrected = before.corrected
                after.uncorrected = before.uncorrected
                after.corrected_max = max(before.corrected_max, after.corrected_max)
                after.uncorrected_max = max(before.uncorrected_max, after.uncorrected_max)
                new.partial = True
        self._series[snap.index] = new
