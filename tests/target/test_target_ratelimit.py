"""The token bucket behind --rate-limit (target/ratelimit.py)."""

from __future__ import annotations

import pytest

from streamtestbench.target.ratelimit import TokenBucket


def test_burst_then_refuse_then_refill() -> None:
    bucket = TokenBucket(5, now=0.0)
    assert [bucket.try_acquire(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.retry_after(0.0) == pytest.approx(0.2)
    assert not bucket.try_acquire(0.1)
    assert bucket.try_acquire(0.2)  # one token refilled after 1/rate seconds


def test_tokens_never_exceed_the_burst() -> None:
    bucket = TokenBucket(2, now=0.0)
    assert sum(bucket.try_acquire(1000.0) for _ in range(10)) == 2


def test_slow_rates_still_admit_one_message() -> None:
    bucket = TokenBucket(0.5, now=0.0)
    assert bucket.try_acquire(0.0)
    assert not bucket.try_acquire(1.0)
    assert bucket.try_acquire(2.0)


def test_retry_after_header_is_whole_seconds_rounded_up() -> None:
    bucket = TokenBucket(0.4, now=0.0)
    bucket.try_acquire(0.0)
    assert bucket.retry_after_header(0.0) == "3"  # 2.5 s -> 3
    fast = TokenBucket(100, now=0.0)
    assert fast.retry_after_header(0.0) == "1"


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
