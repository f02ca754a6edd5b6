"""WebSocket echo, side by side: raw picows, this engine, k6 and Artillery in one invocation.

50 connections (``--connections``), closed loop: each keeps exactly one 100-byte text message
(not JSON, so the reference target echoes it) in flight: send, wait for the echo, send again.
Fixed duration (``--seconds``, default 10). The reference target runs pinned to core 1 and is
restarted for every tool run (fresh state); each generator runs pinned to core 0. Runs are
interleaved (raw, engine, k6, Artillery, raw, ...) ``--runs`` times (default 3) and the table
reports medians, so slow drift on the machine hits every tool alike.

How each tool is driven (and how its msg/s is computed):

- raw picows: ``bench/raw_picows.py echo`` -- ``on_ws_frame`` sends the next message; counts echoes
  in a window of ``--seconds`` that starts once all connections are open (no connect, no close).
- this engine: ``streamtestbench run -s <generated scenario> --workers 1`` with a constant-vus
  executor and a one-step flow ``[{"send": {"text": ...}}]`` (a flow without think time loops
  send -> wait for the echo -> send); msg/s = answered messages per second of the run's own
  per-second series, first and last second (connect, drain) left out, like the raw loop's window;
  p50/p99 are its corrected latencies.
- k6 1.1.0: ``k6/experimental/websockets``, constant-vus; ``onopen`` sends, ``onmessage`` sends the
  next (closing at the scenario deadline); msg/s = ws_msgs_received / testRunDurationMs from a
  ``handleSummary`` JSON.
- Artillery (ws engine): 50 arrivals in the first second, each VU runs
  ``loop: [send {payload, capture: {regexp}}]`` with ``whileTrue`` = "before the deadline". A
  ``send`` with a ``capture`` waits for the next message before the step ends, which makes the
  loop closed (one in flight); msg/s = websocket.messages_received / (lastCounterAt - firstCounterAt)
  from its JSON report. Telemetry off and a loopback-only guard (see bench/peers.py).

Writes bench/results/ws_echo.md and ws_echo.json.

    .venv/bin/python bench/ws_echo.py [--seconds 10] [--runs 3] [--tools raw,engine,k6,artillery]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchkit as kit
import peers

MESSAGE = "stb-echo-bench " + "x" * 85
assert len(MESSAGE) == 100
TOOLS = ("raw", "engine", "k6", "artillery")
LABELS = {"raw": "raw picows loop", "engine": "streamtestbench (this engine)", "k6": "k6", "artillery": "Artillery"}
DESIGN_FIGURES = {"raw": 118_000, "k6": 28_000, "artillery": 23_000}
"""DESIGN.md "Figures to race" (WebSocket echo, 100 B, 50 conns), for context only."""


@dataclass
class Attempt:
    tool: str
    run: int
    msg_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    error: str | None = None
    cores_busy: list[float] = field(default_factory=list)
    foreign_share: float | None = None
    """Share of the machine's CPU that other processes used during the run (0..1)."""
    contended: bool = False
    wall_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Settings:
    seconds: float
    connections: int
    work: Path


# --------------------------------------------------------------------------------- the tools


def run_raw(target: kit.Target, s: Settings, attempt: Attempt) -> None:
    done = kit.run_tool([*kit.pin(kit.GENERATOR_CORE), str(kit.VENV_BIN / "python"),
                         str(kit.BENCH_DIR / "raw_picows.py"), "echo", target.ws_url,
                         "--connections", str(s.connections), "--seconds", f"{s.seconds:g}"],
                        timeout=s.seconds + 30)
    attempt.wall_seconds = done.seconds
    result = kit.last_json_line(done.stdout)
    if done.returncode != 0 or result is None:
        attempt.error = f"exit {done.returncode}: {done.tail()}"
        return
    attempt.msg_per_s = float(result["msgPerSecond"])
    attempt.details = result


def engine_scenario(url: str, s: Settings) -> dict[str, Any]:
    return {
        "name": "ws echo bench",
        "protocol": "WEBSOCKET",
        "endpoint": url,
        "executor": {"type": "constant-vus", "vus": s.connections, "duration": f"{s.seconds:g}s"},
        "flow": [{"send": {"text": MESSAGE}}],
    }


def run_engine(target: kit.Target, s: Settings, attempt: Attempt) -> None:
    scenario = s.work / f"engine-scenario-{attempt.run}.json"
    out = s.work / f"engine-results-{attempt.run}.json"
    scenario.write_text(json.dumps(engine_scenario(target.ws_url, s), indent=2))
    done = kit.run_tool([*kit.pin(kit.GENERATOR_CORE), str(kit.STB), "run", "-s", str(scenario), "--workers", "1",
                         "-o", str(out), "--progress-interval", "1000"], timeout=s.seconds + 60)
    attempt.wall_seconds = done.seconds
    if not out.exists():
        attempt.error = f"no results.json (exit {done.returncode}): {done.tail()}"
        return
    try:
        results = json.loads(out.read_text())
        ok = int(results["successfulMessages"])
        duration = float(results["durationSeconds"])
    except (ValueError, KeyError, TypeError) as error:
        attempt.error = f"unreadable results.json ({type(error).__name__}: {error}); exit {done.returncode}"
        return
    attempt.details = {
        "exitCode": done.returncode,
        "status": results.get("status"),
        "successfulMessages": ok,
        "failedMessages": results.get("failedMessages"),
        "durationSeconds": duration,
        "plannedSeconds": results.get("plannedSeconds"),
        "msgPerPlannedSecond": round(ok / float(results.get("plannedSeconds") or duration), 1),
        "uncorrectedLatencyMs": results.get("uncorrectedLatencyMs"),
        "connections": results.get("connectionMetrics", {}).get("successfulConnections"),
        "errors": results.get("errors"),
    }
    if ok == 0:
        attempt.error = f"no successful message (status {results.get('status')}; errors {results.get('errors')})"
        return
    attempt.details["wholeRunMsgPerSecond"] = round(ok / duration, 1)
    steady = steady_rate(results.get("timeSeries") or [])
    attempt.details["steadyMsgPerSecond"] = steady
    # Like the raw loop's window after all connections are open: the engine's own per-second series,
    # first and last intervals (connecting, draining) left out.
    attempt.msg_per_s = steady if steady is not None else round(ok / duration, 1)
    attempt.p50_ms = results.get("p50LatencyMs")
    attempt.p99_ms = results.get("p99LatencyMs")


def steady_rate(series: list[dict[str, Any]]) -> float | None:
    """Messages answered per second over the full interior intervals of the engine's time series."""
    inner = series[1:-1]
    seconds = sum((interval["end_ns"] - interval["start_ns"]) / 1e9 for interval in inner)
    if seconds <= 0:
        return None
    received = sum(interval["counters"]["messages_received"] for interval in inner)
    return round(received / seconds, 1)


K6_SCRIPT = """\
import { WebSocket } from 'k6/experimental/websockets';
import exec from 'k6/execution';

const URL = __ENV.STB_URL;
const SECONDS = Number(__ENV.STB_SECONDS);
const MESSAGE = __ENV.STB_MESSAGE;

export const options = {
  scenarios: {
    echo: { executor: 'constant-vus', vus: Number(__ENV.STB_VUS), duration: `${SECONDS}s`, gracefulStop: '3s' },
  },
};

// One connection per VU iteration, closed loop: the next message goes out when the echo arrives.
export default function () {
  const end = exec.scenario.startTime + SECONDS * 1000;
  const ws = new WebSocket(URL);
  ws.onopen = () => ws.send(MESSAGE);
  ws.onmessage = () => {
    if (Date.now() >= end) { ws.close(); return; }
    ws.send(MESSAGE);
  };
  ws.onerror = (e) => console.error(`ws error: ${e.error}`);
}

export function handleSummary(data) {
  return { [__ENV.STB_SUMMARY]: JSON.stringify(data) };
}
"""


def run_k6(peer: peers.Peer, target: kit.Target, s: Settings, attempt: Attempt) -> None:
    script = s.work / "k6_echo.js"
    summary = s.work / f"k6-summary-{attempt.run}.json"
    script.write_text(K6_SCRIPT)
    env = {**peer.env, "STB_URL": target.ws_url, "STB_SECONDS": f"{s.seconds:g}", "STB_MESSAGE": MESSAGE,
           "STB_VUS": str(s.connections), "STB_SUMMARY": str(summary)}
    done = kit.run_tool([*kit.pin(kit.GENERATOR_CORE), *peer.command, "run", "--quiet", "--no-color", str(script)],
                        timeout=s.seconds + 60, env=env, cwd=s.work)
    attempt.wall_seconds = done.seconds
    try:
        data = json.loads(summary.read_text())
        received = int(data["metrics"]["ws_msgs_received"]["values"]["count"])
        run_ms = float(data["state"]["testRunDurationMs"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        attempt.error = f"no summary ({type(error).__name__}); exit {done.returncode}: {done.tail()}"
        return
    attempt.details = {
        "exitCode": done.returncode,
        "wsMsgsReceived": received,
        "wsMsgsSent": data["metrics"].get("ws_msgs_sent", {}).get("values", {}).get("count"),
        "wsSessions": data["metrics"].get("ws_sessions", {}).get("values", {}).get("count"),
        "testRunDurationMs": run_ms,
        "stderrTail": done.tail() if done.stderr.strip() else "",
    }
    if received == 0:
        attempt.error = f"k6 received no message: {done.tail()}"
        return
    attempt.msg_per_s = round(received / (run_ms / 1000.0), 1)


ARTILLERY_PROCESSOR = """\
'use strict';
// Shared deadline: the first loop check starts the clock; every VU stops looping after it.
const SECONDS = Number(process.env.STB_SECONDS);
let end = 0;
function keepGoing(context, next) {
  if (!end) end = Date.now() + SECONDS * 1000;
  return next(Date.now() < end);
}
module.exports = { keepGoing };
"""


def artillery_script(url: str, s: Settings) -> dict[str, Any]:
    return {
        "config": {
            "target": url,
            "processor": "./artillery_processor.js",
            "phases": [{"duration": 1, "arrivalCount": s.connections}],
        },
        "scenarios": [{
            "engine": "ws",
            "flow": [{
                "loop": [{"send": {"payload": MESSAGE, "capture": {"regexp": "stb-echo-bench", "as": "echo"}}}],
                "whileTrue": "keepGoing",
            }],
        }],
    }


def run_artillery(peer: peers.Peer, target: kit.Target, s: Settings, attempt: Attempt) -> None:
    (s.work / "artillery_processor.js").write_text(ARTILLERY_PROCESSOR)
    script = s.work / "artillery_echo.yml"  # JSON is YAML
    report = s.work / f"artillery-report-{attempt.run}.json"
    script.write_text(json.dumps(artillery_script(target.ws_url, s), indent=2))
    env = {**peer.env, "STB_SECONDS": f"{s.seconds:g}"}
    done = kit.run_tool([*kit.pin(kit.GENERATOR_CORE), *peer.command, "run", "--output", str(report), str(script)],
                        timeout=s.seconds + 90, env=env, cwd=s.work)
    attempt.wall_seconds = done.seconds
    try:
        aggregate = json.loads(report.read_text())["aggregate"]
        counters = aggregate["counters"]
        received = int(counters.get("websocket.messages_received", 0))
        span_ms = float(aggregate["lastCounterAt"]) - float(aggregate["firstCounterAt"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        attempt.error = f"no report ({type(error).__name__}); exit {done.returncode}: {done.tail()}"
        return
    attempt.details = {"exitCode": done.returncode, "counters": counters, "spanMs": span_ms,
                       "rates": aggregate.get("rates")}
    if received == 0 or span_ms <= 0:
        attempt.error = f"Artillery received no message (counters {counters}): {done.tail()}"
        return
    attempt.msg_per_s = round(received / (span_ms / 1000.0), 1)
    failed = int(counters.get("vusers.failed", 0))
    if failed:
        attempt.details["note"] = f"{failed} VUs failed"


# ---------------------------------------------------------------------------------- the table


def _quiet_count(attempts: list[Attempt]) -> int:
    """Runs that count: measured, and not shared with other work on the machine."""
    return sum(1 for a in attempts if a.msg_per_s is not None and not a.contended)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(tool: str, attempts: list[Attempt], available: peers.Peer | None) -> dict[str, Any]:
    measured = [a for a in attempts if a.msg_per_s is not None]
    quiet = [a for a in measured if not a.contended]
    counted = quiet or measured  # if every run was contended, say so rather than show nothing
    errors = sorted({a.error for a in attempts if a.error})
    return {
        "tool": tool,
        "label": LABELS[tool],
        "available": available is None or available.available,
        "unavailableReason": None if available is None or available.available else available.reason,
        "version": available.version if available is not None else "",
        "medianMsgPerSecond": median([a.msg_per_s for a in counted if a.msg_per_s is not None]),
        "runs": [a.msg_per_s for a in counted],
        "excludedRuns": [{"msgPerSecond": a.msg_per_s, "foreignShare": a.foreign_share}
                         for a in measured if a.contended and quiet],
        "allContended": bool(measured) and not quiet,
        "p50Ms": median([a.p50_ms for a in counted if a.p50_ms is not None]),
        "p99Ms": median([a.p99_ms for a in counted if a.p99_ms is not None]),
        "coresBusyMedian": [median([a.cores_busy[i] for a in counted if len(a.cores_busy) > i])
                            for i in range(max((len(a.cores_busy) for a in counted), default=0))],
        "foreignShareMedian": median([a.foreign_share for a in counted if a.foreign_share is not None]),
        "errors": errors,
        "attempts": [asdict(a) for a in attempts],
    }


NOTES = {
    "raw": "bare picows client on uvloop; {s:g} s window after all connections are open (no connect/close)",
    "engine": "constant-vus, flow [send text]; messages answered per second over the engine's own per-second "
              "series, first and last second (connect, drain) left out, as the raw loop's window; the whole-run "
              "rate is in the JSON; p50/p99 corrected for coordinated omission",
    "k6": "k6/experimental/websockets, onmessage sends the next; ws_msgs_received / testRunDuration",
    "artillery": "ws engine, loop [send + capture] whileTrue deadline (closed loop); VUs arrive over 1 s; "
                 "messages_received / (lastCounterAt - firstCounterAt)",
}


def render(rows: list[dict[str, Any]], facts: dict[str, Any], s: Settings, runs: int, max_foreign: float,
           extra: int) -> str:
    by_tool = {row["tool"]: row for row in rows}

    def ref(tool: str) -> float | None:
        row = by_tool.get(tool)
        return row["medianMsgPerSecond"] if row else None

    table_rows = []
    for row in rows:
        tool = row["tool"]
        value = row["medianMsgPerSecond"]
        if not row["available"]:
            table_rows.append([row["label"], f"unavailable ({row['unavailableReason']})", "", "", "", "", "", "", "",
                               "", ""])
            continue
        notes = NOTES[tool].format(s=s.seconds)
        if row["excludedRuns"]:
            dropped = ", ".join(f"{kit.fmt_int(r['msgPerSecond'])} (others {100 * r['foreignShare']:.0f}%)"
                                for r in row["excludedRuns"])
            notes = f"not counted, machine shared with other work: {dropped}. " + notes
        if row["allContended"]:
            notes = "every run shared the machine with other work (see JSON): treat with care. " + notes
        if row["errors"]:
            notes = ("; ".join(f"error: {e}" for e in row["errors"]) + ". " + notes)
        cores = row["coresBusyMedian"]
        core_text = " / ".join(f"{c:.0f}%" for c in cores[:2]) if cores else "—"
        if row["foreignShareMedian"] is not None:
            core_text += f" (others {100 * row['foreignShareMedian']:.0f}%)"
        label = row["label"] + (f" {row['version']}" if row["version"] else "")
        table_rows.append([
            label,
            kit.fmt_int(value) if value is not None else "failed",
            " / ".join(kit.fmt_int(v) for v in row["runs"]),
            kit.fmt_ratio(value, ref("raw")),
            kit.fmt_ratio(value, ref("k6")),
            kit.fmt_ratio(value, ref("artillery")),
            kit.fmt_ms(row["p50Ms"]),
            kit.fmt_ms(row["p99Ms"]),
            core_text,
            kit.fmt_int(DESIGN_FIGURES.get(tool)),
            notes,
        ])
    headers = ["tool", "median msg/s", "runs counted (msg/s)", "× raw picows", "× k6", "× Artillery",
               "p50 ms", "p99 ms", "core 0 / core 1 busy", "DESIGN.md figure", "notes"]
    lines = [
        "# WebSocket echo: 100-byte messages, closed loop",
        "",
        f"{s.connections} connections, each with exactly one message in flight (send, wait for the echo, send "
        f"again), {s.seconds:g} s per run; each row is the median of its counted runs (the aim: {runs} "
        f"interleaved runs on a quiet machine, see below). Server: the "
        f"reference target (`streamtestbench target`, restarted for every run) on core {kit.SERVER_CORE}; "
        f"generator on core {kit.GENERATOR_CORE}. All tools in one invocation, so the ratios compare like with like.",
        "",
        kit.md_table(headers, table_rows),
        "",
        "Core busy shares are measured over each run; core 1 near 100% means the server, not the generator, "
        "set the pace. \"others\" is the share of the machine's CPU used by processes that are not part of "
        f"the benchmark (machine busy time minus ours); a run where others used more than "
        f"{100 * max_foreign:.0f}% is re-run (up to {extra} extra rounds) and left out of the median, unless no "
        "run of that tool was quiet. Before each run the benchmark waits (a bounded time) for the machine to calm "
        "down.",
        "",
        *kit.facts_lines(facts),
        "",
        "Regenerate: `make bench`, or `.venv/bin/python bench/ws_echo.py --seconds 10 --runs 3`.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--max-foreign", type=float, default=0.10,
                        help="a run where other processes used more of the machine's CPU than this is re-run")
    parser.add_argument("--extra-runs", type=int, default=2, help="at most this many extra rounds for such runs")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="seconds, in total, to wait for other work to calm down before runs")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}")
    parser.add_argument("--no-write", action="store_true", help="print the table, do not write bench/results/")
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        parser.error(f"unknown tools {unknown}; choose from {TOOLS}")
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    available: dict[str, peers.Peer] = {}
    if "k6" in tools:
        available["k6"] = peers.ensure_k6()
    if "artillery" in tools:
        available["artillery"] = peers.ensure_artillery()
    facts["peers"] = {name: peer.label() for name, peer in available.items()}
    for peer in available.values():
        print(f"peer {peer.name}: {peer.label()}", flush=True)

    attempts: dict[str, list[Attempt]] = {t: [] for t in tools}
    with kit.workdir("stb-ws-echo-") as work:
        settings = Settings(args.seconds, args.connections, work)
        runners: dict[str, Callable[[kit.Target, Settings, Attempt], None]] = {"raw": run_raw, "engine": run_engine}
        for name, run_peer in (("k6", run_k6), ("artillery", run_artillery)):
            found = available.get(name)
            if found is not None and found.available:
                runners[name] = functools.partial(run_peer, found)
        budget = args.runs + args.extra_runs
        gate = kit.QuietGate(args.max_foreign, args.quiet_wait)
        for run in range(budget):
            wanted = [t for t in tools if t in runners and _quiet_count(attempts[t]) < args.runs]
            if not wanted:
                break
            for tool in wanted:
                attempt = Attempt(tool, run)
                attempt.details["waitedForQuietSeconds"] = gate.wait()
                outer, inner = kit.LoadMeter(), kit.LoadMeter()
                outer.start()
                try:
                    with kit.Target(log=work / f"target-{tool}-{run}.log") as target:
                        inner.start()
                        runners[tool](target, settings, attempt)
                        cores = inner.cores()
                        if attempt.error and target.log_tail():
                            attempt.details["targetLogTail"] = target.log_tail()
                    load = outer.stop(cores)
                    attempt.cores_busy = load.cores_busy
                    attempt.foreign_share = load.foreign_share
                    attempt.contended = load.foreign_share > args.max_foreign
                except Exception as error:  # one broken run must not lose the others
                    attempt.error = f"{type(error).__name__}: {error}"
                attempts[tool].append(attempt)
                shown = kit.fmt_int(attempt.msg_per_s) if attempt.msg_per_s is not None else f"ERROR {attempt.error}"
                print(f"run {run + 1} {LABELS[tool]:32s} {shown} msg/s (cores busy {attempt.cores_busy}, "
                      f"others used {100 * (attempt.foreign_share or 0):.0f}% of the machine"
                      f"{', CONTENDED: not counted' if attempt.contended else ''})", flush=True)
    rows = [summarise(t, attempts[t], available.get(t)) for t in tools]
    markdown = render(rows, facts, settings, args.runs, args.max_foreign, args.extra_runs)
    print()
    print(markdown)
    if not args.no_write:
        data = {"benchmark": "ws_echo", "settings": {"seconds": args.seconds, "runs": args.runs,
                                                      "connections": args.connections, "messageBytes": len(MESSAGE),
                                                      "maxForeign": args.max_foreign, "extraRuns": args.extra_runs,
                                                      "message": MESSAGE},
                "facts": facts, "designFigures": DESIGN_FIGURES, "tools": rows}
        md_path, json_path = kit.write_results("ws_echo", markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
