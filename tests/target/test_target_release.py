"""Held replies leave in arrival order, at (not before) their release time (target/release.py)."""

from __future__ import annotations

import asyncio
import time

from streamtestbench.target.release import ReleaseQueue, Releaser


def test_queue_releases_in_order_and_never_overtakes() -> None:
    queue: ReleaseQueue[str] = ReleaseQueue()
    queue.push(2.0, "a")
    queue.push(1.0, "b")  # due earlier, but queued behind "a"
    queue.push(2.0, "c")
    assert queue.pop_due(1.5) == []
    assert queue.next_release() == 2.0
    assert queue.pop_due(2.0) == ["a", "b", "c"]
    assert not queue


def test_releaser_emits_on_time_and_in_order() -> None:
    async def scenario() -> list[tuple[str, float]]:
        emitted: list[tuple[str, float]] = []
        start = time.monotonic()
        releaser: Releaser[str] = Releaser(lambda item: emitted.append((item, time.monotonic() - start)))
        releaser.push(start + 0.05, "first")
        releaser.push(start + 0.05, "second")
        releaser.push(start + 0.02, "third")  # must still come after "second"
        releaser.push(start + 0.10, "fourth")
        await asyncio.sleep(0.2)
        return emitted

    emitted = asyncio.run(scenario())
    assert [item for item, _ in emitted] == ["first", "second", "third", "fourth"]
    times = dict(emitted)
    assert times["first"] >= 0.05 and times["fourth"] >= 0.10
    assert times["fourth"] < 0.19


def test_cancel_drops_everything_held() -> None:
    async def scenario() -> list[str]:
        emitted: list[str] = []
        releaser: Releaser[str] = Releaser(emitted.append)
        releaser.push(time.monotonic() + 0.02, "never")
        releaser.cancel()
        await asyncio.sleep(0.05)
        return emitted

    assert asyncio.run(scenario()) == []


def test_emit_may_cancel_mid_batch() -> None:
    async def scenario() -> list[str]:
        emitted: list[str] = []

        def emit(item: str) -> None:
            emitted.append(item)
            if item == "b":
                releaser.cancel()

        releaser: Releaser[str] = Releaser(emit)
        now = time.monotonic()
        for item in "abcd":
            releaser.push(now, item)
        await asyncio.sleep(0.02)
        return emitted

    assert asyncio.run(scenario()) == ["a", "b"]
