"""WebSocket connection capacity: how fast one generator opens N idle connections, and what each costs.

Default: 10,000 concurrent idle connections from ONE engine worker (pinned to core 0) against the
reference target (one process, pinned to core 1), next to a bare picows client doing the same.

- this engine: ``streamtestbench run --workers 1`` with a ramping-vus executor (``--ramp`` s to N,
  then ``--hold`` s at N) and a flow ``[{"think": 1000}]``: with no connect step each virtual user
  opens one connection and holds it while it thinks (flows/websocket.py run_connection). The
  worker process is sampled every 0.1 s (psutil: RSS and open file descriptors, one per socket):
  opens/s = connections / (time from the first socket to N sockets); client RSS per connection =
  (RSS at the plateau - RSS just before the first socket) / N. results.json gives the
  successful/failed counts and connect-time percentiles.
- raw picows: ``bench/raw_picows.py hold`` (at most 256 handshakes in flight, 1 KiB read buffer),
  which reports its own open time and RSS growth.

``--connections 50000``: more than one process may hold (20,000 open files each, hard limit) and
more than one source address may reach one port (28,232 ephemeral ports per address pair), so it
needs several engine workers and several loopback source addresses 127.0.0.x; the engine picks
its source addresses itself (127.0.0.1, 127.0.0.2, ... one per 20,000 connections), so the
scenario is the same as for 10,000 and runs with ``--workers`` = N / 15,000 (rounded up). The raw
picows row runs as many processes, each bound to its own 127.0.0.x; the target runs as many
workers (``--workers``), all pinned to core 1.

Results: bench/results/ws_capacity.md/.json (10,000) or ws_capacity_<N>.md/.json (other N).

    .venv/bin/python bench/ws_capacity.py [--connections 10000] [--ramp 3] [--hold 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

import benchkit as kit

PER_PROCESS_CONNECTIONS = 15_000
"""Connections one process is asked to hold (below the 20,000 open-file hard limit, with room)."""
PER_SOURCE_CONNECTIONS = 25_000
"""Connections per source address (below the 28,232 ephemeral ports of 32768-60999)."""
SAMPLE_S = 0.1
DESIGN_FIGURE = "2.1-3.7k opens/s, 13-29 KB client RSS each (picows with 1 KiB read buffer: 15 KB)"


@dataclass
class Attempt:
    tool: str
    run: int
    opened: int | None = None
    failed: int | None = None
    opens_per_s: float | None = None
    seconds_to_open: float | None = None
    rss_per_conn: float | None = None
    target_rss_per_conn: float | None = None
    peak_concurrent: int | None = None
    connect_p50_ms: float | None = None
    connect_p99_ms: float | None = None
    error: str | None = None
    foreign_share: float | None = None
    """Share of the machine's CPU that other processes used during the run (0..1)."""
    contended: bool = False
    details: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ engine support


def engine_scenario(url: str, connections: int, ramp: float, hold: float) -> dict[str, Any]:
    scenario: dict[str, Any] = {
        "name": f"ws capacity {connections}",
        "protocol": "WEBSOCKET",
        "endpoint": url,
        "executor": {"type": "ramping-vus", "stages": [{"duration": f"{ramp:g}s", "target": connections},
                                                       {"duration": f"{hold:g}s", "target": connections}]},
        "flow": [{"think": 1000}],
    }
    return scenario


# ------------------------------------------------------------------------------------ sampling


def _fds(pid: int) -> int:
    try:
        return psutil.Process(pid).num_fds()
    except psutil.Error:
        return 0


def _engine_workers(root: psutil.Process) -> list[psutil.Process]:
    found = []
    try:
        for child in root.children(recursive=True):
            try:
                if any("spawn_main" in part for part in child.cmdline()):
                    found.append(child)
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return found


def sampler(target: kit.Target, deadline_s: float, expected_workers: int) -> Any:
    """An ``on_start`` for run_tool: sample the engine workers and the target until the run ends.

    Recording starts once all ``expected_workers`` exist (they start before plan time 0, so no
    connection is missed), or after 15 s with whichever were found.
    """

    def watch(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
        started = time.monotonic()
        samples: list[tuple[float, int, int, int]] = []
        root = psutil.Process(proc.pid)
        workers: list[psutil.Process] = []
        while proc.poll() is None and time.monotonic() - started < deadline_s:
            if len(workers) < expected_workers:
                workers = _engine_workers(root)
                if len(workers) < expected_workers and time.monotonic() - started < 15.0:
                    time.sleep(0.02)
                    continue
            rss = fds = 0
            for worker in workers:
                try:
                    rss += worker.memory_info().rss
                    fds += worker.num_fds()
                except psutil.Error:
                    continue
            if workers:
                samples.append((round(time.monotonic() - started, 3), rss, fds, target.rss()))
            time.sleep(SAMPLE_S)
        return {"samples": samples, "workerPids": [w.pid for w in workers]}

    return watch


def analyse(samples: list[tuple[float, int, int, int]], goal: int, engine_peak: int | None) -> dict[str, Any]:
    """Baseline, time to reach the plateau, plateau RSS, from (t, worker rss, worker fds, target rss).

    ``engine_peak`` (the most connections results.json saw open at an interval's end) says whether
    the goal was held; descriptors only time it: the last sample before they rise may already
    hold a few connections, so counting against it would come out a little short.
    """
    if len(samples) < 3:
        return {"error": "too few samples (the worker was not seen)"}
    floor = min(s[2] for s in samples[: max(3, len(samples) // 10)])
    rising = next((i for i, s in enumerate(samples) if s[2] > floor + 50), None)
    if rising is None:
        return {"error": f"the worker never opened sockets (fds stayed near {floor})"}
    base_i = max(0, rising - 1)
    t0, rss0, fds0, trss0 = samples[base_i]
    peak_fds = max(s[2] for s in samples)
    slack = max(5, goal // 1000)  # a stray descriptor or a handful of sockets between samples
    reached = engine_peak >= goal if engine_peak is not None else peak_fds - fds0 >= goal - slack
    if reached:
        held = goal
    else:
        held = max(1, min([goal, peak_fds - fds0, *([engine_peak] if engine_peak is not None else [])]))
    reach_i = next(i for i, s in enumerate(samples) if s[2] >= peak_fds - slack)
    t_full = samples[reach_i][0]
    plateau = [s for s in samples[reach_i:] if s[0] >= t_full + 0.5 and s[2] >= peak_fds - slack] \
        or [samples[reach_i]]
    rss = statistics.median(s[1] for s in plateau)
    trss = statistics.median(s[3] for s in plateau)
    return {
        "baselineAt": t0,
        "baselineRss": rss0,
        "baselineFds": fds0,
        "peakFds": peak_fds,
        "engineReportedPeak": engine_peak,
        "peakConcurrent": held,
        "reachedGoal": reached,
        "secondsToReach": round(t_full - t0, 2),
        "opensPerSecond": round(held / (t_full - t0), 1) if t_full > t0 else None,
        "plateauRss": rss,
        "rssPerConnection": round((rss - rss0) / held),
        "targetRssPerConnection": round((trss - trss0) / held) if trss0 else None,
        "plateauSamples": len(plateau),
    }


# -------------------------------------------------------------------------------------- tools


def run_engine(target: kit.Target, args: argparse.Namespace, work: Path, attempt: Attempt, workers: int) -> None:
    scenario = work / f"engine-capacity-{attempt.run}.json"
    out = work / f"engine-capacity-results-{attempt.run}.json"
    scenario.write_text(json.dumps(engine_scenario(target.ws_url, args.connections, args.ramp, args.hold), indent=2))
    total = args.ramp + args.hold
    done = kit.run_tool([*kit.pin(kit.GENERATOR_CORE), str(kit.STB), "run", "-s", str(scenario),
                         "--workers", str(workers), "-o", str(out), "--progress-interval", "1000"],
                        timeout=total + 90, on_start=sampler(target, total + 60, workers))
    samples = done.extra.get("samples", [])
    attempt.details["samples"] = len(samples)
    attempt.details["sampleTrace"] = samples[:: max(1, len(samples) // 60)]
    results: dict[str, Any] = {}
    if out.exists():
        try:
            results = json.loads(out.read_text())
        except ValueError:
            results = {}
    if not results:
        attempt.error = f"no results.json (exit {done.returncode}): {done.tail()}"
        return
    active = [int(t.get("active_connections") or 0) for t in results.get("timeSeries", [])]
    measured = analyse(samples, args.connections, max(active) if active else None)
    attempt.details["measured"] = measured
    metrics = results.get("connectionMetrics", {})
    attempt.opened = metrics.get("successfulConnections")
    attempt.failed = metrics.get("failedConnections")
    attempt.connect_p50_ms = metrics.get("connectTimeMs", {}).get("p50")
    attempt.connect_p99_ms = metrics.get("connectTimeMs", {}).get("p99")
    attempt.details.update({
        "exitCode": done.returncode,
        "status": results.get("status"),
        "errors": results.get("errors"),
        "connectionMetrics": metrics,
        "activeConnectionsPerInterval": [t.get("active_connections") for t in results.get("timeSeries", [])],
        "opensPerInterval": [t.get("counters", {}).get("connections_opened") for t in results.get("timeSeries", [])],
        "plannedRampOpensPerSecond": round(args.connections / args.ramp, 1),
    })
    # Intervals are 1 s from plan time 0: opens counted after the plan's end were connections still
    # being set up when the run stopped (results count them as successful, though never held).
    series = results.get("timeSeries", [])
    late = sum(int(t.get("counters", {}).get("connections_opened") or 0) for t in series
               if int(t.get("index", 0)) >= math.ceil(total))
    attempt.details["opensAfterPlanEnd"] = late
    if "error" in measured:
        attempt.error = measured["error"]
        return
    attempt.peak_concurrent = measured["peakConcurrent"]
    attempt.opens_per_s = measured["opensPerSecond"]
    attempt.seconds_to_open = measured["secondsToReach"]
    attempt.rss_per_conn = measured["rssPerConnection"]
    attempt.target_rss_per_conn = measured["targetRssPerConnection"]
    if not measured["reachedGoal"]:
        attempt.error = (f"never held {args.connections:,} at once in {total:g} s: peak "
                         f"{measured['peakConcurrent']:,} concurrent (results: {attempt.opened} opened, "
                         f"{attempt.failed} failed, errors {results.get('errors')}"
                         + (f"; {late:,} of the opens came after the plan ended" if late else "") + ")")


def run_raw(target: kit.Target, args: argparse.Namespace, attempt: Attempt, processes: int,
            sources: list[str]) -> None:
    share = [args.connections // processes + (1 if i < args.connections % processes else 0) for i in range(processes)]
    trss0 = target.rss()
    started = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    peak_target_fds = 0
    try:
        for i, count in enumerate(share):
            argv = [*kit.pin(kit.GENERATOR_CORE), str(kit.VENV_BIN / "python"), str(kit.BENCH_DIR / "raw_picows.py"),
                    "hold", target.ws_url, "--connections", str(count), "--hold", "3"]
            if processes > 1:
                argv += ["--source", sources[i % len(sources)]]
            procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        deadline = time.monotonic() + 120 + args.connections / 500
        trss_peak = trss0
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            fds = sum(_fds(p.pid) for p in [psutil.Process(target.pid), *psutil.Process(target.pid).children()])
            if fds > peak_target_fds:
                peak_target_fds = fds
                trss_peak = target.rss()
            time.sleep(0.2)
        outputs = []
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            outputs.append((proc.returncode, out.decode(), err.decode()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = [kit.last_json_line(out) for _, out, _ in outputs]
    if any(r is None for r in results):
        bad = next((code, err) for (code, _, err), r in zip(outputs, results, strict=True) if r is None)
        attempt.error = f"raw client failed (exit {bad[0]}): {bad[1].strip().splitlines()[-1:]}"
        return
    good = [r for r in results if r is not None]
    opened = sum(int(r["opened"]) for r in good)
    slowest = max(float(r["secondsToOpen"]) for r in good)
    attempt.opened = opened
    attempt.failed = sum(sum(r["failed"].values()) for r in good)
    attempt.seconds_to_open = round(slowest, 2)
    attempt.opens_per_s = round(opened / slowest, 1) if slowest else None
    attempt.rss_per_conn = round(sum(r["rssPlateau"] - r["rssBefore"] for r in good) / max(opened, 1))
    attempt.peak_concurrent = peak_target_fds or None
    attempt.target_rss_per_conn = round((trss_peak - trss0) / max(opened, 1)) if trss0 else None
    attempt.details = {"processes": good, "wallSeconds": round(time.perf_counter() - started, 2),
                       "peakTargetFds": peak_target_fds}
    if opened < args.connections:
        attempt.error = f"opened {opened:,} of {args.connections:,} (failures {[r['failed'] for r in good]})"


# ---------------------------------------------------------------------------------------- table


def _quiet_count(attempts: list[Attempt]) -> int:
    return sum(1 for a in attempts if a.opens_per_s is not None and not a.contended)


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def summarise(tool: str, label: str, attempts: list[Attempt], note: str, unsupported: str | None = None
              ) -> dict[str, Any]:
    measured = [a for a in attempts if a.opens_per_s is not None]
    quiet = [a for a in measured if not a.contended]
    counted = quiet or measured or attempts
    return {
        "tool": tool,
        "label": label,
        "unsupported": unsupported,
        "note": note,
        "opensPerSecond": _median([a.opens_per_s for a in counted]),
        "runs": [a.opens_per_s for a in counted],
        "excludedRuns": [{"opensPerSecond": a.opens_per_s, "foreignShare": a.foreign_share}
                         for a in measured if a.contended and quiet],
        "allContended": bool(measured) and not quiet,
        "foreignShareMedian": _median([a.foreign_share for a in counted]),
        "secondsToOpen": _median([a.seconds_to_open for a in counted]),
        "opened": _median([a.opened for a in counted]),
        "failed": _median([a.failed for a in counted]),
        "peakConcurrent": _median([a.peak_concurrent for a in counted]),
        "rssPerConnectionBytes": _median([a.rss_per_conn for a in counted]),
        "targetRssPerConnectionBytes": _median([a.target_rss_per_conn for a in counted]),
        "connectP50Ms": _median([a.connect_p50_ms for a in counted]),
        "connectP99Ms": _median([a.connect_p99_ms for a in counted]),
        "errors": sorted({a.error for a in attempts if a.error}),
        "attempts": [asdict(a) for a in attempts],
    }


def _kb(value: float | None) -> str:
    return "—" if value is None else f"{value / 1024:.1f} KB"


def render(rows: list[dict[str, Any]], facts: dict[str, Any], args: argparse.Namespace, layout: dict[str, Any]
           ) -> str:
    headers = ["tool", "connections held", "median opens/s", "runs counted (opens/s)", "time to open",
               "client RSS / conn", "target RSS / conn", "failed", "connect p50 / p99 ms", "notes"]
    table = []
    for row in rows:
        if row["unsupported"]:
            table.append([row["label"], "not yet supported", "—", "—", "—", "—", "—", "—", "—", row["unsupported"]])
            continue
        notes = row["note"]
        if row["foreignShareMedian"] is not None:
            notes += f"; others used {100 * row['foreignShareMedian']:.0f}% of the machine (median)"
        if row["excludedRuns"]:
            dropped = ", ".join(f"{kit.fmt_int(r['opensPerSecond'])} (others {100 * r['foreignShare']:.0f}%)"
                                for r in row["excludedRuns"])
            notes = f"not counted, machine shared with other work: {dropped}. " + notes
        if row["allContended"]:
            notes = "every run shared the machine with other work (see JSON): treat with care. " + notes
        if row["errors"]:
            notes = "; ".join(f"error: {e}" for e in row["errors"]) + ". " + notes
        held = kit.fmt_int(row["peakConcurrent"]) if row["tool"] == "engine" else kit.fmt_int(row["opened"])
        connect = ("—" if row["connectP50Ms"] is None
                   else f"{row['connectP50Ms']:,.0f} / {row['connectP99Ms']:,.0f}")
        table.append([
            row["label"], held, kit.fmt_int(row["opensPerSecond"]),
            " / ".join(kit.fmt_int(v) for v in row["runs"]),
            "—" if row["secondsToOpen"] is None else f"{row['secondsToOpen']:.1f} s",
            _kb(row["rssPerConnectionBytes"]), _kb(row["targetRssPerConnectionBytes"]),
            kit.fmt_int(row["failed"]), connect, notes,
        ])
    lines = [
        f"# WebSocket connection capacity: {args.connections:,} concurrent idle connections",
        "",
        f"Generator pinned to core {kit.GENERATOR_CORE}, reference target pinned to core {kit.SERVER_CORE} "
        f"({layout['targetWorkers']} target process{'es' if layout['targetWorkers'] > 1 else ''}, restarted for "
        f"every run); {layout['generatorProcesses']} generator process(es); raw picows source addresses "
        f"{', '.join(layout['sources'])} (the engine picks its own). Engine load shape: ramping-vus to "
        f"{args.connections:,} over "
        f"{args.ramp:g} s (asks {args.connections / args.ramp:,.0f} opens/s), then {args.hold:g} s held; "
        f"flow `[{{\"think\": 1000}}]`. Each row: median of its counted runs (the aim: {args.runs} on a quiet "
        "machine).",
        "",
        kit.md_table(headers, table),
        "",
        "opens/s: connections held / time from the first socket to the last (engine: sampled from the worker's "
        "open file descriptors every 0.1 s; raw picows: its own clock, 256 handshakes in flight). If the engine "
        "keeps up with the ramp, its opens/s is the ramp's rate, not its limit. Client RSS per connection: "
        "worker RSS at the plateau minus just before the first socket, divided by the connections held. "
        f"DESIGN.md figure for 10,000 idle connections: {DESIGN_FIGURE}. A run where processes outside the "
        f"benchmark used more than {100 * args.max_foreign:.0f}% of the machine's CPU is re-run (up to "
        f"{args.extra_runs} extra round(s)) and left out of the median, unless no run of that tool was quiet; before "
        "each run the benchmark waits (a bounded time) for the machine to calm down.",
        "",
        *kit.facts_lines(facts),
        "",
        f"Regenerate: `.venv/bin/python bench/ws_capacity.py --connections {args.connections}` (or `make bench`).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--ramp", type=float, default=3.0, help="seconds of the engine's ramp to N")
    parser.add_argument("--hold", type=float, default=None,
                        help="seconds the engine holds N (default: 10, or N / 1,500 if longer, so a generator "
                             "opening 1,500/s still gets there)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-foreign", type=float, default=0.10,
                        help="a run where other processes used more of the machine's CPU than this is re-run")
    parser.add_argument("--extra-runs", type=int, default=1, help="at most this many extra rounds for such runs")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="seconds, in total, to wait for other work to calm down before runs")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.hold is None:
        args.hold = max(10.0, round(args.connections / 1500))
    soft, hard = kit.raise_nofile_limit()
    facts = kit.machine_facts()
    processes = max(1, math.ceil(args.connections / PER_PROCESS_CONNECTIONS))
    # One source address per process: the kernel's search for a free ephemeral port slows down as a
    # (source, destination) pair fills up, so spreading the ports over addresses keeps opens cheap.
    n_sources = max(processes, math.ceil(args.connections / PER_SOURCE_CONNECTIONS))
    sources = ["127.0.0.1"] if processes == 1 else [f"127.0.0.{2 + i}" for i in range(n_sources)]
    target_workers = processes
    layout = {"generatorProcesses": processes, "targetWorkers": target_workers, "sources": sources,
              "openFilesLimit": [soft, hard]}
    # The engine spreads its connections over loopback source addresses by itself when a plan opens
    # more than 20,000 (flows/websocket.py source_hosts); the scenario needs no field for it.
    engine_unsupported: str | None = None
    target_args = ["--workers", str(target_workers)] if target_workers > 1 else []
    engine_attempts: list[Attempt] = []
    raw_attempts: list[Attempt] = []
    with kit.workdir("stb-ws-capacity-") as work:
        tools = [t for t in ("raw", "engine") if not (t == "engine" and engine_unsupported)]
        gate = kit.QuietGate(args.max_foreign, args.quiet_wait)
        for run in range(args.runs + args.extra_runs):
            wanted = [t for t in tools if _quiet_count(raw_attempts if t == "raw" else engine_attempts) < args.runs]
            if not wanted:
                break
            for tool in wanted:
                attempt = Attempt(tool, run)
                attempt.details["waitedForQuietSeconds"] = gate.wait()
                meter = kit.LoadMeter()
                meter.start()
                try:
                    with kit.Target(target_args, log=work / f"target-{tool}-{run}.log") as target:
                        if tool == "raw":
                            run_raw(target, args, attempt, processes, sources)
                        else:
                            run_engine(target, args, work, attempt, processes)
                        if attempt.error and target.log_tail():
                            attempt.details["targetLogTail"] = target.log_tail()
                    load = meter.stop()
                    attempt.foreign_share = load.foreign_share
                    attempt.contended = load.foreign_share > args.max_foreign
                    attempt.details["coresBusy"] = load.cores_busy
                except Exception as error:
                    attempt.error = f"{type(error).__name__}: {error}"
                (raw_attempts if tool == "raw" else engine_attempts).append(attempt)
                print(f"run {run + 1} {tool:7s} opened {attempt.opened} opens/s "
                      f"{kit.fmt_int(attempt.opens_per_s)} RSS/conn {_kb(attempt.rss_per_conn)}; others used "
                      f"{100 * (attempt.foreign_share or 0):.0f}% of the machine"
                      + (" (CONTENDED: not counted)" if attempt.contended else "")
                      + (f" ERROR {attempt.error}" if attempt.error else ""), flush=True)
    raw_note = ("bare picows client, uvloop, 1 KiB read buffer, ≤256 handshakes in flight"
                + (f"; {processes} processes, one source address each" if processes > 1 else ""))
    engine_note = (f"--workers {processes}; each VU connects once and holds while thinking; "
                   "opens/s and RSS sampled from the worker process")
    rows = [
        summarise("raw", "raw picows", raw_attempts, raw_note),
        summarise("engine", "streamtestbench (this engine)", engine_attempts, engine_note, engine_unsupported),
    ]
    markdown = render(rows, facts, args, layout)
    print()
    print(markdown)
    if not args.no_write:
        stem = "ws_capacity" if args.connections == 10_000 else f"ws_capacity_{args.connections}"
        data = {"benchmark": "ws_capacity", "settings": vars(args), "layout": layout, "facts": facts,
                "designFigure": DESIGN_FIGURE, "tools": rows}
        md_path, json_path = kit.write_results(stem, markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
