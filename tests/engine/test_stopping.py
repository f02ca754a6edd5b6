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
