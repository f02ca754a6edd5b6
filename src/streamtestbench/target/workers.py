"""``--workers N``: N forked processes share one port through SO_REUSEPORT.

Each worker is the ordinary single-process target with its own event loop. They share one
anonymous shared-memory block: a slot of counters per worker (flushed every 50 ms and right before
a /stats answer), the /stats/reset baseline, and the runtime fault specs, so /stats and
/admin/faults mean the same thing whichever worker a request lands on.

Limits: channels are per worker (a publish reaches subscribers connected to the same worker
only), and another worker's counters may be up to one flush interval old while traffic flows.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import mmap
import os
import selectors
import signal
import sys
import time

from .config import TargetConfig
from .context import TargetContext
from .faults import FaultSpecError, parse_faults
from .netutil import listen_socket
from .server import OnListening, run_loop, run_target
from .stats import VECTOR_LEN, Stats, subtract_baseline

__all__ = ["FLUSH_INTERVAL_SECONDS", "SharedCounters", "WorkerStatsSource", "serve_workers"]

FLUSH_INTERVAL_SECONDS = 0.05
READY_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 5.0
_FAULT_BYTES = 4096


class SharedCounters:
    """int64 slots in an anonymous MAP_SHARED mapping, created before fork so children inherit it.

    Layout: ``workers`` vectors, one baseline vector, fault generation, fault length, fault JSON.
    Each slot has a single writer (its worker); aligned 8-byte stores do not tear on the
    platforms we run on, so readers need no lock.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._n_ints = (workers + 1) * VECTOR_LEN + 2
        self._mm = mmap.mmap(-1, self._n_ints * 8 + _FAULT_BYTES)
        self._ints = memoryview(self._mm)[: self._n_ints * 8].cast("q")
        self._fault_blob = memoryview(self._mm)[self._n_ints * 8 :]
        self._baseline_at = workers * VECTOR_LEN
        self._fault_gen_at = self._n_ints - 2

    def write_slot(self, index: int, vector: list[int]) -> None:
        start = index * VECTOR_LEN
        self._ints[start : start + VECTOR_LEN] = array.array("q", vector)

    def total(self) -> list[int]:
        ints = self._ints
        sums = [0] * VECTOR_LEN
        for worker in range(self.workers):
            base = worker * VECTOR_LEN
            for i in range(VECTOR_LEN):
                sums[i] += ints[base + i]
        return sums

    def baseline(self) -> list[int]:
        start = self._baseline_at
        return list(self._ints[start : start + VECTOR_LEN])

    def set_baseline(self, vector: list[int]) -> None:
        start = self._baseline_at
        self._ints[start : start + VECTOR_LEN] = array.array("q", vector)

    def fault_generation(self) -> int:
        return int(self._ints[self._fault_gen_at])

    def publish_faults(self, specs: list[str]) -> int:
        """Store the fault specs for every worker; returns the new generation."""
        blob = json.dumps(specs).encode()
        if len(blob) > _FAULT_BYTES:
            raise ValueError("too many fault specs to share between workers")
        self._fault_blob[: len(blob)] = blob
        self._ints[self._fault_gen_at + 1] = len(blob)
        generation = self.fault_generation() + 1
        self._ints[self._fault_gen_at] = generation
        return generation

    def read_faults(self) -> list[str]:
        length = int(self._ints[self._fault_gen_at + 1])
        specs = json.loads(bytes(self._fault_blob[:length]) or b"[]")
        return [str(spec) for spec in specs]


class WorkerStatsSource:
    """/stats in a worker: flush our own slot, then sum every worker's and subtract the baseline."""

    def __init__(self, shared: SharedCounters, index: int, stats: Stats) -> None:
        self._shared = shared
        self._index = index
        self._stats = stats

    def flush(self) -> None:
        self._shared.write_slot(self._index, self._stats.raw_vector())

    def vector(self) -> list[int]:
        self.flush()
        return subtract_baseline(self._shared.total(), self._shared.baseline())

    def reset(self) -> None:
        self.flush()
        self._shared.set_baseline(self._shared.total())


class _WorkerSync:
    """Per worker: keep the shared slot fresh and follow fault changes made through a sibling."""

    def __init__(self, shared: SharedCounters, source: WorkerStatsSource) -> None:
        self._shared = shared
        self._source = source
        self._seen = shared.fault_generation()
        self._ctx: TargetContext | None = None

    def attach(self, ctx: TargetContext) -> None:
        self._ctx = ctx
        ctx.fault_sink = self._publish
        self._tick()

    def _publish(self, specs: list[str]) -> None:
        self._seen = self._shared.publish_faults(specs)

    def _tick(self) -> None:
        ctx = self._ctx
        assert ctx is not None
        self._source.flush()
        generation = self._shared.fault_generation()
        if generation != self._seen:
            self._seen = generation
            # A sibling validated these specs before sharing them.
            with contextlib.suppress(FaultSpecError):
                ctx.faults.set(parse_faults(self._shared.read_faults()), ctx.clock())
        if not ctx.stopping:
            asyncio.get_running_loop().call_later(FLUSH_INTERVAL_SECONDS, self._tick)


def _worker_main(config: TargetConfig, index: int, shared: SharedCounters, port: int, ready_fd: int) -> int:
    """Runs in the forked child: serve on our own SO_REUSEPORT socket until SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sock = listen_socket(config.bind_host, port, reuse_port=True)
    stats = Stats()
    source = WorkerStatsSource(shared, index, stats)
    sync = _WorkerSync(shared, source)

    def on_listening(_host: str, bound: int) -> None:
        os.write(ready_fd, f"{bound}\n".encode())
        os.close(ready_fd)

    run_loop(
        lambda: run_target(
            config, on_listening=on_listening, sock=sock, stats=stats, stats_source=source, on_started=sync.attach
        ),
        use_uvloop=config.use_uvloop,
    )
    return 0


def _wait_ready(read_fd: int, workers: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    lines = b""
    with selectors.DefaultSelector() as selector:
        selector.register(read_fd, selectors.EVENT_READ)
        while lines.count(b"\n") < workers:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return False
            chunk = os.read(read_fd, 4096)
            if not chunk:
                return False
            lines += chunk
    return True


def _stop_children(children: list[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _reap(children: list[int], timeout: float) -> int:
    """Wait for every child; SIGKILL those still there after ``timeout``. 0 if all exited 0."""
    deadline = time.monotonic() + timeout
    all_ok = True
    pending = set(children)
    killed = False
    while pending:
        for pid in list(pending):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pending.discard(pid)
                all_ok = all_ok and os.waitstatus_to_exitcode(status) == 0
        if pending and not killed and time.monotonic() > deadline:
            for pid in pending:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed = True
            all_ok = False
        if pending:
            time.sleep(0.02)
    return 0 if all_ok else 1


def serve_workers(config: TargetConfig, *, on_listening: OnListening) -> int:
    """Fork ``config.workers`` servers on one port; print the listening line once all accept."""
    reservation = listen_socket(config.bind_host, config.port, reuse_port=True)
    port = int(reservation.getsockname()[1])
    shared = SharedCounters(config.workers)
    read_fd, write_fd = os.pipe()
    children: list[int] = []
    sys.stdout.flush()
    sys.stderr.flush()
    for index in range(config.workers):
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                os.close(read_fd)
                reservation.close()
                code = _worker_main(config, index, shared, port, write_fd)
            except BaseException as exc:  # a child must never return into the parent's code
                print(f"streamtestbench target worker {index}: {exc!r}", file=sys.stderr)
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    os.close(write_fd)

    stopping = False

    def forward(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        _stop_children(children)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    ready = _wait_ready(read_fd, config.workers, READY_TIMEOUT_SECONDS)
    os.close(read_fd)
    reservation.close()
    if not ready:
        print("streamtestbench target: workers did not start", file=sys.stderr)
        _stop_children(children)
        _reap(children, STOP_TIMEOUT_SECONDS)
        return 1
    if not stopping:
        on_listening(config.url_host(), port)
    # Children only exit when told to (or when they fail); wait for them all.
    exit_code = 0
    while not stopping:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid in children:
            children.remove(pid)
            if os.waitstatus_to_exitcode(status) != 0:
                exit_code = 1
            if not stopping:
                # A worker died on its own: take the rest down rather than serve a partial port.
                print(f"streamtestbench target: worker {pid} exited ({status}); stopping", file=sys.stderr)
                _stop_children(children)
                _reap(children, STOP_TIMEOUT_SECONDS)
                return 1
    return max(exit_code, _reap(children, STOP_TIMEOUT_SECONDS))
