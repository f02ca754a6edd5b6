"""StopSignal: sleeps end early when stopped; waiters all wake."""

from __future__ import annotations

import asyncio
import time

from streamtestbench.engine.stopping import StopSignal


def test_sleep_runs_its_full_time_when_not_stopped() -> None:
    assert asyncio.run(StopSignal().sleep(0.01)) is True


def test_set_wakes_every_sleeper_and_waiter_at_once() -> None:
    async def scenario() -> tuple[list[bool], float]:
        stop = StopSignal()
        sleepers = [asyncio.ensure_future(stop.sleep(30)) for _ in range(100)]
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.sleep(0.01)
        started = time.monotonic()
        stop.set()
        results = await asyncio.gather(*sleepers)
        await waiter
        return results, time.monotonic() - started

    results, took = asyncio.run(scenario())
    assert results == [False] * 100
    assert took < 5.0


def test_a_set_signal_does_not_sleep() -> None:
    stop = StopSignal()
    stop.set()
    assert asyncio.run(stop.sleep(30)) is False
    assert stop.is_set()


def test_until_returns_when_the_future_finishes_or_the_signal_is_set() -> None:
    async def scenario() -> tuple[bool, bool, bool, int]:
        loop = asyncio.get_running_loop()
        stop = StopSignal()
        finished: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.01, finished.set_result, 1)
        first = await stop.until(finished)
        pending: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.01, stop.set)
        second = await stop.until(pending)
        third = await stop.until(loop.create_future())  # already stopped: returns at once
        return first, second, third, len(stop._waiters)

    assert asyncio.run(scenario()) == (True, False, False, 0)


def test_on_set_callback_runs_exactly_once_when_set() -> None:
    stop = StopSignal()
    calls: list[str] = []
    stop.on_set(lambda: calls.append("a"))
    assert calls == []
    stop.set()
    stop.set()  # a second set() does not call it again
    assert calls == ["a"]


def test_on_set_on_an_already_set_signal_runs_the_callback_at_once() -> None:
    stop = StopSignal()
    stop.set()
    calls: list[int] = []
    stop.on_set(lambda: calls.append(1))
    assert calls == [1]
    assert not stop._callbacks


def test_a_discarded_callback_never_runs() -> None:
    stop = StopSignal()
    calls: list[str] = []

    def kept() -> None:
        calls.append("kept")

    def dropped() -> None:
        calls.append("dropped")

    stop.on_set(kept)
    stop.on_set(dropped)
    stop.discard(dropped)
    stop.discard(dropped)  # discarding twice (or an unknown callback) is harmless
    stop.set()
    assert calls == ["kept"]


def test_a_failing_callback_does_not_keep_the_others_from_running() -> None:
    stop = StopSignal()
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    stop.on_set(broken)
    stop.on_set(lambda: calls.append("first"))
    stop.on_set(lambda: calls.append("second"))
    stop.set()  # does not raise
    assert sorted(calls) == ["broken", "first", "second"]
    assert stop.is_set()
