"""Interleaved, pinned, medianed runs of several tools against a fresh server: the loop the HTTP and MQTT
benchmarks share, plus running this engine on a generated scenario.

One round runs every tool once (tool A, B, C, A, B, C, ...) so slow drift on the machine hits all alike.
Before each run it waits (bounded) for other work to calm down; a run during which other processes used
more than ``max_foreign`` of the machine is re-run (bounded) and left out of the median unless no run of
that tool was quiet. A run that fails is recorded with its error and never stops the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchkit as kit


@dataclass
class Attempt:
    tool: str
    run: int
    value: float | None = None
    """The headline figure (req/s, msg/s) of this run; None when it failed."""
    p50_ms: float | None = None
    p99_ms: float | None = None
    error: str | None = None
    cores_busy: list[float] = field(default_factory=list)
    foreign_share: float | None = None
    contended: bool = False
    wall_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


Runner = Callable[[Any, Attempt], None]
"""Runs one tool against a started server (whatever the server factory yields), filling the attempt."""


@dataclass
class Rounds:
    runs: int = 3
    extra_runs: int = 2
    max_foreign: float = 0.10
    quiet_wait_s: float = 60.0


def add_round_options(parser: argparse.ArgumentParser, *, extra_runs: int = 2) -> None:
    """The options every side-by-side table is measured with: runs, the quiet-machine gate, writing."""
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-foreign", type=float, default=0.10,
                        help="a run where other processes used more of the CPU is re-run and not counted")
    parser.add_argument("--extra-runs", type=int, default=extra_runs)
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--no-write", action="store_true", help="print the table, do not write bench/results/")


def rounds_from(args: argparse.Namespace) -> Rounds:
    return Rounds(args.runs, args.extra_runs, args.max_foreign, args.quiet_wait)


def add_tools_option(parser: argparse.ArgumentParser, tools: Sequence[str]) -> None:
    parser.add_argument("--tools", default=",".join(tools), help=f"comma-separated subset of {','.join(tools)}")


def selected_tools(parser: argparse.ArgumentParser, args: argparse.Namespace, tools: Sequence[str]) -> list[str]:
    """The ``--tools`` asked for, in order; an unknown one is a usage error."""
    chosen = [t.strip() for t in args.tools.split(",") if t.strip()]
    if unknown := [t for t in chosen if t not in tools]:
        parser.error(f"unknown tools {unknown}; choose from {tuple(tools)}")
    return chosen


def _quiet_count(attempts: list[Attempt]) -> int:
    return sum(1 for a in attempts if a.value is not None and not a.contended)


def run_rounds(tools: list[str], runners: dict[str, Runner], server: Callable[[], Any], rounds: Rounds,
               *, unit: str, labels: dict[str, str]) -> dict[str, list[Attempt]]:
    """Interleaved rounds until each tool has ``runs`` quiet results or the extra rounds are spent.

    ``server()`` returns a context manager giving the server for one run (started fresh every run).
    A failed run counts as a try: a tool that keeps failing stops after ``runs`` failures.
    """
    attempts: dict[str, list[Attempt]] = {t: [] for t in tools}
    gate = kit.QuietGate(rounds.max_foreign, rounds.quiet_wait_s)
    for run in range(rounds.runs + rounds.extra_runs):
        wanted = [t for t in tools if t in runners and _quiet_count(attempts[t]) < rounds.runs
                  and sum(1 for a in attempts[t] if a.error) < rounds.runs]
        if not wanted:
            break
        for tool in wanted:
            attempt = Attempt(tool, run)
            attempt.details["waitedForQuietSeconds"] = gate.wait()
            outer, inner = kit.LoadMeter(), kit.LoadMeter()
            outer.start()
            try:
                with server() as started:
                    inner.start()
                    runners[tool](started, attempt)
                    cores = inner.cores()
                load = outer.stop(cores)
                attempt.cores_busy = load.cores_busy
                attempt.foreign_share = load.foreign_share
                attempt.contended = load.foreign_share > rounds.max_foreign
            except Exception as error:  # one broken run must not lose the others
                attempt.error = attempt.error or f"{type(error).__name__}: {error}"
                attempt.value = None
            attempts[tool].append(attempt)
            shown = kit.fmt_int(attempt.value) if attempt.value is not None else f"FAILED: {attempt.error}"
            print(f"run {run + 1} {labels.get(tool, tool):34s} {shown} {unit} (cores busy {attempt.cores_busy}, "
                  f"others {100 * (attempt.foreign_share or 0):.0f}%"
                  f"{', CONTENDED: not counted' if attempt.contended else ''})", flush=True)
    return attempts


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(tool: str, label: str, attempts: list[Attempt], *, available: bool = True, version: str = "",
              reason: str = "", keep: int = 3) -> dict[str, Any]:
    """One table row's data: the median of the counted runs and everything needed to judge it.

    Counted: the quiet runs; if none was quiet, the ``keep`` least contended ones (flagged).
    """
    measured = [a for a in attempts if a.value is not None]
    quiet = [a for a in measured if not a.contended]
    least_contended = sorted(measured, key=lambda a: a.foreign_share or 0.0)[:keep]
    counted = quiet or sorted(least_contended, key=lambda a: a.run)
    return {
        "tool": tool,
        "label": label,
        "available": available,
        "unavailableReason": reason or None,
        "version": version,
        "median": median([a.value for a in counted if a.value is not None]),
        "runs": [a.value for a in counted],
        "countedRuns": [a.run for a in counted],
        "excludedRuns": [{"value": a.value, "foreignShare": a.foreign_share} for a in measured
                         if a not in counted],
        "allContended": bool(measured) and not quiet,
        "failed": not measured and bool(attempts),
        "p50Ms": median([a.p50_ms for a in counted if a.p50_ms is not None]),
        "p99Ms": median([a.p99_ms for a in counted if a.p99_ms is not None]),
        "coresBusyMedian": [median([a.cores_busy[i] for a in counted if len(a.cores_busy) > i])
                            for i in range(max((len(a.cores_busy) for a in counted), default=0))],
        "foreignShareMedian": median([a.foreign_share for a in counted if a.foreign_share is not None]),
        "errors": sorted({a.error for a in attempts if a.error}),
        "attempts": [asdict(a) for a in attempts],
    }


def ratio(row: dict[str, Any] | None, reference: dict[str, Any] | None) -> float | None:
    if not row or not reference or row.get("median") is None or not reference.get("median"):
        return None
    return round(float(row["median"]) / float(reference["median"]), 3)


def value_cell(row: dict[str, Any]) -> str:
    if not row["available"]:
        return f"unavailable ({row['unavailableReason']})"
    if row["median"] is None:
        return "FAILED" if row["failed"] else "not run"
    return kit.fmt_int(row["median"])


def runs_cell(row: dict[str, Any]) -> str:
    return " / ".join(kit.fmt_int(v) for v in row["runs"]) or "—"


def cores_cell(row: dict[str, Any]) -> str:
    cores = row["coresBusyMedian"]
    text = " / ".join(f"{c:.0f}%" for c in cores[:2]) if cores else "—"
    if row["foreignShareMedian"] is not None:
        text += f" (others {100 * row['foreignShareMedian']:.0f}%)"
    return text


def notes_cell(row: dict[str, Any], note: str) -> str:
    """The row's method note, led by what a reader must know first: errors and contention."""
    parts = []
    if row["errors"]:
        parts.append("; ".join(f"error: {e}" for e in row["errors"]))
    if row["allContended"]:
        parts.append("every run shared the machine with other work (see JSON): the least contended runs are "
                     "counted; treat with care")
    if row["excludedRuns"]:
        dropped = ", ".join(f"{kit.fmt_int(r['value'])} (others {100 * (r['foreignShare'] or 0):.0f}%)"
                            for r in row["excludedRuns"])
        parts.append(f"not counted (more contended): {dropped}")
    parts.append(note)
    return ". ".join(parts)


def contention_paragraph(rounds: Rounds) -> str:
    return ("Core busy shares are measured over each run; core 1 near 100% means the server, not the generator, "
            "set the pace. \"others\" is the share of the machine's CPU used by processes that are not part of "
            f"the benchmark; a run where others used more than {100 * rounds.max_foreign:.0f}% is re-run (up to "
            f"{rounds.extra_runs} extra rounds) and left out of the median; if no run of a tool was quiet, its "
            f"{rounds.runs} least contended runs are counted and the row says so. "
            "A failed run is shown as FAILED with its error; it never stops the other columns.")


# ----------------------------------------------------------------------------------- the engine


def run_engine(scenario: dict[str, Any], work: Path, name: str, *, timeout_s: float,
               extra_args: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, kit.Completed]:
    """``streamtestbench run -s <scenario> --workers 1 -o <results>`` pinned to the generator core."""
    scenario_path = work / f"{name}-scenario.json"
    out = work / f"{name}-results.json"
    with contextlib.suppress(OSError):
        out.unlink()
    scenario_path.write_text(json.dumps(scenario, indent=2))
    done = kit.run_tool([*kit.pin(kit.GENERATOR_CORE), str(kit.STB), "run", "-s", str(scenario_path),
                         "--workers", "1", "-o", str(out), "--progress-interval", "1000", *extra_args],
                        timeout=timeout_s)
    if not out.exists():
        return None, done
    try:
        results = json.loads(out.read_text())
    except ValueError:
        return None, done
    return (results if isinstance(results, dict) else None), done


def engine_failure(results: dict[str, Any] | None, done: kit.Completed) -> str:
    if results is None:
        return f"no results.json (exit {done.returncode}): {done.tail()}"
    return (f"status {results.get('status')}, exit {done.returncode}, errors {results.get('errors')}: "
            f"{done.tail(2, 200)}")


def steady_rate(series: list[dict[str, Any]]) -> float | None:
    """Completed messages per second over the full interior intervals (connect and drain left out)."""
    inner = series[1:-1]
    seconds = sum((int(interval["end_ns"]) - int(interval["start_ns"])) / 1e9 for interval in inner)
    if seconds <= 0:
        return None
    return round(sum(int(interval.get("completed", 0)) for interval in inner) / seconds, 1)


def engine_details(results: dict[str, Any], done: kit.Completed) -> dict[str, Any]:
    """What the JSON keeps of an engine run besides the headline figure."""
    return {
        "exitCode": done.returncode,
        "status": results.get("status"),
        "throughputQps": results.get("throughputQps"),
        "successfulMessages": results.get("successfulMessages"),
        "failedMessages": results.get("failedMessages"),
        "durationSeconds": results.get("durationSeconds"),
        "plannedSeconds": results.get("plannedSeconds"),
        "droppedIterations": results.get("droppedIterations"),
        "steadyPerSecond": steady_rate(results.get("timeSeries") or []),
        "p50LatencyMs": results.get("p50LatencyMs"),
        "p99LatencyMs": results.get("p99LatencyMs"),
        "uncorrectedLatencyMs": results.get("uncorrectedLatencyMs"),
        "counters": results.get("counters"),
        "errors": results.get("errors"),
    }
