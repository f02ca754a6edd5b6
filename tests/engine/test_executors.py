"""Executors drive a fake Behaviour: who starts when, how many, and what is dropped."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

import pytest

from streamtestbench.engine.executors import (
    ExecutionContext,
    StageGroup,
    WorkerSlice,
    group_stages,
    run_arrivals,
    run_connections,
)
from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.scenario.plan import PlanStage, StageKind


class CountingRecorder(NullRecorder):
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


class FakeBehaviour:
    """Records which units ran and, for rate-driven connections, when each message was due."""

    def __init__(self, iteration_seconds: float = 0.0) -> None:
        self.connections: list[int] = []
        self.iterations: list[tuple[int, int]] = []
        self.dues: dict[int, list[int]] = {}
        self.iteration_seconds = iteration_seconds
        self.active = 0
        self.peak = 0

    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        self.connections.append(unit)
        self.active += 1
        self.peak = max(self.peak, self.active)
        if next_due is not None:
            index = 0
            while (due := next_due(index)) is not None:
                self.dues.setdefault(unit, []).append(due)
                index += 1
        await stop.wait()
        self.active -= 1

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        self.iterations.append((unit, scheduled_ns))
        await asyncio.sleep(self.iteration_seconds)

    async def close(self) -> None:
        return None


def _context(behaviour: FakeBehaviour, recorder: CountingRecorder, worker: int = 0, workers: int = 1,
             stages: list[str] | None = None) -> ExecutionContext:
    labels = stages if stages is not None else []
    return ExecutionContext(behaviour, recorder, WorkerSlice(worker, workers), time.monotonic_ns(),
                            StopSignal(), labels.append)


def _stage(kind: StageKind, duration: float, start: float, end: float, rate: float | None = None,
           at: float = 0.0, max_vus: int | None = None, name: str = "s") -> PlanStage:
    return PlanStage(name, kind, at, duration, start, end, None, max_vus=max_vus, messages_per_second=rate)


def test_consecutive_connection_stages_share_their_connections() -> None:
    stages = [_stage(StageKind.CONNECTIONS, 1, 0, 10, name="up"), _stage(StageKind.CONNECTIONS, 1, 10, 10, at=1,
                                                                          name="hold"),
              _stage(StageKind.IDLE, 1, 0, 0, at=2), _stage(StageKind.ARRIVALS, 1, 5, 5, at=3)]
    groups = group_stages(stages)
    assert [(g.kind, len(g.stages)) for g in groups] == [(StageKind.CONNECTIONS, 2), (StageKind.IDLE, 1),
                                                         (StageKind.ARRIVALS, 1)]


def test_constant_connections_start_every_unit_once_and_label_stages() -> None:
    behaviour, recorder, labels = FakeBehaviour(), CountingRecorder(), list[str]()
    group = StageGroup(StageKind.CONNECTIONS, 0.0, (_stage(StageKind.CONNECTIONS, 0.4, 5, 5, name="steady"),))
    asyncio.run(run_connections(_context(behaviour, recorder, stages=labels), group))
    assert sorted(behaviour.connections) == [0, 1, 2, 3, 4]
    assert labels == ["steady"]


def test_ramp_opens_connections_progressively() -> None:
    behaviour, recorder = FakeBehaviour(), CountingRecorder()
    group = StageGroup(StageKind.CONNECTIONS, 0.0, (_stage(StageKind.CONNECTIONS, 0.5, 0, 20),
                                                    _stage(StageKind.CONNECTIONS, 0.3, 20, 20, at=0.5)))
    asyncio.run(run_connections(_context(behaviour, recorder), group))
    assert sorted(behaviour.connections) == list(range(20))
    assert behaviour.peak == 20


def test_rate_driven_connections_get_drift_free_due_times() -> None:
    behaviour, recorder = FakeBehaviour(), CountingRecorder()
    group = StageGroup(StageKind.CONNECTIONS, 0.0, (_stage(StageKind.CONNECTIONS, 1.0, 4, 4, rate=10.0),))
    asyncio.run(run_connections(_context(behaviour, recorder), group))
    assert sorted(behaviour.dues) == [0, 1, 2, 3]
    for dues in behaviour.dues.values():
        assert len(dues) == 10
        gaps = {round((b - a) / 1e6, 3) for a, b in itertools.pairwise(dues)}
        assert gaps == {100.0}  # exactly one period apart, no accumulated error


def test_two_workers_partition_the_connections_exactly() -> None:
    seen: list[int] = []
    for worker in range(2):
        behaviour = FakeBehaviour()
        group = StageGroup(StageKind.CONNECTIONS, 0.0, (_stage(StageKind.CONNECTIONS, 0.3, 7, 7),))
        asyncio.run(run_connections(_context(behaviour, CountingRecorder(), worker, 2), group))
        seen += behaviour.connections
    assert sorted(seen) == list(range(7))


def test_arrivals_run_once_each_at_their_scheduled_time() -> None:
    behaviour, recorder = FakeBehaviour(), CountingRecorder()
    ctx = _context(behaviour, recorder)
    group = StageGroup(StageKind.ARRIVALS, 0.0, (_stage(StageKind.ARRIVALS, 0.5, 20, 20),))
    asyncio.run(run_arrivals(ctx, group, pooled=False, pool_size=None, max_vus=None))
    assert [unit for unit, _ in behaviour.iterations] == list(range(10))
    offsets = [(scheduled - ctx.start_ns) / 1e9 for _, scheduled in behaviour.iterations]
    assert offsets == [i / 20 for i in range(10)]
    assert recorder.counts == {}


def test_arrivals_beyond_max_vus_are_counted_as_dropped_not_sent_late() -> None:
    behaviour, recorder = FakeBehaviour(iteration_seconds=10.0), CountingRecorder()
    group = StageGroup(StageKind.ARRIVALS, 0.0, (_stage(StageKind.ARRIVALS, 0.5, 20, 20, max_vus=3),))

    async def run() -> None:
        ctx = _context(behaviour, recorder)
        task = asyncio.ensure_future(run_arrivals(ctx, group, pooled=False, pool_size=None, max_vus=3))
        await asyncio.sleep(0.8)
        ctx.stop.set()
        await task

    asyncio.run(run())
    assert len(behaviour.iterations) == 3
    assert recorder.counts == {"dropped_iterations": 7}


def test_pooled_arrivals_grow_to_max_vus_then_drop() -> None:
    behaviour, recorder = FakeBehaviour(iteration_seconds=10.0), CountingRecorder()
    group = StageGroup(StageKind.ITERATIONS, 0.0, (_stage(StageKind.ITERATIONS, 0.5, 20, 20),))

    async def run() -> None:
        ctx = _context(behaviour, recorder)
        task = asyncio.ensure_future(run_arrivals(ctx, group, pooled=True, pool_size=2, max_vus=5))
        await asyncio.sleep(0.8)
        ctx.stop.set()
        await task

    asyncio.run(run())
    assert len(behaviour.iterations) == 5
    assert recorder.counts == {"dropped_iterations": 5}


def test_two_workers_partition_the_arrivals_exactly() -> None:
    seen: list[int] = []
    for worker in range(2):
        behaviour = FakeBehaviour()
        group = StageGroup(StageKind.ARRIVALS, 0.0, (_stage(StageKind.ARRIVALS, 0.5, 22, 22),))
        asyncio.run(run_arrivals(_context(behaviour, CountingRecorder(), worker, 2), group, pooled=False,
                                 pool_size=None, max_vus=None))
        seen += [unit for unit, _ in behaviour.iterations]
    assert sorted(seen) == list(range(11))


class StartingBehaviour(FakeBehaviour):
    """Starts iterations from a callback (``StartsIterations``); each future settles on the next loop turn
    unless ``hold`` keeps it pending (a user still busy). ``block_at`` stalls the loop once, as a pause would."""

    def __init__(self, hold: bool = False, block_at: int | None = None, block_seconds: float = 0.03) -> None:
        super().__init__()
        self.hold = hold
        self.block_at = block_at
        self.block_seconds = block_seconds
        self.futures: list[asyncio.Future[None]] = []
        self.tasks_run: list[int] = []

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        self.tasks_run.append(unit)

    def start_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> asyncio.Future[None]:
        self.iterations.append((unit, scheduled_ns))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.futures.append(future)
        if unit == self.block_at:
            time.sleep(self.block_seconds)  # the loop stalls: the next arrivals are all due at once
        if not self.hold:
            loop.call_soon(future.set_result, None)
        return future


def test_arrivals_use_start_iteration_when_the_behaviour_has_it() -> None:
    behaviour, recorder = StartingBehaviour(), CountingRecorder()
    ctx = _context(behaviour, recorder)
    group = StageGroup(StageKind.ARRIVALS, 0.0, (_stage(StageKind.ARRIVALS, 0.5, 20, 20),))
    asyncio.run(run_arrivals(ctx, group, pooled=False, pool_size=None, max_vus=None))
    assert behaviour.tasks_run == []
    assert [unit for unit, _ in behaviour.iterations] == list(range(10))
    offsets = [(scheduled - ctx.start_ns) / 1e9 for _, scheduled in behaviour.iterations]
    assert offsets == [i / 20 for i in range(10)]
    assert all(f.done() for f in behaviour.futures)
    assert recorder.counts == {}


@pytest.mark.parametrize("max_vus", [1, 2])
def test_a_backlog_after_a_loop_stall_is_caught_up_without_dropping(max_vus: int) -> None:
    """A 30 ms stall leaves ~30 arrivals due at once with only 1-2 users. Every pass ends on the next loop
    turn, so a user is only busy until its callbacks run: the catch-up gives them those turns, through the
    whole backlog up to the first arrival on time again, and none is dropped."""
    behaviour, recorder = StartingBehaviour(block_at=5), CountingRecorder()
    ctx = _context(behaviour, recorder)
    group = StageGroup(StageKind.ARRIVALS, 0.0, (_stage(StageKind.ARRIVALS, 0.2, 1000, 1000, max_vus=max_vus),))
    asyncio.run(run_arrivals(ctx, group, pooled=False, pool_size=None, max_vus=max_vus))
    assert recorder.counts == {}
    assert [unit for unit, _ in behaviour.iterations] == list(range(200))
    assert behaviour.tasks_run == []


def test_arrivals_on_time_drop_at_once_when_every_start_iteration_user_is_busy() -> None:
    behaviour, recorder = StartingBehaviour(hold=True), CountingRecorder()
    group = StageGroup(StageKind.ARRIVALS, 0.0, (_stage(StageKind.ARRIVALS, 0.5, 20, 20, max_vus=3),))

    async def run() -> tuple[bool, bool]:
        ctx = _context(behaviour, recorder)
        task = asyncio.ensure_future(run_arrivals(ctx, group, pooled=False, pool_size=None, max_vus=3))
        await asyncio.sleep(0.8)
        ctx.stop.set()
        await asyncio.wait_for(task, 5.0)
        handed_over = set(behaviour.futures) <= ctx.tasks  # still running: the worker gives them their grace
        still_pending = not any(f.done() for f in behaviour.futures)
        for future in behaviour.futures:
            future.set_result(None)
        await asyncio.wait_for(asyncio.gather(*ctx.tasks, return_exceptions=True), 5.0)
        return handed_over, still_pending

    assert asyncio.run(run()) == (True, True)
    assert [unit for unit, _ in behaviour.iterations] == [0, 1, 2]
    assert recorder.counts == {"dropped_iterations": 7}
    assert behaviour.tasks_run == []
