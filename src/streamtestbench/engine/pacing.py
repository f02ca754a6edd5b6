"""Pure pacing: when the i-th event is due, and how many connections should be open.

Nothing here sleeps or reads a clock. As in vegeta's pacer and k6's arrival-rate
executors, event ``i`` is scheduled at a time computed from ``i`` alone (for a constant
rate, ``start + i * period``), so rounding errors never accumulate and a sender that
falls behind knows exactly how late it is.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RateSegment:
    """A span in which the event rate moves linearly from ``start_rate`` to ``end_rate`` (per second)."""

    duration: float
    start_rate: float
    end_rate: float

    @property
    def events(self) -> float:
        return self.duration * (self.start_rate + self.end_rate) / 2

    def time_of(self, events_into: float) -> float:
        """Seconds into this segment when ``events_into`` events have accumulated."""
        r0, r1, length = self.start_rate, self.end_rate, self.duration
        slope = (r1 - r0) / length if length > 0 else 0.0
        if abs(slope) < 1e-12:
            return events_into / r0 if r0 > 0 else math.inf
        # events(t) = r0 t + slope t^2 / 2  ->  solve for t (the root inside the segment)
        disc = r0 * r0 + 2 * slope * events_into
        if disc < 0:
            return math.inf
        return (-r0 + math.sqrt(disc)) / slope


class RateSchedule:
    """A piecewise-linear event rate; event ``i`` (from 0) is due when ``i`` events have accumulated.

    Event 0 is due at the first instant the rate is positive, so a constant rate ``r``
    gives times ``0, 1/r, 2/r, ...`` exactly.
    """

    def __init__(self, segments: Sequence[RateSegment]) -> None:
        self.segments = tuple(segments)
        self._starts: list[float] = []
        self._cumulative: list[float] = []
        clock = events = 0.0
        for segment in self.segments:
            self._starts.append(clock)
            self._cumulative.append(events)
            clock += segment.duration
            events += segment.events
        self.duration = clock
        self.total_events = events
        only = self.segments[0] if len(self.segments) == 1 else None
        self._constant_rate = only.start_rate if only is not None and only.start_rate == only.end_rate \
            and only.start_rate > 0 else 0.0
        """The rate of a one-segment constant schedule (open models at a fixed rate): ``time_of`` is ``i / r``."""

    @classmethod
    def constant(cls, rate: float, duration: float) -> RateSchedule:
        return cls([RateSegment(duration, rate, rate)])

    def expected_count(self) -> int:
        """How many events the schedule holds (events due strictly before its end)."""
        return sum(1 for _ in self._iter_indices())

    def _iter_indices(self) -> range:
        return range(math.ceil(self.total_events - 1e-9))

    def time_of(self, index: int) -> float | None:
        """Seconds from the schedule's start when event ``index`` is due, or None past the end."""
        target = float(index)
        if index < 0 or target >= self.total_events - 1e-9:
            return None
        if self._constant_rate:
            return min(target / self._constant_rate, self.duration)
        position = bisect.bisect_right(self._cumulative, target) - 1
        while position > 0 and self.segments[position].events <= 0:
            position -= 1
        for offset in range(position, len(self.segments)):
            segment = self.segments[offset]
            into = target - self._cumulative[offset]
            if segment.events > 0 and into < segment.events + 1e-9:
                moment = self._starts[offset] + segment.time_of(max(into, 0.0))
                return min(moment, self.duration)
        return None


def first_index_at(schedule: RateSchedule, moment: float) -> int:
    """The first event due at or after ``moment`` (binary search: time_of is monotonic)."""
    low, high = 0, schedule.expected_count()
    while low < high:
        middle = (low + high) // 2
        due = schedule.time_of(middle)
        if due is not None and due < moment:
            low = middle + 1
        else:
            high = middle
    return low


@dataclass(frozen=True)
class LevelSegment:
    """A span in which the target level (connections or VUs) moves linearly."""

    duration: float
    start_level: float
    end_level: float


class LevelSchedule:
    """How many connections or virtual users should be active at a moment (piecewise linear)."""

    def __init__(self, segments: Sequence[LevelSegment]) -> None:
        self.segments = tuple(segments)
        self.duration = sum(segment.duration for segment in self.segments)

    def level_at(self, elapsed: float) -> int:
        """The whole number of units that should be active ``elapsed`` seconds in (floor, as k6)."""
        clock = 0.0
        for segment in self.segments:
            if elapsed < clock + segment.duration:
                fraction = (elapsed - clock) / segment.duration if segment.duration > 0 else 1.0
                level = segment.start_level + (segment.end_level - segment.start_level) * fraction
                return max(0, math.floor(level + 1e-9))
            clock += segment.duration
        return max(0, math.floor(self.segments[-1].end_level + 1e-9)) if self.segments else 0

    def peak(self) -> int:
        return max((math.floor(max(s.start_level, s.end_level)) for s in self.segments), default=0)

    def start_time_of(self, unit: int) -> float | None:
        """When unit number ``unit`` (0-based) first becomes active, or None if it never does."""
        clock = 0.0
        needed = unit + 1
        for segment in self.segments:
            low, high = segment.start_level, segment.end_level
            if low >= needed - 1e-9:
                return clock
            if high >= needed - 1e-9 and high > low:
                return clock + segment.duration * (needed - low) / (high - low)
            clock += segment.duration
        return None


def burst_rate_segments(rate: float, multiplier: float, interval: float, burst: float,
                        duration: float) -> list[RateSegment]:
    """A steady ``rate`` that rises to ``rate * multiplier`` for ``burst`` s at the end of each ``interval``."""
    if multiplier <= 1 or duration <= 0:
        return [RateSegment(duration, rate, rate)] if duration > 0 else []
    segments: list[RateSegment] = []
    clock = 0.0
    calm = interval - burst
    while clock < duration - 1e-9:
        for length, value in ((calm, rate), (burst, rate * multiplier)):
            length = min(length, duration - clock)
            if length > 1e-9:
                segments.append(RateSegment(length, value, value))
                clock += length
    return segments
