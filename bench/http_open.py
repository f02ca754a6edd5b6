"""HTTP open model: GET from nginx at a fixed 20,000 requests per second (issue 4 item 8, second part).

Same server and pinning as bench/http_get.py (nginx, one worker, core 1; generator core 0). An
open-model (constant-arrival-rate) executor starts an iteration every 1/rate seconds whether or not
earlier ones have answered; when no virtual user is free the iteration is counted as dropped, never
sent late in silence. What is reported per run:

- achieved rate = requests sent (answered or failed) / the executor's planned duration;
  "holds the rate" means within 1% of the target with no dropped iteration and no failure;
- droppedIterations;
- p50/p99 latency: the engine's are corrected for coordinated omission (measured from each
  request's scheduled time), with the uncorrected ones beside them in the JSON.

Tools: this engine (``{"executor": {"type": "constant-arrival-rate", "rate": 20000, "timeUnit": "1s",
"duration": "20s", "preAllocatedVUs": 200, "maxVUs": 400}, "flow": [{"get": {"url": "/"}}]}``) and,
for reference, k6 1.1.0 with the same executor (its latency is NOT corrected: k6 times from the
actual send). Median of ``--runs`` interleaved runs.

Writes bench/results/http_open.md and http_open.json.

    .venv/bin/python bench/http_open.py [--rate 20000] [--seconds 20] [--runs 3] [--tools engine,k6]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

import benchkit as kit
import peers
import sidebyside as sbs
from nginx import Nginx, nginx_binary, nginx_version

TOOLS = ("engine", "k6")
LABELS = {"engine": "streamtestbench (this engine)", "k6": "k6 (constant-arrival-rate)"}
RATE_TOLERANCE = 0.01


class Settings:
    def __init__(self, rate: int, seconds: float, pre_allocated: int, max_vus: int, work: Path) -> None:
        self.rate = rate
        self.seconds = seconds
        self.pre_allocated = pre_allocated
        self.max_vus = max_vus
        self.work = work

    def executor(self) -> dict[str, Any]:
        return {"type": "constant-arrival-rate", "rate": self.rate, "timeUnit": "1s",
                "duration": f"{self.seconds:g}s", "preAllocatedVUs": self.pre_allocated, "maxVUs": self.max_vus}


def holds_rate(achieved: float | None, target: float, dropped: int | None, failed: int | None) -> bool | None:
    """Within RATE_TOLERANCE of the target, nothing dropped, nothing failed (None: not measured)."""
    if achieved is None:
        return None
    return abs(achieved / target - 1.0) <= RATE_TOLERANCE and not dropped and not failed


def _record(attempt: sbs.Attempt, s: Settings, sent: int, dropped: int | None, failed: int | None) -> None:
    achieved = round(sent / s.seconds, 1)
    attempt.value = achieved
    attempt.details.update({"sent": sent, "achievedPerSecond": achieved, "droppedIterations": dropped,
                            "failed": failed, "rateError": round(achieved / s.rate - 1.0, 5),
                            "holdsRate": holds_rate(achieved, s.rate, dropped, failed)})


def run_engine(s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    scenario = {"name": "open", "protocol": "HTTP", "endpoint": server.url, "executor": s.executor(),
                "flow": [{"get": {"url": "/"}}]}
    results, done = sbs.run_engine(scenario, s.work, f"engine-open-{attempt.run}", timeout_s=s.seconds + 60)
    attempt.wall_seconds = done.seconds
    attempt.details["command"] = done.argv
    attempt.details["scenario"] = scenario
    if results is None or not results.get("totalMessages"):
        attempt.error = sbs.engine_failure(results, done)
        return
    attempt.details.update(sbs.engine_details(results, done))
    _record(attempt, s, int(results["totalMessages"]), int(results.get("droppedIterations") or 0),
            int(results.get("failedMessages") or 0))
    attempt.p50_ms = results.get("p50LatencyMs")
    attempt.p99_ms = results.get("p99LatencyMs")


K6_SCRIPT = """\
import http from 'k6/http';

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['med', 'p(99)'],
  scenarios: { open: Object.assign(JSON.parse(__ENV.STB_EXECUTOR), { gracefulStop: '3s' }) },
};

export default function () {
  http.get(__ENV.STB_URL);
}

export function handleSummary(data) {
  return { [__ENV.STB_SUMMARY]: JSON.stringify(data) };
}
"""


def k6_executor(s: Settings) -> dict[str, Any]:
    executor = s.executor()
    return {"executor": executor.pop("type"), **executor}


def run_k6(peer: peers.Peer, s: Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    script = s.work / "k6_open.js"
    summary = s.work / f"k6-open-summary-{attempt.run}.json"
    script.write_text(K6_SCRIPT)
    env = {**peer.env, "STB_URL": server.url + "/", "STB_EXECUTOR": json.dumps(k6_executor(s)),
           "STB_SUMMARY": str(summary)}
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "run", "--quiet", "--no-color", str(script)]
    done = kit.run_tool(argv, timeout=s.seconds + 60, env=env, cwd=s.work)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    try:
        metrics = json.loads(summary.read_text())["metrics"]
        sent = int(metrics["http_reqs"]["values"]["count"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        attempt.error = f"no k6 summary ({type(error).__name__}; exit {done.returncode}): {done.tail()}"
        return
    dropped = int(metrics.get("dropped_iterations", {}).get("values", {}).get("count", 0))
    failed_rate = float(metrics.get("http_req_failed", {}).get("values", {}).get("rate", 0.0))
    _record(attempt, s, sent, dropped, round(failed_rate * sent))
    duration = metrics.get("http_req_duration", {}).get("values", {})
    attempt.p50_ms, attempt.p99_ms = duration.get("med"), duration.get("p(99)")


NOTES = {
    "engine": "constant-arrival-rate executor, flow [get /], --workers 1; p50/p99 corrected for coordinated "
              "omission (from each request's scheduled time)",
    "k6": "constant-arrival-rate executor, http.get; p50/p99 NOT corrected (k6 times from the actual send)",
}


def render(rows: list[dict[str, Any]], facts: dict[str, Any], s: Settings, rounds: sbs.Rounds,
           server_note: str) -> str:
    table = []
    for row in rows:
        counted = [a for a in row["attempts"] if a["run"] in row["countedRuns"]]
        dropped = sbs.median([float(a["details"].get("droppedIterations") or 0) for a in counted])
        errors = [float(a["details"]["rateError"]) for a in counted if "rateError" in a["details"]]
        held = [a["details"].get("holdsRate") for a in counted]
        label = row["label"] + (f" {row['version']}" if row["version"] else "")
        table.append([label, sbs.value_cell(row), sbs.runs_cell(row),
                      "—" if not errors else f"{100 * sbs.median(errors):+.2f}%",  # type: ignore[operator]
                      kit.fmt_int(dropped), f"{sum(1 for h in held if h)}/{len(held)}" if held else "—",
                      kit.fmt_ms(row["p50Ms"]), kit.fmt_ms(row["p99Ms"]), sbs.cores_cell(row),
                      sbs.notes_cell(row, NOTES[row["tool"]])])
    headers = ["tool", "median achieved req/s", "runs counted", "rate error", "dropped iterations (median)",
               "runs holding the rate", "p50 ms", "p99 ms", "core 0 / core 1 busy", "notes"]
    return "\n".join([
        f"# HTTP open model: GET from nginx at a fixed {s.rate:,} req/s",
        "",
        f"Executor `{json.dumps(s.executor())}`, flow `[get /]`. Achieved rate = requests sent / "
        f"{s.seconds:g} s; a run holds the rate when it is within {100 * RATE_TOLERANCE:.0f}% of {s.rate:,}/s "
        f"with no dropped iteration and no failure (issue 4 target). Server: {server_note}, core "
        f"{kit.SERVER_CORE}, restarted every run; generator on core {kit.GENERATOR_CORE}.",
        "",
        kit.md_table(headers, table),
        "",
        sbs.contention_paragraph(rounds),
        "",
        *kit.facts_lines(facts),
        "",
        f"Regenerate: `make bench`, or `.venv/bin/python bench/http_open.py --rate {s.rate} --seconds {s.seconds:g} "
        f"--runs {rounds.runs}`.",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pre-allocated-vus", type=int, default=200)
    parser.add_argument("--max-vus", type=int, default=400)
    sbs.add_round_options(parser, extra_runs=1)
    sbs.add_tools_option(parser, TOOLS)
    args = parser.parse_args()
    tools = sbs.selected_tools(parser, args, TOOLS)
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    k6 = peers.ensure_k6() if "k6" in tools else None
    facts["peers"] = {"k6": k6.label()} if k6 else {}
    binary = nginx_binary()
    server_note = f"nginx {nginx_version(binary) if binary else '(missing)'} (Debian; 1 worker, access log off)"
    rounds = sbs.rounds_from(args)
    with kit.workdir("stb-http-open-") as work:
        s = Settings(args.rate, args.seconds, args.pre_allocated_vus, args.max_vus, work)
        runners: dict[str, sbs.Runner] = {"engine": functools.partial(run_engine, s)}
        if k6 is not None and k6.available:
            runners["k6"] = functools.partial(run_k6, k6, s)
        attempts = sbs.run_rounds(tools, runners, Nginx, rounds, unit="req/s achieved", labels=LABELS)
    rows = [sbs.summarise(t, LABELS[t], attempts[t], keep=args.runs,
                          available=not (t == "k6" and k6 and not k6.available),
                          version=k6.version if t == "k6" and k6 else "",
                          reason=k6.reason if t == "k6" and k6 else "") for t in tools]
    markdown = render(rows, facts, s, rounds, server_note)
    print()
    print(markdown)
    if not args.no_write:
        data = {"benchmark": "http_open", "settings": {**vars(args), "executor": s.executor()},
                "server": server_note, "facts": facts, "rateTolerance": RATE_TOLERANCE, "tools": rows}
        md_path, json_path = kit.write_results("http_open", markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
