"""MQTT end to end (pub -> sub) throughput against Debian mosquitto, with loss and duplicate detection
(issue 5 item 7, second part).

A private mosquitto (bench/mqtt_broker.py: per-client queue deep enough not to drop QoS 0 for a
subscriber that falls behind) pinned to core 1 and restarted every run; the whole generator (one
publisher connection and one subscriber connection) pinned to core 0. QoS 0, ``--payload-bytes``
(default 64) per message, each carrying its sequence number; median of ``--runs`` interleaved runs.

- this engine: a MIXED scenario with a subscriber group and a flat-out publisher group (the default
  below; ``--engine-scenario FILE`` plugs in another, with ``@ENDPOINT@``, ``@SECONDS@`` and
  ``@TOPIC@`` replaced); msg/s = messages delivered (the ``mqtt.deliver`` metric) per second of the
  run; loss/duplicates/reordering from its ``delivery.*`` counters (stamped payloads).
- plain gmqtt / aiomqtt loops (bench/mqtt_peer_loops.py ``e2e``): subscriber first, publisher for D
  seconds; msg/s = received / (last arrival - first publish).
- mosquitto_pub -> mosquitto_sub (C): ``mosquitto_sub -C N`` writing payloads to a file, then
  ``mosquitto_pub -l`` of N numbered lines; msg/s = received / (last arrival - publisher start),
  the last arrival seen by watching the file grow.

Target (issue 5): the engine >= 90,000 msg/s end to end, with loss and duplicates counted.

Writes bench/results/mqtt_e2e.md and mqtt_e2e.json.

    .venv/bin/python bench/mqtt_e2e.py [--seconds 5] [--runs 3] [--tools engine,gmqtt,aiomqtt,mosquitto]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchkit as kit
import peers
import sidebyside as sbs
from mqtt_broker import Mosquitto, mosquitto_binary, mosquitto_version
from mqtt_publish import PEER_LOOPS, peers_version

TOOLS = ("engine", "gmqtt", "aiomqtt", "mosquitto")
LABELS = {"engine": "streamtestbench (this engine)", "gmqtt": "gmqtt loop", "aiomqtt": "aiomqtt loop",
          "mosquitto": "mosquitto_pub -> mosquitto_sub (C)"}
DESIGN_FIGURES = {"gmqtt": 72_000, "aiomqtt": 7_000}
E2E_TARGET = 90_000
TOPIC = "bench/e2e"


class Settings:
    def __init__(self, seconds: float, payload_bytes: int, messages: int, idle_s: float, work: Path,
                 engine_template: str | None) -> None:
        self.seconds = seconds
        self.payload_bytes = payload_bytes
        self.messages = messages
        self.idle_s = idle_s
        self.work = work
        self.engine_template = engine_template


# ----------------------------------------------------------------------------------- the engine


def default_engine_scenario(endpoint: str, seconds: float, topic: str) -> dict[str, Any]:
    """One subscriber that stays subscribed for the run, one publisher publishing QoS 0 flat out."""
    return {
        "name": "e2e",
        "protocol": "MIXED",
        "connections": 2,
        "duration_seconds": seconds,
        "groups": [
            {"name": "subscriber", "weight": 1, "protocol": "MQTT", "endpoint": endpoint,
             "mqtt": {"clientId": "stb-e2e-sub-${vu}", "qos": 0},
             "flow": [{"connect": {}}, {"subscribe": {"topic": topic, "qos": 0}}, {"think": seconds + 30}]},
            {"name": "publisher", "weight": 1, "protocol": "MQTT", "endpoint": endpoint,
             "mqtt": {"clientId": "stb-e2e-pub-${vu}", "topic": topic, "qos": 0}},
        ],
    }


def engine_scenario(broker: Mosquitto, s: Settings) -> dict[str, Any]:
    if s.engine_template is None:
        return default_engine_scenario(broker.url, s.seconds, TOPIC)
    text = (s.engine_template.replace("@ENDPOINT@", broker.url).replace("@SECONDS@", f"{s.seconds:g}")
            .replace("@TOPIC@", TOPIC))
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the engine scenario file must hold a JSON object")
    return value


def deliver_block(results: dict[str, Any]) -> dict[str, Any]:
    """The ``mqtt.deliver`` entry: under pushMetrics (subscriber arrivals), or metrics in older layouts."""
    for block in (results.get("pushMetrics") or {}, results.get("metrics") or {}):
        value = block.get("mqtt.deliver") if isinstance(block, dict) else None
        if isinstance(value, dict):
            return value
    return {}


def delivered(results: dict[str, Any]) -> int | None:
    """Messages the engine's subscribers received."""
    block = deliver_block(results)
    count = block.get("received", block.get("total"))
    return int(count) if count is not None else None


def steady_received(series: list[dict[str, Any]]) -> float | None:
    """Messages received per second over the interior intervals (connect and drain left out)."""
    inner = series[1:-1]
    seconds = sum((int(i["end_ns"]) - int(i["start_ns"])) / 1e9 for i in inner)
    if seconds <= 0:
        return None
    return round(sum(int((i.get("counters") or {}).get("messages_received", 0)) for i in inner) / seconds, 1)


def run_engine(s: Settings, broker: Mosquitto, attempt: sbs.Attempt) -> None:
    scenario = engine_scenario(broker, s)
    results, done = sbs.run_engine(scenario, s.work, f"engine-e2e-{attempt.run}", timeout_s=s.seconds + 90)
    attempt.wall_seconds, attempt.details["command"], attempt.details["scenario"] = done.seconds, done.argv, scenario
    count = delivered(results) if results is not None else None
    if results is None or not count:
        attempt.error = ("no message delivered to the subscriber; " if results is not None else "") + \
            sbs.engine_failure(results, done)
        return
    counters = results.get("counters") or {}
    published = ((results.get("metrics") or {}).get("mqtt.publish") or {}).get("total")
    attempt.details.update(sbs.engine_details(results, done))
    attempt.details.update({
        "published": published, "delivered": count,
        # the tracker counts only what it can see: gaps between received numbers; absent counters are 0
        "lost": int(counters.get("delivery.lost", 0)), "duplicates": int(counters.get("delivery.duplicates", 0)),
        "reordered": int(counters.get("delivery.reordered", 0)),
        "notReceivedAtStop": None if published is None else int(published) - count,
        "steadyDeliveredPerSecond": steady_received(results.get("timeSeries") or []),
        "pushMetrics": results.get("pushMetrics"),
    })
    attempt.value = round(count / float(results["durationSeconds"]), 1)
    latency = deliver_block(results).get("latencyMs") or {}
    attempt.p50_ms, attempt.p99_ms = latency.get("p50"), latency.get("p99")


# ------------------------------------------------------------------------------------ the peers


def run_peer_loop(peer: peers.Peer, client: str, s: Settings, broker: Mosquitto, attempt: sbs.Attempt) -> None:
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, str(PEER_LOOPS), client, "e2e", "--port",
            str(broker.port), "--seconds", f"{s.seconds:g}", "--payload-bytes", str(s.payload_bytes),
            "--idle", f"{s.idle_s:g}", "--topic", f"{TOPIC}/{client}"]
    done = kit.run_tool(argv, timeout=s.seconds + s.idle_s + 60)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    result = kit.last_json_line(done.stdout)
    if done.returncode != 0 or result is None or not result.get("received"):
        attempt.error = f"exit {done.returncode}: {done.tail()}"
        return
    attempt.details["output"] = result
    attempt.details.update({k: result.get(k) for k in ("published", "received", "lost", "duplicates", "reordered")})
    attempt.value = round(float(result["msgPerSecond"]), 1)


def numbered_lines(work: Path, count: int, payload_bytes: int) -> Path:
    path = work / f"numbered-{count}-{payload_bytes}.txt"
    if not path.exists():
        width = max(payload_bytes, 10)
        with path.open("w") as handle:
            for start in range(0, count, 10_000):
                chunk = range(start, min(count, start + 10_000))
                handle.write("".join(f"{i:010d}".ljust(width, "x") + "\n" for i in chunk))
    return path


def count_lines(path: Path) -> dict[str, int]:
    """Received, distinct, duplicates and out-of-order arrivals of the numbered payloads in ``path``."""
    seen: set[int] = set()
    received = duplicates = reordered = 0
    highest = -1
    with path.open("rb") as handle:
        for line in handle:
            with contextlib.suppress(ValueError):
                seq = int(line[:10])
                received += 1
                if seq in seen:
                    duplicates += 1
                    continue
                seen.add(seq)
                if seq < highest:
                    reordered += 1
                highest = max(highest, seq)
    return {"received": received, "distinct": len(seen), "duplicates": duplicates, "reordered": reordered}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_mosquitto(sub: peers.Peer, pub: peers.Peer, s: Settings, broker: Mosquitto, attempt: sbs.Attempt) -> None:
    source = numbered_lines(s.work, s.messages, s.payload_bytes)
    received_file = s.work / f"mosquitto-sub-{attempt.run}.txt"
    topic = f"{TOPIC}/mosquitto"
    pin = kit.pin(kit.GENERATOR_CORE)
    sub_argv = [*pin, *sub.command, "-h", broker.host, "-p", str(broker.port), "-t", topic, "-q", "0",
                "-C", str(s.messages)]
    pub_argv = [*pin, *pub.command, "-h", broker.host, "-p", str(broker.port), "-t", topic, "-q", "0", "-l"]
    attempt.details["command"] = [*sub_argv, f"> {received_file.name}", "&", *pub_argv, f"< {source.name}"]
    with received_file.open("wb") as out, source.open("rb") as lines:
        subscriber = subprocess.Popen(sub_argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                                      start_new_session=True)
        try:
            time.sleep(0.5)  # connect + SUBACK on loopback take milliseconds
            started = time.perf_counter()
            publisher = subprocess.Popen(pub_argv, stdin=lines, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
            last_size, last_growth = -1, started
            deadline = started + s.seconds * 20 + 120
            while time.perf_counter() < deadline:
                size = received_file.stat().st_size
                now = time.perf_counter()
                if size != last_size:
                    last_size, last_growth = size, now
                if subscriber.poll() is not None:
                    last_growth = now
                    break
                if publisher.poll() is not None and now - last_growth > s.idle_s:
                    break
                time.sleep(0.005)
            publisher_code = publisher.wait(30)
        finally:
            _stop(subscriber)
            with contextlib.suppress(NameError):
                _stop(publisher)
    counts = count_lines(received_file)
    attempt.wall_seconds = last_growth - started
    attempt.details.update({"published": s.messages, **counts, "lost": s.messages - counts["distinct"],
                            "publisherExit": publisher_code, "spanSeconds": round(last_growth - started, 4)})
    if not counts["received"]:
        attempt.error = f"mosquitto_sub received nothing (publisher exit {publisher_code})"
        return
    attempt.value = round(counts["received"] / (last_growth - started), 1)


# ---------------------------------------------------------------------------------- the table


def delivery_cell(row: dict[str, Any]) -> str:
    """Published / received / lost / duplicates of the counted runs."""
    parts = []
    for a in row["attempts"]:
        d = a["details"]
        if a["run"] not in row["countedRuns"] or ("received" not in d and "delivered" not in d):
            continue
        received = d.get("received", d.get("delivered"))
        parts.append(f"{kit.fmt_int(d.get('published'))} / {kit.fmt_int(received)} / lost "
                     f"{kit.fmt_int(d.get('lost'))} / dup {kit.fmt_int(d.get('duplicates'))}")
    return "; ".join(parts) or "—"


NOTES = {
    "engine": "MIXED: 1 subscriber group + 1 flat-out QoS 0 publisher group, --workers 1; delivered / whole run "
              "duration (connect and stop included; the interior-seconds rate is in the JSON as "
              "steadyDeliveredPerSecond); lost/dup from the engine's delivery stamps (gaps it saw); messages still "
              "in flight at the stop are neither (notReceivedAtStop in the JSON); p50/p99 = publish -> delivery",
    "gmqtt": "one event loop (uvloop): subscriber on_message counts, publisher publish() in batches of 100",
    "aiomqtt": "one event loop (uvloop): subscriber `async for` counts, publisher awaits each publish",
    "mosquitto": "mosquitto_sub -C N > file while mosquitto_pub -l < file of {n:,} numbered lines; both on core 0",
}


def render(rows: list[dict[str, Any]], facts: dict[str, Any], s: Settings, rounds: sbs.Rounds,
           broker_note: str, met: bool | None) -> str:
    by_tool = {row["tool"]: row for row in rows}
    table = []
    for row in rows:
        label = row["label"] + (f" {row['version']}" if row["version"] else "")
        table.append([label, sbs.value_cell(row), sbs.runs_cell(row),
                      *(kit.fmt_ratio(row["median"], (by_tool.get(ref) or {}).get("median"))
                        for ref in ("gmqtt", "aiomqtt", "mosquitto")),
                      delivery_cell(row), kit.fmt_ms(row["p50Ms"]), kit.fmt_ms(row["p99Ms"]), sbs.cores_cell(row),
                      kit.fmt_int(DESIGN_FIGURES.get(row["tool"])),
                      sbs.notes_cell(row, NOTES[row["tool"]].format(n=s.messages))])
    headers = ["tool", "median msg/s delivered", "runs counted", "× gmqtt", "× aiomqtt", "× mosquitto C",
               "published / received / lost / dup (counted runs)", "p50 ms", "p99 ms", "core 0 / core 1 busy",
               "DESIGN.md figure", "notes"]
    return "\n".join([
        "# MQTT end to end: publish -> mosquitto -> subscribe",
        "",
        f"One publisher and one subscriber connection, QoS 0, {s.payload_bytes}-byte numbered payloads, "
        f"{s.seconds:g} s of publishing per run (mosquitto_pub: {s.messages:,} messages); median of the counted runs "
        f"({rounds.runs} interleaved wanted). Broker: {broker_note} on core {kit.SERVER_CORE} (queue deep enough "
        f"not to drop QoS 0 for a slow subscriber), restarted every run; the whole generator on core "
        f"{kit.GENERATOR_CORE}.",
        "",
        kit.md_table(headers, table),
        "",
        f"Issue 5 target: engine >= {E2E_TARGET:,} msg/s end to end with loss/dup detection: "
        f"{'not measured' if met is None else ('met' if met else 'NOT met')}.",
        "",
        sbs.contention_paragraph(rounds),
        "",
        *kit.facts_lines(facts),
        "",
        f"Regenerate: `make bench`, or `.venv/bin/python bench/mqtt_e2e.py --seconds {s.seconds:g} "
        f"--runs {rounds.runs}`.",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    sbs.add_round_options(parser)
    parser.add_argument("--payload-bytes", type=int, default=64)
    parser.add_argument("--messages", type=int, default=500_000, help="messages mosquitto_pub sends")
    parser.add_argument("--idle", type=float, default=2.0, help="stop waiting after this long without arrivals")
    parser.add_argument("--engine-scenario", type=Path, default=None,
                        help="JSON scenario for the engine column (@ENDPOINT@, @SECONDS@, @TOPIC@ replaced)")
    sbs.add_tools_option(parser, TOOLS)
    args = parser.parse_args()
    tools = sbs.selected_tools(parser, args, TOOLS)
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    clients = peers.ensure_mqtt_clients() if {"gmqtt", "aiomqtt"} & set(tools) else None
    pub = peers.ensure_debian("mosquitto_pub") if "mosquitto" in tools else None
    sub = peers.ensure_debian("mosquitto_sub") if "mosquitto" in tools else None
    facts["peers"] = {p.name: p.label() for p in (clients, pub, sub) if p is not None}
    binary = mosquitto_binary()
    broker_note = f"mosquitto {mosquitto_version(binary) if binary else '(missing)'} (Debian, private instance)"
    template = args.engine_scenario.read_text() if args.engine_scenario else None
    rounds = sbs.rounds_from(args)
    with kit.workdir("stb-mqtt-e2e-") as work:
        s = Settings(args.seconds, args.payload_bytes, args.messages, args.idle, work, template)
        runners: dict[str, sbs.Runner] = {"engine": functools.partial(run_engine, s)}
        if clients is not None and clients.available:
            runners["gmqtt"] = functools.partial(run_peer_loop, clients, "gmqtt", s)
            runners["aiomqtt"] = functools.partial(run_peer_loop, clients, "aiomqtt", s)
        if pub is not None and sub is not None and pub.available and sub.available:
            runners["mosquitto"] = functools.partial(run_mosquitto, sub, pub, s)
        attempts = sbs.run_rounds(tools, runners, Mosquitto, rounds, unit="msg/s delivered", labels=LABELS)
    rows = []
    for tool in tools:
        peer = clients if tool in ("gmqtt", "aiomqtt") else pub if tool == "mosquitto" else None
        rows.append(sbs.summarise(tool, LABELS[tool], attempts[tool], keep=args.runs,
                                  available=peer is None or peer.available,
                                  version=peers_version(tool, peer), reason=peer.reason if peer else ""))
    engine = next((r for r in rows if r["tool"] == "engine"), None)
    met = None if engine is None or engine["median"] is None else engine["median"] >= E2E_TARGET
    markdown = render(rows, facts, s, rounds, broker_note, met)
    print()
    print(markdown)
    if not args.no_write:
        data = {"benchmark": "mqtt_e2e", "settings": {**vars(args), "engineScenario": str(args.engine_scenario or "")},
                "broker": broker_note, "facts": facts, "designFigures": DESIGN_FIGURES, "target": E2E_TARGET,
                "targetMet": met, "ratios": {f"engine/{ref}": sbs.ratio(engine, next((r for r in rows
                                                                                     if r["tool"] == ref), None))
                                             for ref in ("gmqtt", "aiomqtt", "mosquitto")},
                "tools": rows}
        md_path, json_path = kit.write_results("mqtt_e2e", markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
