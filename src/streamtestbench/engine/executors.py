"""Executors: start and stop virtual users as the plan's stages say, on one worker.

Every worker runs the same global schedule and acts only on the indexes it owns (every
``workers``-th from its own number, as k6's execution segments split by fraction), so N workers
together execute exactly the single-process plan.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ..scenario.load import Rates
from ..scenario.plan import PlanStage, StageKind
from .behaviour import Behaviour, StartsIterations
from .pacing import (
    LevelSchedule,
    LevelSegment,
    RateSchedule,
    RateSegment,
    burst_rate_segments,
    first_index_at,
)
from .recording import Recorder
from .stopping import StopSignal

CONTROL_TICK_S = 0.05
"""How often a closed-model controller re-reads the target level (ramp granularity)."""


@dataclass(frozen=True)
class StageGroup:
    """Consecutive stages of one kind that share their virtual users (ramp-up, steady, ramp-down)."""

    kind: StageKind
    start_seconds: float
    stages: tuple[PlanStage, ...]

    @property
    def duration(self) -> float:
        return sum(stage.duration_seconds for stage in self.stages)


def group_stages(stages: Sequence[PlanStage]) -> list[StageGroup]:
    groups: list[StageGroup] = []
    for stage in stages:
        continues = (groups and groups[-1].kind is stage.kind and stage.kind is StageKind.CONNECTIONS
                     and stage.messages_per_second == groups[-1].stages[-1].messages_per_second)
        if continues:
            last = groups[-1]
            groups[-1] = StageGroup(last.kind, last.start_seconds, (*last.stages, stage))
        else:
            groups.append(StageGroup(stage.kind, stage.start_seconds, (stage,)))
    return groups


@dataclass
class WorkerSlice:
    """This worker's share of the plan: index ``worker`` of ``workers``."""

    worker: int
    workers: int

    def share(self, total: int) -> int:
        """How many of ``total`` pooled VUs this worker gets (at least one)."""
        return max(1, total // self.workers + (1 if self.worker < total % self.workers else 0))


class ExecutionContext:
    """Shared by the executors of one worker: clock origin, stop signal, behaviour, recorder."""

    def __init__(self, behaviour: Behaviour, recorder: Recorder, slice_: WorkerSlice, start_ns: int,
                 stop: StopSignal, set_stage: Callable[[str], None]) -> None:
        self.behaviour = behaviour
        self.recorder = recorder
        self.slice = slice_
        self.start_ns = start_ns
        self.stop = stop
        self.set_stage = set_stage
        self.tasks: set[asyncio.Future[None]] = set()
        """Work the worker waits for (with the grace period) when the run stops."""

    def elapsed(self) -> float:
        return (time.monotonic_ns() - self.start_ns) / 1e9

    def at_ns(self, seconds: float) -> int:
        return self.start_ns + int(seconds * 1e9)

    async def sleep_until(self, seconds: float) -> bool:
        """Sleep until plan time ``seconds``; False if the run was stopped first."""
        await self.stop.sleep(seconds - self.elapsed())
        return not self.stop.is_set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


async def _label_stages(ctx: ExecutionContext, group: StageGroup) -> None:
    """Tag samples with the stage currently running, so results break down per stage."""
    for stage in group.stages:
        if not await ctx.sleep_until(stage.start_seconds):
            return
        ctx.set_stage(stage.name)


async def run_connections(ctx: ExecutionContext, group: StageGroup, rates: Rates | None = None) -> None:
    """Closed model: keep ``level_at(t)`` connections open, each looping the flow or sending at a rate."""
    levels = LevelSchedule([LevelSegment(s.duration_seconds, s.start_level, s.end_level) for s in group.stages])
    rate = group.stages[0].messages_per_second
    peak = max(levels.peak(), 1)
    rate_schedule = _rate_schedule(group, rate, rates)
    active: dict[int, tuple[StopSignal, asyncio.Task[None]]] = {}
    labeller = ctx.spawn(_label_stages(ctx, group))
    end = group.start_seconds + group.duration
    workers = ctx.slice.workers
    next_unit = ctx.slice.worker  # the lowest owned unit not started yet
    try:
        while not ctx.stop.is_set():
            elapsed = ctx.elapsed()
            if elapsed >= end:
                break
            level = levels.level_at(elapsed - group.start_seconds)
            while next_unit < level:  # ramping up: start only the new units, never rescan
                unit_stop = StopSignal()
                planned = levels.start_time_of(next_unit) or 0.0
                next_due = _due_function(ctx, rate_schedule, group, next_unit, peak, rate, planned)
                task = ctx.spawn(ctx.behaviour.run_connection(next_unit, unit_stop, next_due))
                active[next_unit] = (unit_stop, task)
                next_unit += workers
            while next_unit - workers >= level and next_unit - workers >= 0:  # ramping down
                next_unit -= workers
                stopped = active.pop(next_unit, None)
                if stopped is not None:
                    stopped[0].set()
            await ctx.sleep_until(min(end, elapsed + CONTROL_TICK_S))
    finally:
        labeller.cancel()
        for unit_stop, _ in active.values():
            unit_stop.set()
        await _drain([task for _, task in active.values()])


def _rate_schedule(group: StageGroup, rate: float | None, rates: Rates | None) -> RateSchedule | None:
    """One connection's send schedule over the group, with seed 000's periodic bursts."""
    if rate is None:
        return None
    if rates is None or rates.burst_multiplier <= 1:
        return RateSchedule([RateSegment(group.duration, rate, rate)])
    return RateSchedule(burst_rate_segments(rate, rates.burst_multiplier, rates.burst_interval_seconds,
                                            rates.burst_duration_seconds, group.duration))


def _due_function(ctx: ExecutionContext, schedule: RateSchedule | None, group: StageGroup, unit: int,
                  peak: int, rate: float | None, planned_start: float) -> Callable[[int], int | None] | None:
    """Message ``i`` of a connection is due at a time derived from ``i`` alone (no drift).

    The first message is the one due at the connection's *planned* start: a connection
    that opens late sends its backlog late, and its corrected latency shows it.
    """
    if schedule is None or rate is None:
        return None
    offset = (unit % peak) / peak / rate  # spread connections over one period, not in lockstep
    first = first_index_at(schedule, max(0.0, planned_start - offset))
    origin_ns = ctx.at_ns(group.start_seconds + offset)

    def next_due(index: int) -> int | None:
        due = schedule.time_of(first + index)
        if due is None or due + offset >= group.duration:
            return None
        return origin_ns + int(due * 1e9)

    return next_due


LATE_NS = 1_000_000
"""An arrival dispatched this long after its time is a backlog left by a pause of the worker's loop."""
CATCH_UP_NS = 5_000_000
"""How long a late arrival may wait for a user to come free before it counts as dropped."""
CATCH_UP_BATCH = 32
"""Late arrivals started between two loop turns: a backlog then reuses the connections of its first
answers instead of needing one connection (and one user) per due arrival at once."""


async def _wait_for_a_user(full: Callable[[], bool], patience_ns: int) -> None:
    """Users whose last response has arrived count as busy until their callbacks run: give those two loop
    turns (one reads the sockets, one runs the completions), and a late arrival up to ``patience_ns``
    more, catching up after a pause of this process, before the arrival counts as dropped."""
    for _ in range(2):
        await asyncio.sleep(0)
        if not full():
            return
    give_up = time.monotonic_ns() + patience_ns
    while full() and time.monotonic_ns() < give_up:
        await asyncio.sleep(0)


async def run_arrivals(ctx: ExecutionContext, group: StageGroup, pooled: bool,
                       pool_size: int | None, max_vus: int | None) -> None:
    """Open model: iteration ``i`` starts at ``time_of(i)``; no free VU means a dropped iteration.

    A user is free once its pass's last callback ran. After a pause of this process (a collector
    run, the scheduler), the backlog of due arrivals would find users still "busy" whose responses
    are waiting in their sockets: a backlog goes out in batches with loop turns between them, and a
    late arrival that finds no user waits a little for one before it is dropped. Every arrival is
    measured from its scheduled time, so a pause shows in corrected latency.

    Artillery phases (``pooled=False``) start a fresh VU per arrival up to ``maxVusers``;
    k6 arrival-rate executors (``pooled=True``) reuse ``preAllocatedVUs``, growing to ``maxVUs``.
    """
    schedule = RateSchedule([RateSegment(s.duration_seconds, s.start_level, s.end_level) for s in group.stages])
    limit = ctx.slice.share(max_vus) if max_vus else None
    allocated = ctx.slice.share(pool_size) if pooled and pool_size else 0
    busy = 0
    labeller = ctx.spawn(_label_stages(ctx, group))
    index = ctx.slice.worker
    iterations: set[asyncio.Future[None]] = set()
    behind = 0
    """Arrivals in a row started late (a backlog being caught up)."""
    starter = ctx.behaviour if isinstance(ctx.behaviour, StartsIterations) else None

    def finished(iteration: asyncio.Future[None]) -> None:
        nonlocal busy
        busy -= 1
        iterations.discard(iteration)

    def full() -> bool:
        capacity = limit if not pooled else max(allocated, limit or allocated)
        return capacity is not None and busy >= capacity

    try:
        while not ctx.stop.is_set():
            due = schedule.time_of(index)
            if due is None:
                break
            if not await ctx.sleep_until(group.start_seconds + due):
                break
            scheduled_ns = ctx.at_ns(group.start_seconds + due)
            late = time.monotonic_ns() - scheduled_ns > LATE_NS
            if late:
                behind += 1
                if behind % CATCH_UP_BATCH == 0:
                    await asyncio.sleep(0)  # a backlog goes out in batches, the earlier ones' answers in between
            else:
                behind = 0
            if full():
                await _wait_for_a_user(full, CATCH_UP_NS if late else 0)
            if full():
                ctx.recorder.count("dropped_iterations")
            else:
                if pooled and busy >= allocated:
                    allocated += 1
                busy += 1
                iteration = starter.start_iteration(index, scheduled_ns, ctx.stop) if starter is not None \
                    else ctx.spawn(ctx.behaviour.run_iteration(index, scheduled_ns, ctx.stop))
                iterations.add(iteration)
                iteration.add_done_callback(finished)
            index += ctx.slice.workers
    finally:
        labeller.cancel()
    await _drain(list(iterations), wait_for=ctx.stop)
    ctx.tasks.update(iterations)  # stopped: the worker gives the ones still running their grace period


async def _drain(tasks: list[asyncio.Future[None]], wait_for: StopSignal | None = None) -> None:
    """Let running VUs finish: they watch the stop event; the runner bounds the grace period."""
    if not tasks:
        return
    if wait_for is None:
        await asyncio.gather(*tasks, return_exceptions=True)
        return
    stopper: asyncio.Future[None] = asyncio.ensure_future(wait_for.wait())
    pending: set[asyncio.Future[Any]] = set(tasks)
    while pending and not stopper.done():
        _, pending = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
        pending.discard(stopper)
    stopper.cancel()


async def run_idle(ctx: ExecutionContext, group: StageGroup) -> None:
    labeller = ctx.spawn(_label_stages(ctx, group))
    await ctx.sleep_until(group.start_seconds + group.duration)
    labeller.cancel()
