"""One worker process: one event loop running this worker's share of the plan.

The parent starts N of these (one per core). Each runs the same global schedule,
acts on the indexes it owns, and sends an encoded interval snapshot every second
through its pipe; its last one is marked final. SIGINT is ignored here (Ctrl-C
reaches the whole process group): the parent decides, and sets the shared stop event.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

from ..metrics.snapshot import Recorder as MetricsRecorder
from ..scenario.model import Scenario
from ..scenario.plan import ExecutionPlan, StageKind, build_plan
from .behaviour import Behaviour, PreparesArrivals
from .executors import ExecutionContext, WorkerSlice, group_stages, run_arrivals, run_connections, run_idle
from .protocol_behaviours import make_behaviour
from .sink import WorkerSink
from .stopping import StopSignal

STOP_POLL_S = 0.05
COMPACT_EVERY_S = 0.1
"""Samples fold into the interval's histograms this often, so a snapshot never takes a whole second's at once."""

READY = b"ready"
"""A worker's first message: set up and waiting for the common start time."""


@dataclass(frozen=True)
class WorkerSpec:
    scenario_data: dict[str, Any]
    worker: int
    workers: int
    interval_s: float = 1.0
    grace_s: float = 2.0
    seed: int = 0


@dataclass(frozen=True)
class StartSignal:
    """The parent's go: set once every worker is ready, with plan time 0 in ``start_ns``.

    ``start_ns`` is a ``time.monotonic_ns()`` value; CLOCK_MONOTONIC is system-wide, so all
    workers share it. Waiting for every worker keeps the generator's own start-up out of the
    schedule (and so out of the corrected latency).
    """

    go: MpEvent
    start_ns: Any  # multiprocessing.Value("q")


def worker_main(spec: WorkerSpec, pipe: Connection, stop: MpEvent, start: StartSignal) -> None:
    """Process entry point (must be importable for the spawn start method)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    raise_open_file_limit()
    try:
        import uvloop

        uvloop.run(_run(spec, pipe, stop, start))
    finally:
        pipe.close()


def raise_open_file_limit() -> int:
    """Every connection is a file: lift the soft limit to the hard one (20,000 on this machine)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


async def _watch_stop(stop: MpEvent, local: StopSignal) -> None:
    while not stop.is_set():
        await asyncio.sleep(STOP_POLL_S)
    local.set()


class _Snapshotter:
    """Sends one snapshot per interval, aligned to the plan's clock so workers' intervals line up."""

    def __init__(self, spec: WorkerSpec, start_ns: int, metrics: MetricsRecorder, sink: WorkerSink,
                 pipe: Connection) -> None:
        self.spec = spec
        self.start_ns = start_ns
        self.metrics = metrics
        self.sink = sink
        self.pipe = pipe
        self.index = 0
        self.interval_ns = int(spec.interval_s * 1e9)

    def _send(self, end_ns: int, final: bool) -> None:
        start_ns = self.start_ns + self.index * self.interval_ns
        snap = self.metrics.snapshot(self.index, start_ns, max(end_ns, start_ns), phase=self.sink.stage,
                                     final=final)
        with contextlib.suppress(BrokenPipeError, OSError):
            self.pipe.send_bytes(snap.to_bytes())
        self.index += 1

    async def run(self) -> None:
        compact = self.metrics.compact
        while True:
            boundary = self.start_ns + (self.index + 1) * self.interval_ns
            while (left := (boundary - time.monotonic_ns()) / 1e9) > COMPACT_EVERY_S:
                await asyncio.sleep(COMPACT_EVERY_S)
                compact()
            await asyncio.sleep(max(0.0, left))
            self._send(boundary, final=False)

    def final(self) -> None:
        self._send(time.monotonic_ns(), final=True)


async def _execute(scenario: Scenario, plan: ExecutionPlan, ctx: ExecutionContext) -> None:
    executor = scenario.executor
    for group in group_stages(plan.stages):
        if ctx.stop.is_set():
            return
        if not await ctx.sleep_until(group.start_seconds):
            return
        if group.kind is StageKind.CONNECTIONS:
            await run_connections(ctx, group, scenario.rates)
        elif group.kind is StageKind.ARRIVALS:
            await run_arrivals(ctx, group, pooled=False, pool_size=None, max_vus=group.stages[0].max_vus)
        elif group.kind is StageKind.ITERATIONS:
            assert executor is not None
            await run_arrivals(ctx, group, pooled=True, pool_size=executor.pre_allocated_vus,
                               max_vus=executor.max_vus or executor.pre_allocated_vus)
        else:
            await run_idle(ctx, group)


async def _prepare_arrivals(scenario: Scenario, plan: ExecutionPlan, behaviour: Behaviour, slice_: WorkerSlice) -> None:
    """Pre-allocated VUs of an arrival-rate executor are made ready before the common start."""
    executor = scenario.executor
    if executor is None or not executor.pre_allocated_vus or not isinstance(behaviour, PreparesArrivals):
        return
    if any(stage.kind is StageKind.ITERATIONS for stage in plan.stages):
        await behaviour.prepare_arrivals(slice_.share(executor.pre_allocated_vus))


async def _wait_for_start(pipe: Connection, start: StartSignal, stop_flag: MpEvent) -> int | None:
    pipe.send_bytes(READY)
    while not start.go.is_set():
        if stop_flag.is_set():
            return None
        await asyncio.sleep(0.005)
    return int(start.start_ns.value)


async def _run(spec: WorkerSpec, pipe: Connection, stop_flag: MpEvent, start: StartSignal) -> None:
    scenario = Scenario.model_validate(spec.scenario_data)
    metrics = MetricsRecorder(spec.worker)
    sink = WorkerSink(metrics)
    rng = random.Random(spec.seed * 1_000_003 + spec.worker)
    behaviour = make_behaviour(scenario, sink, rng, grace_s=spec.grace_s)
    plan = build_plan(scenario)
    slice_ = WorkerSlice(spec.worker, spec.workers)
    await _prepare_arrivals(scenario, plan, behaviour, slice_)
    gc.freeze()  # set-up objects (modules, compiled flows) are never scanned again: shorter collector pauses
    start_ns = await _wait_for_start(pipe, start, stop_flag)
    if start_ns is None:
        return
    stop = StopSignal()
    watcher = asyncio.ensure_future(_watch_stop(stop_flag, stop))
    snapshotter = _Snapshotter(spec, start_ns, metrics, sink, pipe)
    ticker = asyncio.ensure_future(snapshotter.run())
    ctx = ExecutionContext(behaviour, sink, slice_, start_ns, stop, sink.set_stage)
    try:
        await _execute(scenario, plan, ctx)
    finally:
        stop.set()
        if ctx.tasks:
            _, pending = await asyncio.wait(set(ctx.tasks), timeout=spec.grace_s + 1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(behaviour.close(), spec.grace_s)
        ticker.cancel()
        watcher.cancel()
        snapshotter.final()
