"""Pacing is pure: tested against a fake clock (plain numbers), never by sleeping."""

from __future__ import annotations

import itertools
import math

import pytest

from streamtestbench.engine.pacing import (
    LevelSchedule,
    LevelSegment,
    RateSchedule,
    RateSegment,
    burst_rate_segments,
)


def test_constant_rate_schedules_event_i_at_i_times_period() -> None:
    schedule = RateSchedule.constant(rate=100.0, duration=10.0)
    assert schedule.expected_count() == 1000
    for index in (0, 1, 2, 500, 999):
        assert schedule.time_of(index) == pytest.approx(index / 100.0)
    assert schedule.time_of(1000) is None


def test_errors_do_not_accumulate_over_a_million_events() -> None:
    schedule = RateSchedule.constant(rate=3.0, duration=1_000_000.0)
    assert schedule.time_of(2_999_999) == pytest.approx(2_999_999 / 3.0, rel=0, abs=1e-6)


def test_linear_ramp_matches_the_integral_of_the_rate() -> None:
    schedule = RateSchedule([RateSegment(10.0, 0.0, 100.0)])
    assert schedule.total_events == pytest.approx(500.0)
    # events(t) = 5 t^2  ->  t = sqrt(i / 5)
    for index in (1, 20, 125, 499):
        assert schedule.time_of(index) == pytest.approx(math.sqrt(index / 5.0))


def test_ramp_down_and_piecewise_segments() -> None:
    schedule = RateSchedule([RateSegment(10.0, 10.0, 10.0), RateSegment(10.0, 10.0, 0.0)])
    assert schedule.expected_count() == 150
    assert schedule.time_of(99) == pytest.approx(9.9)
    assert schedule.time_of(100) == pytest.approx(10.0)
    times = [schedule.time_of(i) for i in range(150)]
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(times))
    assert times[-1] is not None and times[-1] <= 20.0


def test_zero_rate_gap_skips_forward() -> None:
    schedule = RateSchedule([RateSegment(5.0, 2.0, 2.0), RateSegment(5.0, 0.0, 0.0),
                             RateSegment(5.0, 2.0, 2.0)])
    assert schedule.time_of(9) == pytest.approx(4.5)
    assert schedule.time_of(10) == pytest.approx(10.0)



def test_level_schedule_ramps_and_holds() -> None:
    levels = LevelSchedule([LevelSegment(10.0, 0.0, 100.0), LevelSegment(10.0, 100.0, 100.0),
                            LevelSegment(5.0, 100.0, 0.0)])
    assert levels.level_at(0.0) == 0
    assert levels.level_at(5.0) == 50
    assert levels.level_at(15.0) == 100
    assert levels.level_at(22.5) == 50
    assert levels.level_at(99.0) == 0
    assert levels.peak() == 100
    assert levels.start_time_of(0) == pytest.approx(0.1)
    assert levels.start_time_of(49) == pytest.approx(5.0)
    assert levels.start_time_of(100) is None


def test_bursts_multiply_the_rate_at_the_end_of_each_interval() -> None:
    segments = burst_rate_segments(rate=10.0, multiplier=3.0, interval=10.0, burst=1.0, duration=30.0)
    schedule = RateSchedule(segments)
    assert schedule.total_events == pytest.approx(30 * 10 + 3 * 1 * 20)
    assert [s.start_rate for s in segments[:2]] == [10.0, 30.0]
