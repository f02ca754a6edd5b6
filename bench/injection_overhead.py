"""What failure injection costs when it is switched on with every probability at 0 (issue 5).

The same engine scenario is run twice per protocol, interleaved, median of ``--runs``: once plain
and once with seed 000's whole ``failureInjection`` block (network delays, duplicates, schema
drift, connection drops) enabled at probability 0. Issue 5's target: the injected run keeps at
least 90% of the plain run's throughput.

- WebSocket: 50 connections, a closed loop of ``ping`` sends, against the reference target (core 1).
- MQTT: one connection publishing QoS 0 as fast as it can, against a private mosquitto (core 1).

Generator on core 0. Writes bench/results/injection_overhead.md and .json.

    .venv/bin/python bench/injection_overhead.py [--seconds 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import benchkit as kit
import sidebyside as sbs
from mqtt_broker import Mosquitto

MIN_KEPT = 0.90
"""Issue 5: injection enabled with probability 0 costs at most 10% of throughput."""

ZERO_INJECTION: dict[str, Any] = {
    "enabled": True,
    "networkDelays": {"enabled": True, "rangeMs": {"start": 10, "endInclusive": 50}, "probability": 0.0},
    "duplicateMessages": {"enabled": True, "probability": 0.0, "maxDuplicates": 2},
    "schemaDrift": {"enabled": True, "probability": 0.0,
                    "mutations": [{"type": "REMOVE_FIELD", "fieldPath": "timestamp"}]},
    "connectionDrops": {"enabled": True, "probability": 0.0, "reconnectDelayMs": 100},
}
TOOLS = ("ws-plain", "ws-injection-0", "mqtt-plain", "mqtt-injection-0")
LABELS = {"ws-plain": "WebSocket, plain", "ws-injection-0": "WebSocket, injection at p=0",
          "mqtt-plain": "MQTT QoS 0, plain", "mqtt-injection-0": "MQTT QoS 0, injection at p=0"}


def ws_scenario(url: str, seconds: float, injected: bool) -> dict[str, Any]:
    scenario: dict[str, Any] = {"name": "ws injection overhead", "protocol": "WEBSOCKET", "endpoint": url,
                                "connections": 50, "duration_seconds": seconds,
                                "flow": [{"send": {"json": {"type": "ping"}}}]}
    if injected:
        scenario["failureInjection"] = ZERO_INJECTION
    return scenario


def mqtt_scenario(url: str, seconds: float, injected: bool) -> dict[str, Any]:
    scenario: dict[str, Any] = {"name": "mqtt injection overhead", "protocol": "MQTT", "endpoint": url,
                                "connections": 1, "duration_seconds": seconds,
                                "mqtt": {"topic": "bench/${clientId}", "qos": 0}}
    if injected:
        scenario["failureInjection"] = ZERO_INJECTION
    return scenario


class Servers:
    """One run's server: the reference target for WebSocket rows, mosquitto for MQTT rows."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.kind = "ws"

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Any]:
        if self.kind == "ws":
            with kit.Target(log=self.work / "target.log") as target:
                yield target
        else:
            with Mosquitto() as broker:
                yield broker


def run(servers: Servers, seconds: float, work: Path, server: Any, attempt: sbs.Attempt) -> None:
    injected = attempt.tool.endswith("injection-0")
    if attempt.tool.startswith("ws"):
        scenario = ws_scenario(server.ws_url, seconds, injected)
    else:
        scenario = mqtt_scenario(server.url, seconds, injected)
    results, done = sbs.run_engine(scenario, work, f"{attempt.tool}-{attempt.run}", timeout_s=seconds + 60)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, done.argv
    if results is None or not results.get("successfulMessages"):
        attempt.error = sbs.engine_failure(results, done)
        return
    attempt.details.update(sbs.engine_details(results, done))
    attempt.value = float(results["throughputQps"])
    attempt.p50_ms = results.get("p50LatencyMs")
    attempt.p99_ms = results.get("p99LatencyMs")


def render(rows: list[dict[str, Any]], facts: dict[str, Any], seconds: float) -> tuple[str, dict[str, Any]]:
    by_tool = {row["tool"]: row for row in rows}
    kept: dict[str, float | None] = {}
    table = []
    for row in rows:
        protocol = row["tool"].split("-")[0]
        share = sbs.ratio(row, by_tool.get(f"{protocol}-plain"))
        if row["tool"].endswith("injection-0"):
            kept[protocol] = share
        table.append([row["label"], sbs.value_cell(row), sbs.runs_cell(row),
                      "—" if share is None else f"{share:.3f}×", kit.fmt_ms(row["p50Ms"]), kit.fmt_ms(row["p99Ms"]),
                      sbs.cores_cell(row)])
    verdicts = [f"- {protocol}: keeps {100 * share:.1f}% of plain throughput — "
                f"{'met' if share >= MIN_KEPT else 'NOT met'}" if share is not None else f"- {protocol}: not measured"
                for protocol, share in kept.items()]
    markdown = "\n".join([
        "# Failure injection at probability 0: what it costs",
        "",
        f"Each row {seconds:g} s, engine with `--workers 1` on core 0, server on core 1; median of the counted "
        "runs, plain and injected runs interleaved.",
        "",
        kit.md_table(["scenario", "median msg/s", "runs counted", "× plain", "p50 ms", "p99 ms",
                      "core 0 / core 1 busy"], table),
        "",
        f"Issue 5 target: at least {MIN_KEPT:.0%} of plain throughput with injection enabled at probability 0.",
        *verdicts,
        "",
        f"Injection block used: `{ZERO_INJECTION}`",
        "",
        *kit.facts_lines(facts),
        "",
        "Regenerate: `.venv/bin/python bench/injection_overhead.py`.",
    ])
    return markdown, {"rows": rows, "kept": kept, "facts": facts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    sbs.add_round_options(parser)
    args = parser.parse_args()
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    rounds = sbs.rounds_from(args)
    attempts: dict[str, list[sbs.Attempt]] = {}
    with kit.workdir("stb-injection-") as work:
        servers = Servers(work)
        runner = functools.partial(run, servers, args.seconds, work)
        for kind in ("ws", "mqtt"):
            servers.kind = kind
            tools = [tool for tool in TOOLS if tool.startswith(kind)]
            attempts.update(sbs.run_rounds(tools, {tool: runner for tool in tools}, servers, rounds,
                                           unit="msg/s", labels=LABELS))
    rows = [sbs.summarise(tool, LABELS[tool], attempts[tool], keep=args.runs) for tool in TOOLS]
    markdown, data = render(rows, facts, args.seconds)
    print(markdown)
    if not args.no_write:
        kit.write_results("injection_overhead", markdown, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
