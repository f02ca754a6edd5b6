"""Shared plumbing of the side-by-side benchmarks: pinned target, pinned tool runs, tables, facts.

It starts processes (always its own, stopped by id, bounded in time), collects what they print,
tells how busy the machine was and with whose work, and writes results. The benchmark scripts
import it as a sibling module (they run as ``.venv/bin/python bench/<script>.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent
STB = VENV_BIN / "streamtestbench"
SERVER_CORE = 1
GENERATOR_CORE = 0

LISTENING_RE = re.compile(r"streamtestbench target listening on http://(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d+)")


# ----------------------------------------------------------------------------------- machine


def raise_nofile_limit() -> tuple[int, int]:
    """Soft open-file limit up to the hard one (children inherit it); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def pin(core: int) -> list[str]:
    """``taskset -c core`` when there is such a core and taskset; else nothing (noted in facts)."""
    if shutil.which("taskset") is None or core >= (os.cpu_count() or 1):
        return []
    return ["taskset", "-c", str(core)]


def _package_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return ""


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def machine_facts() -> dict[str, Any]:
    """What a reader needs to judge the numbers: when, where, which versions, how busy."""
    node = shutil.which("node")
    node_version = ""
    if node:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            node_version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10,
                                          check=False).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": nproc(),
        "cpuModel": _cpu_model(),
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],
        "openFilesLimit": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        "pinning": {"server": SERVER_CORE, "generator": GENERATOR_CORE, "taskset": bool(pin(0))},
        "python": platform.python_version(),
        "node": node_version,
        "versions": {
            "streamtestbench": _package_version("streamtestbench"),
            "picows": _package_version("picows"),
            "uvloop": _package_version("uvloop"),
        },
        "git": {"commit": _git("rev-parse", "--short", "HEAD"), "dirty": bool(_git("status", "--porcelain"))},
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _own_cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU time of this process and every descendant already waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + children.ru_utime, me.ru_stime + children.ru_stime


def _machine_cpu_seconds(times: Any) -> tuple[float, float]:
    """(user, system) busy time of all cores. irq/softirq count as system: the kernel charges the
    softirq work (loopback TCP) to the task it interrupted, so our own system time holds it too."""
    system = times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    return float(times.user + times.nice), float(system)


def _busy_seconds(times: Any) -> float:
    return sum(_machine_cpu_seconds(times))


@dataclass
class LoadReport:
    cores_busy: list[float]
    """Busy share of each core, percent (is the server core saturated?)."""
    foreign_share: float
    """Share of the whole machine's CPU used by processes that are not this benchmark's, 0..1."""
    foreign_cpu_seconds: float
    wall_seconds: float


class LoadMeter:
    """How busy each core was during a run, and how much of that was someone else's work.

    Foreign CPU = machine busy time minus the CPU time of this process and its waited-for
    descendants, user and system apart (each at least 0). User time is unambiguous; system time
    also holds the softirq work, charged to whichever task it interrupted. On a quiet machine both
    come out within about 1% of zero. Call ``stop()`` only after the run's processes (the tool AND
    the target) have exited and been waited for, or their time counts as foreign.
    """

    def __init__(self) -> None:
        self._cores: list[Any] = []
        self._machine = (0.0, 0.0)
        self._own = (0.0, 0.0)
        self._wall = 0.0

    def start(self) -> None:
        self._cores = psutil.cpu_times(percpu=True)
        self._machine = _machine_cpu_seconds(psutil.cpu_times())
        self._own = _own_cpu_seconds()
        self._wall = time.monotonic()

    def cores(self) -> list[float]:
        after = psutil.cpu_times(percpu=True)
        busy = []
        for a, b in zip(after, self._cores, strict=False):
            total = sum(a) - sum(b)
            idle = (a.idle + getattr(a, "iowait", 0.0)) - (b.idle + getattr(b, "iowait", 0.0))
            busy.append(round(100.0 * (1 - idle / total), 1) if total > 0 else 0.0)
        return busy

    def stop(self, cores_busy: list[float] | None = None) -> LoadReport:
        wall = time.monotonic() - self._wall
        machine = _machine_cpu_seconds(psutil.cpu_times())
        own = _own_cpu_seconds()
        foreign = sum(max(0.0, (m1 - m0) - (o1 - o0))
                      for m0, m1, o0, o1 in zip(self._machine, machine, self._own, own, strict=True))
        share = foreign / (wall * (os.cpu_count() or 1)) if wall > 0 else 0.0
        return LoadReport(cores_busy if cores_busy is not None else self.cores(), round(share, 3),
                          round(foreign, 2), round(wall, 2))


class QuietGate:
    """Before a run, wait (within a total budget) until other processes leave the machine alone.

    Nothing of ours runs while it samples, so the machine's busy time is someone else's.
    """

    def __init__(self, max_share: float, budget_s: float) -> None:
        self.max_share = max_share
        self.budget_s = budget_s
        self.waited_s = 0.0

    def wait(self) -> float:
        waited = 0.0
        while True:
            before = _busy_seconds(psutil.cpu_times())
            time.sleep(1.0)
            share = (_busy_seconds(psutil.cpu_times()) - before) / (os.cpu_count() or 1)
            if share <= self.max_share or self.waited_s >= self.budget_s:
                return waited
            waited += 1.0
            self.waited_s += 1.0


# ------------------------------------------------------------------------------------ target


def _target_process_class() -> Any:
    """``streamtestbench.target.process.TargetProcess``, or None if the library cannot load it."""
    try:
        from streamtestbench.target.process import TargetProcess
    except Exception:  # the library is mid-edit or broken: the caller falls back to the CLI
        return None
    return TargetProcess


@dataclass
class Target:
    """The reference target, pinned to the server core, started fresh for every tool run."""

    extra_args: Sequence[str] = ()
    core: int = SERVER_CORE
    log: Path | None = None
    host: str = ""
    port: int = 0
    pid: int = 0
    _impl: Any = None
    _proc: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None
    how: str = ""

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def start(self) -> Target:
        self._log_file = open(self.log, "wb") if self.log else None  # noqa: SIM115 (closed in stop)
        stderr = self._log_file if self._log_file is not None else subprocess.DEVNULL
        prefix = pin(self.core)
        base = _target_process_class()
        if base is not None:
            # TargetProcess has no prefix option; its command() is the seam to put taskset in front.
            class _Pinned(base):  # type: ignore[misc, valid-type]
                def command(self) -> list[str]:
                    return [*prefix, *super().command()]

            impl = _Pinned(*self.extra_args, python=str(VENV_BIN / "python"), stderr=stderr, startup_timeout=30.0)
            impl.start()
            self._impl = impl
            self.host, self.port, self.pid = impl.host, impl.port, impl.pid
            self.how = "TargetProcess (command() prefixed with taskset)"
            return self
        proc = subprocess.Popen([*prefix, str(STB), "target", "--port", "0", *self.extra_args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        assert proc.stdout is not None
        line = proc.stdout.readline().decode("utf-8", "replace")
        match = LISTENING_RE.search(line)
        if match is None:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"target did not start: {line.strip()!r}; {self.log_tail()}")
        self._proc = proc
        self.host, self.port, self.pid = match.group("host"), int(match.group("port")), proc.pid
        self.how = "subprocess `taskset -c 1 streamtestbench target --port 0`"
        return self

    def rss(self) -> int:
        """RSS of the target and its worker children (``--workers N`` forks)."""
        try:
            me = psutil.Process(self.pid)
            return int(sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]))
        except psutil.Error:
            return 0

    def log_tail(self, limit: int = 400) -> str:
        if self.log is None or not self.log.exists():
            return ""
        text = self.log.read_bytes()[-4000:].decode("utf-8", "replace").strip().splitlines()
        return " / ".join(text[-3:])[-limit:]

    def stop(self) -> None:
        if self._impl is not None:
            with contextlib.suppress(Exception):
                self._impl.stop()
        elif self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
        if self._log_file is not None:
            self._log_file.close()

    def __enter__(self) -> Target:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------- tool runs


@dataclass
class Completed:
    argv: list[str]
    returncode: int | None
    """None when it was killed for running past its time limit."""
    stdout: str
    stderr: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def tail(self, lines: int = 4, limit: int = 400) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        kept = [line.strip() for line in text if line.strip()]
        return " / ".join(kept[-lines:])[-limit:]


def run_tool(argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
             cwd: Path | None = None, on_start: Any = None) -> Completed:
    """Run one tool in its own process group; past ``timeout`` the group is killed (by its id).

    ``on_start(popen)`` runs right after the start, in this thread, and may watch the process
    (it must return before the tool is expected to end); its return value lands in ``extra``.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        extra: dict[str, Any] = {}
        try:
            if on_start is not None:
                extra = on_start(proc) or {}
            code: int | None = proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        return Completed(list(argv), code, out.read().decode("utf-8", "replace"),
                         err.read().decode("utf-8", "replace"), time.perf_counter() - started, extra)


def last_json_line(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value
    return None


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -------------------------------------------------------------------------------------- output


def fmt_int(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "—"
    return f"{value / reference:.2f}×"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(stem: str, markdown: str, data: dict[str, Any]) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    md_path, json_path = RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.json"
    md_path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return md_path, json_path


def facts_lines(facts: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in facts["versions"].items() if v)
    peers = ", ".join(str(v) for v in facts.get("peers", {}).values())
    pinned = (f"server on core {facts['pinning']['server']}, generator on core {facts['pinning']['generator']}"
              if facts["pinning"]["taskset"] else "NOT pinned (no taskset or a single core)")
    return [
        f"- date: {facts['date']}; nproc: {facts['nproc']} ({facts['cpuModel']}); {pinned}",
        f"- load average at start: {facts['loadAverageAtStart']} (other work on the machine skews every row alike "
        "only if it is steady; see the per-run core load in the JSON)",
        f"- versions: Python {facts['python']}, Node {facts['node'] or 'n/a'}, {versions}"
        + (f"; peers: {peers}" if peers else ""),
        f"- commit: {facts['git']['commit']}{' (dirty tree)' if facts['git']['dirty'] else ''}",
    ]
