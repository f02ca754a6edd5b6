"""HTTP keep-alive GET of a tiny response from nginx, side by side (issue 4 item 8).

nginx (Debian; one worker, access log off, see bench/nginx.py) is pinned to core 1 and restarted for
every run; each generator is pinned to core 0. 50 keep-alive connections (``--connections``), closed
loop, ``--seconds`` per run (default 10), runs interleaved ``--runs`` times (default 3); each row is
the median of its counted runs. How each tool is driven and how its req/s is computed:

- this engine: ``streamtestbench run -s <scenario> --workers 1 -o <results>`` with the scenario
  ``{"protocol": "HTTP", "connections": 50, "duration_seconds": D, "flow": [{"get": {"url": "/"}}]}``;
  req/s = ``throughputQps`` of its results (successful requests / run duration); p50/p99 are its
  latencies corrected for coordinated omission.
- raw asyncio loop: ``bench/raw_http.py --url URL --connections 50 --duration D`` (asyncio Protocol +
  httptools + uvloop, the ceiling a Python client can reach); req/s = its ``requests_per_s``.
- wrk: ``wrk -t1 -c50 -d D --latency``; ``Requests/sec`` and its latency distribution.
- k6 1.1.0: 50 VUs (constant-vus), ``http.get`` in a loop; http_reqs / testRunDurationMs.
- Locust 2.47.0: FastHttpUser, ``wait_time = constant(0)``, headless ``-u 50 -r 50 --run-time D``,
  ONE process (no ``--processes``): the Aggregated ``Requests/s`` of its CSV stats.
- autocannon 9.0.0: ``-c 50 -d D --json``; requests.total / duration.
- hey (Go): ``-z D -c 50``; ``Requests/sec``.

Writes bench/results/http.md and http.json.

    .venv/bin/python bench/http_get.py [--seconds 10] [--runs 3] [--tools engine,raw,wrk,k6,locust,autocannon,hey]
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchkit as kit
import peers
import sidebyside as sbs
from nginx import Nginx, nginx_binary, nginx_version

TOOLS = ("engine", "raw", "wrk", "k6", "locust", "autocannon", "hey")
LABELS = {"engine": "streamtestbench (this engine)", "raw": "raw asyncio loop (bench/raw_http.py)", "wrk": "wrk",
          "k6": "k6", "locust": "Locust FastHttpUser (1 process)", "autocannon": "autocannon", "hey": "hey"}
DESIGN_FIGURES = {"raw": 122_000, "wrk": 138_000, "k6": 9_500, "locust": 9_600, "autocannon": 72_000,
                  "hey": 48_000}
"""DESIGN.md "Figures to race" (HTTP keep-alive GET, nginx, 50 conns), for context only."""
TARGETS = {"raw": 0.8, "wrk": 0.7}
"""Issue 4: the engine reaches at least this share of the tool's req/s."""
RAW_HTTP = kit.BENCH_DIR / "raw_http.py"


class Settings:
    def __init__(self, seconds: float, connections: int, work: Path) -> None:
        self.seconds = seconds
        self.connections = connections
        self.work = work


# ------------------------------------------------------------------------------------- parsing

_DURATION_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def duration_ms(text: str) -> float | None:
    """wrk/hey durations ("536.37us", "1.23ms", "2.00s") in milliseconds."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(us|ms|s|m|h)\s*", text)
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)] if match else None


def parse_wrk(stdout: str) -> dict[str, Any]:
    """Requests/sec, request count, socket errors and the --latency percentiles of wrk's report."""
    out: dict[str, Any] = {}
    if match := re.search(r"Requests/sec:\s*([\d.]+)", stdout):
        out["requestsPerSecond"] = float(match.group(1))
    if match := re.search(r"(\d+) requests in ([\d.]+\w+)", stdout):
        out["requests"] = int(match.group(1))
    if match := re.search(r"Socket errors:(.*)", stdout):
        out["socketErrors"] = match.group(1).strip()
    if match := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", stdout):
        out["non2xx"] = int(match.group(1))
    for pct, value in re.findall(r"^\s*(50|99)(?:\.000)?%\s+([\d.]+\w+)\s*$", stdout, re.MULTILINE):
        out[f"p{pct}Ms"] = duration_ms(value)
    return out


def parse_hey(stdout: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if match := re.search(r"Requests/sec:\s*([\d.]+)", stdout):
        out["requestsPerSecond"] = float(match.group(1))
    for pct, secs in re.findall(r"^\s*(50|99)%+ in ([\d.]+) secs", stdout, re.MULTILINE):
        out[f"p{pct}Ms"] = float(secs) * 1000.0
    if match := re.search(r"Status code distribution:\s*\n((?:\s*\[\d+\].*\n?)+)", stdout):
        out["statusCodes"] = " ".join(match.group(1).split())
    return out


def parse_locust_csv(path: Path) -> dict[str, Any]:
    """The Aggregated row of Locust's ``<prefix>_stats.csv``."""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") == "Aggregated":
                return {
                    "requestsPerSecond": float(row["Requests/s"]),
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50Ms": float(row["50%"]) if row.get("50%") not in (None, "", "N/A") else None,
                    "p99Ms": float(row["99%"]) if row.get("99%") not in (None, "", "N/A") else None,
                }
    raise ValueError(f"no Aggregated row in {path.name}")


# ---------------------------------------------------------------------------------- the tools


def _fail(attempt: sbs.Attempt, done: kit.Completed, what: str) -> None:
    attempt.error = f"{what} (exit {done.returncode}): {done.tail()}"


PLAIN_FLOW: list[dict[str, Any]] = [{"get": {"url": "/"}}]


def engine_scenario(url: str, s: Settings, flow: list[dict[str, Any]] | None = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "get", "protocol": "HTTP", "endpoint": url, "connections": s.connections,
            "duration_seconds": s.seconds, "flow": flow or PLAIN_FLOW, **(extra or {})}


def run_engine(s: Settings, server: Nginx, attempt: sbs.Attempt, *, flow: list[dict[str, Any]] | None = None,
               extra: dict[str, Any] | None = None) -> None:
    scenario = engine_scenario(server.url, s, flow, extra)
    results, done = sbs.run_engine(scenario, s.work, f"engine-{attempt.tool}-{attempt.run}",
                                   timeout_s=s.seconds + 60)
    attempt.details["scenario"] = scenario
    attempt.wall_seconds = done.seconds
    attempt.details["command"] = done.argv
    if results is None or not results.get("successfulMessages"):
        attempt.error = sbs.engine_failure(results, done)
        return
    attempt.details.update(sbs.engine_details(results, done))
    attempt.value = float(results["throughputQps"])
    attempt.p50_ms = results.get("p50LatencyMs")
    attempt.p99_ms = results.get("p99LatencyMs")


def run_raw(s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    if not RAW_HTTP.exists():
        attempt.error = "bench/raw_http.py is not there yet (written by the HTTP helper)"
        return
    argv = [*kit.pin(kit.GENERATOR_CORE), str(kit.VENV_BIN / "python"), str(RAW_HTTP), "--url", server.url + "/",
            "--connections", str(s.connections), "--duration", f"{s.seconds:g}"]
    done = kit.run_tool(argv, timeout=s.seconds + 30)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    result = kit.last_json_line(done.stdout)
    if done.returncode != 0 or result is None or not result.get("requests_per_s"):
        _fail(attempt, done, "no requests_per_s")
        return
    attempt.details["output"] = result
    attempt.value = float(result["requests_per_s"])


def run_wrk(peer: peers.Peer, s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "-t1", f"-c{s.connections}", f"-d{s.seconds:g}s",
            "--latency", server.url + "/"]
    done = kit.run_tool(argv, timeout=s.seconds + 30)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    parsed = parse_wrk(done.stdout)
    attempt.details["output"] = parsed
    if done.returncode != 0 or "requestsPerSecond" not in parsed:
        _fail(attempt, done, "no Requests/sec")
        return
    attempt.value = parsed["requestsPerSecond"]
    attempt.p50_ms, attempt.p99_ms = parsed.get("p50Ms"), parsed.get("p99Ms")


def run_hey(peer: peers.Peer, s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "-z", f"{s.seconds:g}s", "-c", str(s.connections),
            server.url + "/"]
    done = kit.run_tool(argv, timeout=s.seconds + 60)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    parsed = parse_hey(done.stdout)
    attempt.details["output"] = parsed
    if done.returncode != 0 or "requestsPerSecond" not in parsed:
        _fail(attempt, done, "no Requests/sec")
        return
    attempt.value = parsed["requestsPerSecond"]
    attempt.p50_ms, attempt.p99_ms = parsed.get("p50Ms"), parsed.get("p99Ms")


K6_SCRIPT = """\
import http from 'k6/http';

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['med', 'p(99)'],
  scenarios: {
    get: { executor: 'constant-vus', vus: Number(__ENV.STB_VUS), duration: `${__ENV.STB_SECONDS}s`,
           gracefulStop: '3s' },
  },
};

export default function () {
  http.get(__ENV.STB_URL);
}

export function handleSummary(data) {
  return { [__ENV.STB_SUMMARY]: JSON.stringify(data) };
}
"""


def k6_summary(path: Path) -> dict[str, Any]:
    """Requests, req/s over the test run, latency and failures out of k6's handleSummary JSON."""
    data = json.loads(path.read_text())
    metrics = data["metrics"]
    requests = int(metrics["http_reqs"]["values"]["count"])
    run_ms = float(data["state"]["testRunDurationMs"])
    duration = metrics.get("http_req_duration", {}).get("values", {})
    return {
        "requests": requests,
        "testRunDurationMs": run_ms,
        "requestsPerSecond": round(requests / (run_ms / 1000.0), 1) if run_ms > 0 else None,
        "failedRate": metrics.get("http_req_failed", {}).get("values", {}).get("rate"),
        "checksRate": metrics.get("checks", {}).get("values", {}).get("rate"),
        "p50Ms": duration.get("med"),
        "p99Ms": duration.get("p(99)"),
    }


def run_k6_script(peer: peers.Peer, script: str, s: Settings, url: str, attempt: sbs.Attempt, name: str) -> None:
    """Run a k6 script that reads STB_URL/STB_VUS/STB_SECONDS/STB_SUMMARY; fill the attempt from its summary."""
    path = s.work / f"{name}.js"
    summary = s.work / f"{name}-summary-{attempt.run}.json"
    path.write_text(script)
    env = {**peer.env, "STB_URL": url, "STB_SECONDS": f"{s.seconds:g}", "STB_VUS": str(s.connections),
           "STB_SUMMARY": str(summary)}
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "run", "--quiet", "--no-color", str(path)]
    done = kit.run_tool(argv, timeout=s.seconds + 60, env=env, cwd=s.work)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    try:
        parsed = k6_summary(summary)
    except (OSError, ValueError, KeyError, TypeError) as error:
        _fail(attempt, done, f"no k6 summary ({type(error).__name__})")
        return
    attempt.details["output"] = parsed
    if not parsed["requests"]:
        _fail(attempt, done, "k6 made no request")
        return
    attempt.value = parsed["requestsPerSecond"]
    attempt.p50_ms, attempt.p99_ms = parsed["p50Ms"], parsed["p99Ms"]


def run_k6(peer: peers.Peer, s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    run_k6_script(peer, K6_SCRIPT, s, server.url + "/", attempt, "k6_get")


LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class Get(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""


def run_locust(peer: peers.Peer, s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    locustfile = s.work / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = s.work / f"locust-{attempt.run}"
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "-f", str(locustfile), "--headless",
            "-u", str(s.connections), "-r", str(s.connections), "--run-time", f"{s.seconds:g}s",
            "-H", server.url, "--only-summary", "--csv", str(prefix), "--stop-timeout", "2",
            "--loglevel", "WARNING", "--skip-log-setup"]
    done = kit.run_tool(argv, timeout=s.seconds + 60, cwd=s.work)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    try:
        parsed = parse_locust_csv(Path(f"{prefix}_stats.csv"))
    except (OSError, ValueError, KeyError) as error:
        _fail(attempt, done, f"no Locust stats ({type(error).__name__}: {error})")
        return
    attempt.details["output"] = parsed
    if not parsed["requests"]:
        _fail(attempt, done, "Locust made no request")
        return
    attempt.value = parsed["requestsPerSecond"]
    attempt.p50_ms, attempt.p99_ms = parsed["p50Ms"], parsed["p99Ms"]


def run_autocannon(peer: peers.Peer, s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "-c", str(s.connections), "-d", f"{s.seconds:g}",
            "--json", server.url + "/"]
    done = kit.run_tool(argv, timeout=s.seconds + 60, env=peer.env)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    result = kit.last_json_line(done.stdout)
    try:
        assert result is not None
        total = int(result["requests"]["total"])
        seconds = float(result["duration"])
    except (AssertionError, KeyError, TypeError, ValueError):
        _fail(attempt, done, "no autocannon JSON")
        return
    attempt.details["output"] = {"requests": total, "durationSeconds": seconds,
                                 "averagePerSecond": result["requests"].get("average"),
                                 "errors": result.get("errors"), "non2xx": result.get("non2xx"),
                                 "timeouts": result.get("timeouts")}
    if not total or seconds <= 0:
        _fail(attempt, done, "autocannon made no request")
        return
    attempt.value = round(total / seconds, 1)
    attempt.p50_ms = result.get("latency", {}).get("p50")
    attempt.p99_ms = result.get("latency", {}).get("p99")


# ---------------------------------------------------------------------------------- the table

NOTES = {
    "engine": "HTTP scenario, flow [get /], --workers 1; throughputQps of its results (whole run); "
              "p50/p99 corrected for coordinated omission",
    "raw": "asyncio Protocol + httptools + uvloop; requests_per_s it prints",
    "wrk": "-t1 -c{c} -d{s:g}s --latency; Requests/sec",
    "k6": "constant-vus {c} VUs, http.get in a loop, discardResponseBodies; http_reqs / testRunDuration",
    "locust": "FastHttpUser, wait_time constant(0), --headless -u {c} -r {c} --run-time {s:g}s, ONE process "
              "(no --processes); Aggregated Requests/s (includes its 1 s ramp)",
    "autocannon": "-c {c} -d {s:g} --json; requests.total / duration",
    "hey": "-z {s:g}s -c {c}; Requests/sec",
}


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """engine / each reference tool (None where either failed)."""
    engine = rows.get("engine")
    return {f"engine/{tool}": sbs.ratio(engine, rows.get(tool)) for tool in ("raw", "wrk", "k6", "locust",
                                                                             "autocannon", "hey")}


def targets_met(found: dict[str, float | None]) -> dict[str, bool | None]:
    return {f"engine/{tool} >= {share}": (None if found.get(f"engine/{tool}") is None
                                          else bool(found[f"engine/{tool}"] >= share))  # type: ignore[operator]
            for tool, share in TARGETS.items()}


def render(rows: list[dict[str, Any]], facts: dict[str, Any], s: Settings, rounds: sbs.Rounds,
           found: dict[str, float | None], met: dict[str, bool | None], server_note: str) -> str:
    by_tool = {row["tool"]: row for row in rows}
    table = []
    for row in rows:
        tool = row["tool"]
        label = row["label"] + (f" {row['version']}" if row["version"] else "")
        table.append([label, sbs.value_cell(row), sbs.runs_cell(row),
                      *(kit.fmt_ratio(row["median"], (by_tool.get(ref) or {}).get("median"))
                        for ref in ("raw", "wrk", "k6", "locust")),
                      kit.fmt_ms(row["p50Ms"]), kit.fmt_ms(row["p99Ms"]), sbs.cores_cell(row),
                      kit.fmt_int(DESIGN_FIGURES.get(tool)),
                      sbs.notes_cell(row, NOTES[tool].format(c=s.connections, s=s.seconds))])
    headers = ["tool", "median req/s", "runs counted (req/s)", "× raw loop", "× wrk", "× k6", "× Locust",
               "p50 ms", "p99 ms", "core 0 / core 1 busy", "DESIGN.md figure", "notes"]
    ratio_lines = [f"- {name}: {'—' if value is None else f'{value:.2f}×'}" for name, value in found.items()]
    target_lines = [f"- {name}: {'not measured' if ok is None else ('met' if ok else 'NOT met')}"
                    for name, ok in met.items()]
    commands = []
    for row in rows:
        argv = next((a["details"].get("command") for a in row["attempts"] if a["details"].get("command")), None)
        if argv:
            commands.append(f"- {row['label']}: `{' '.join(str(x) for x in argv)}`")
    return "\n".join([
        "# HTTP keep-alive GET of a tiny response from nginx",
        "",
        f"{s.connections} keep-alive connections, closed loop, {s.seconds:g} s per run; each row is the median of "
        f"its counted runs ({rounds.runs} interleaved runs wanted). Server: {server_note}, on core "
        f"{kit.SERVER_CORE}, restarted for every run; every generator on core {kit.GENERATOR_CORE}. All tools in "
        "one invocation, so the ratios compare like with like. Locust runs as ONE process.",
        "",
        kit.md_table(headers, table),
        "",
        "Engine ratios (median / median):",
        "",
        *ratio_lines,
        "",
        "Issue 4 targets:",
        "",
        *target_lines,
        "",
        "The open model (a fixed 20,000 req/s) is in [http_open.md](http_open.md); what templates, captures and "
        "checks cost against this plain GET is in [http_templates.md](http_templates.md).",
        "",
        sbs.contention_paragraph(rounds),
        "",
        *kit.facts_lines(facts),
        "",
        "Exact commands (first counted run; ports differ per run):",
        "",
        *commands,
        "",
        f"Regenerate: `make bench`, or `.venv/bin/python bench/http_get.py --seconds {s.seconds:g} "
        f"--runs {rounds.runs}`.",
    ])


def available_peers(tools: list[str]) -> dict[str, peers.Peer]:
    found: dict[str, peers.Peer] = {}
    installers: dict[str, Callable[[], peers.Peer]] = {
                  "k6": peers.ensure_k6, "locust": peers.ensure_locust, "autocannon": peers.ensure_autocannon,
                  "wrk": functools.partial(peers.ensure_debian, "wrk"),
                  "hey": functools.partial(peers.ensure_debian, "hey")}
    for tool in tools:
        if tool in installers:
            found[tool] = installers[tool]()
            print(f"peer {tool}: {found[tool].label()}", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    sbs.add_round_options(parser)
    parser.add_argument("--connections", type=int, default=50)
    sbs.add_tools_option(parser, TOOLS)
    args = parser.parse_args()
    tools = sbs.selected_tools(parser, args, TOOLS)
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    found_peers = available_peers(tools)
    facts["peers"] = {name: peer.label() for name, peer in found_peers.items()}
    binary = nginx_binary()
    server_note = f"nginx {nginx_version(binary) if binary else '(missing)'} (Debian; 1 worker, access log off)"
    rounds = sbs.rounds_from(args)
    with kit.workdir("stb-http-get-") as work:
        s = Settings(args.seconds, args.connections, work)
        runners: dict[str, sbs.Runner] = {"engine": functools.partial(run_engine, s),
                                          "raw": functools.partial(run_raw, s)}
        peer_runs = {"wrk": run_wrk, "k6": run_k6, "locust": run_locust, "autocannon": run_autocannon, "hey": run_hey}
        for tool, run in peer_runs.items():
            peer = found_peers.get(tool)
            if peer is not None and peer.available:
                runners[tool] = functools.partial(run, peer, s)
        attempts = sbs.run_rounds(tools, runners, Nginx, rounds, unit="req/s", labels=LABELS)
    rows = []
    for tool in tools:
        peer = found_peers.get(tool)
        rows.append(sbs.summarise(tool, LABELS[tool], attempts[tool], keep=args.runs,
                                  available=peer is None or peer.available,
                                  version=peer.version if peer else "", reason=peer.reason if peer else ""))
    by_tool = {row["tool"]: row for row in rows}
    found = ratios(by_tool)
    met = targets_met(found)
    markdown = render(rows, facts, s, rounds, found, met, server_note)
    print()
    print(markdown)
    if not args.no_write:
        data = {"benchmark": "http_get", "settings": {"seconds": args.seconds, "runs": args.runs,
                                                       "connections": args.connections, "tools": tools,
                                                       "maxForeign": args.max_foreign, "extraRuns": args.extra_runs},
                "server": server_note, "facts": facts, "designFigures": DESIGN_FIGURES, "ratios": found,
                "targets": met, "tools": rows}
        md_path, json_path = kit.write_results("http", markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
