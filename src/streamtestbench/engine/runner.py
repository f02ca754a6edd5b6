"""The parent process of a run: start workers, merge their snapshots, show progress, stop cleanly.

The first Ctrl-C or SIGTERM asks the workers to stop (in-flight messages get the grace
period) and the partial results are still written; a second one terminates them. A
worker that dies is reported, and its numbers up to its last snapshot are kept.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from .. import exit_codes
from ..metrics.aggregate import Aggregator
from ..metrics.results import RunInfo, build_results
from ..metrics.snapshot import IntervalSnapshot
from ..outputs.progress import Progress
from ..outputs.summary import render_summary
from ..scenario.model import Scenario
from ..scenario.plan import ExecutionPlan
from ..slo.gate import Gate, apply_gate
from .protocol_behaviours import check_supported
from .safety import check_loopback
from .worker import READY, StartSignal, WorkerSpec, worker_main

START_LEAD_S = 0.05
"""Plan time 0 falls this long after the last worker reports ready."""
READY_TIMEOUT_S = 60.0
HARD_STOP_AFTER_S = 5.0


@dataclass
class RunOptions:
    workers: int | None = None
    interval_s: float = 1.0
    grace_s: float = 2.0
    progress_every_s: float = 5.0
    show_progress: bool = True
    seed: int = 0
    abort_check: Callable[[dict[str, Any]], str | None] | None = None
    """Judges the results so far (about once a second); a returned reason stops the run (abortOnFail)."""
    abort_after_s: float = 0.0
    """No abort check before this many seconds of the run (abortDelay)."""
    coordinator_nice: int = 0
    """Once the workers run, lower this process's CPU priority by this much (the CLI sets it): folding
    and printing each second's snapshots then waits for an idle moment instead of preempting a worker
    that shares its core, which would delay that worker's sends by milliseconds every second."""


@dataclass
class RunOutcome:
    results: dict[str, Any]
    exit_code: int
    notes: list[str] = field(default_factory=list)


COORDINATOR_NICE = 10
"""What the CLI's runs lower the coordinating process's priority by (``RunOptions.coordinator_nice``)."""


def _lower_priority(by: int) -> None:
    """Renice this process (never raised again: an unprivileged process cannot); workers keep theirs."""
    if by > 0:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + by))


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class _Signals:
    """First signal: graceful stop. Second: hard stop. Restores the previous handlers after the run."""

    def __init__(self) -> None:
        self.count = 0
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def execute(scenario: Scenario, plan: ExecutionPlan, options: RunOptions | None = None) -> RunOutcome:
    """Run ``plan`` with worker processes and return the results document and exit code."""
    options = options or RunOptions()
    check_loopback(scenario)
    check_supported(scenario)
    workers = options.workers or default_workers()
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    start = StartSignal(context.Event(), context.Value("q", 0))
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    processes: list[Any] = []
    pipes: dict[Connection, int] = {}
    for index in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        spec = WorkerSpec(data, index, workers, options.interval_s, options.grace_s,
                          options.seed or scenario.seed or 0)
        process = context.Process(target=worker_main, args=(spec, sender, stop, start), name=f"stb-worker-{index}",
                                  daemon=True)
        process.start()
        sender.close()
        processes.append(process)
        pipes[receiver] = index
    start_ns = _start_when_ready(pipes, processes, start)
    _lower_priority(options.coordinator_nice)
    start_epoch_ms = int(time.time() * 1000 + (start_ns - time.monotonic_ns()) / 1e6)
    aggregator = Aggregator(workers=range(workers))
    progress = Progress(plan.total_seconds, options.progress_every_s) if options.show_progress else None
    interrupted = False
    lost: list[int] = []
    deadline = time.monotonic() + START_LEAD_S + plan.total_seconds + options.grace_s + 15.0
    finals: set[int] = set()
    abort_reason: str | None = None
    next_abort_check = time.monotonic() + START_LEAD_S + options.abort_after_s
    with _Signals() as signals:
        if progress:
            progress.start()
        next_progress = time.monotonic() + START_LEAD_S + options.progress_every_s
        stop_requested_at: float | None = None
        try:
            while pipes:
                ready = wait(list(pipes), timeout=0.2)
                for pipe in ready:
                    assert isinstance(pipe, Connection)
                    try:
                        payload = pipe.recv_bytes()
                    except (EOFError, OSError):
                        worker = pipes.pop(pipe)
                        if worker not in finals:
                            lost.append(worker)
                            aggregator.worker_lost(worker)
                        continue
                    snapshot = IntervalSnapshot.from_bytes(payload)
                    aggregator.add(snapshot)
                    if snapshot.final:
                        finals.add(pipes[pipe])
                now = time.monotonic()
                if signals.count and stop_requested_at is None:
                    interrupted = True
                    stop.set()
                    stop_requested_at = now
                    print("\nstopping: finishing in-flight messages (Ctrl-C again to abort)", flush=True)
                if now > deadline and stop_requested_at is None:
                    stop.set()
                    stop_requested_at = now
                hard = signals.count > 1 or (stop_requested_at is not None
                                             and now - stop_requested_at > options.grace_s + HARD_STOP_AFTER_S)
                if hard:
                    for process in processes:
                        if process.is_alive():
                            process.terminate()
                if options.abort_check is not None and stop_requested_at is None and now >= next_abort_check:
                    running = RunInfo(scenario.name, scenario.protocol.value, start_epoch_ms,
                                      int(time.time() * 1000), "running", workers, tuple(lost), plan.total_seconds)
                    abort_reason = options.abort_check(build_results(aggregator, running))
                    next_abort_check = now + 1.0
                    if abort_reason is not None:
                        stop.set()
                        stop_requested_at = now
                        print(f"\nstopping: {abort_reason}", flush=True)
                if progress and now >= next_progress:
                    progress.show(progress.snapshot(aggregator, (time.monotonic_ns() - start_ns) / 1e9))
                    next_progress = now + options.progress_every_s
        finally:
            if progress:
                progress.stop()
            stop.set()
            for process in processes:
                process.join(timeout=5.0)
                if process.is_alive():
                    process.kill()
                    process.join(timeout=1.0)
    aggregator.finish()
    status = "interrupted" if interrupted else "completed"
    totals = aggregator.totals.counters
    notes = []
    if abort_reason is not None:
        status = "stopped"
        notes.append(f"stopped early because {abort_reason} (abortOnFail)")
    if lost:
        status = "aborted"
        notes.append(f"worker(s) {lost} died; their numbers up to their last snapshot are kept")
    elif totals.connections_attempted and not totals.connections_opened:
        status = "aborted"
        notes.append("no connection could be opened: is the target running?")
    end_epoch_ms = int(time.time() * 1000)
    info = RunInfo(scenario.name, scenario.protocol.value, start_epoch_ms, max(end_epoch_ms, start_epoch_ms + 1),
                   status, workers, tuple(lost), plan.total_seconds)
    results = build_results(aggregator, info)
    code = exit_codes.PASSED if status in ("completed", "stopped") else exit_codes.ABORTED
    results["exitCode"] = code
    results["notes"] = notes
    return RunOutcome(results, code, notes)


def _start_when_ready(pipes: dict[Connection, int], processes: list[Any], start: StartSignal) -> int:
    """Wait until every worker is set up (or gone), then give them one common plan time 0."""
    waiting = set(pipes)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while waiting and time.monotonic() < deadline and any(p.is_alive() for p in processes):
        for pipe in wait(list(waiting), timeout=0.1):
            assert isinstance(pipe, Connection)
            try:
                if pipe.recv_bytes() == READY:
                    waiting.discard(pipe)
            except (EOFError, OSError):
                waiting.discard(pipe)
    start_ns = time.monotonic_ns() + int(START_LEAD_S * 1e9)
    start.start_ns.value = start_ns
    start.go.set()
    return start_ns


def write_results(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    temporary.replace(path)


def run_plan_from_cli(scenario: Scenario, plan: ExecutionPlan, *, output: Path | None, verbose: bool,
                      options: RunOptions | None = None, gate: Gate | None = None) -> int:
    """Run, judge the results (thresholds, baseline), print the summary, write the results.

    Exit code: 3 when the run was aborted, else 1 when a threshold failed or a regression was found.
    """
    outcome = execute(scenario, plan, options)
    print(render_summary(outcome.results), flush=True)
    for note in outcome.notes:
        print(f"note: {note}", flush=True)
    gate_code, lines = apply_gate(gate, outcome.results) if gate is not None else (exit_codes.PASSED, [])
    for line in lines:
        print(line, flush=True)
    code = outcome.exit_code if outcome.exit_code != exit_codes.PASSED else gate_code
    outcome.results["exitCode"] = code
    if output is not None:
        write_results(outcome.results, output)
        print(f"results written to {output}", flush=True)
    return code
