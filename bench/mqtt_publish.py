"""MQTT publish throughput against Debian mosquitto, side by side (issue 5 item 7, first part).

A private mosquitto (bench/mqtt_broker.py) pinned to core 1, restarted for every run; every
publisher pinned to core 0; one connection; ``--payload-bytes`` (default 64) per message; MQTT 3.1.1.
Two modes, each a table of interleaved runs (median of ``--runs``):

- QoS 0: publish as fast as possible.
- QoS 1 with 16 messages in flight (``--inflight``).

Tools and how their msg/s is computed:

- this engine: ``streamtestbench run --workers 1`` on ``{"protocol": "MQTT", "connections": 1,
  "duration_seconds": D, "mqtt": {"topic": "bench/${clientId}", "qos": 0}}`` (QoS 1 adds
  ``"maxInflight": 16``); msg/s = ``throughputQps`` of its results.
- plain gmqtt 0.8.0 / aiomqtt 2.5.1 loops (bench/mqtt_peer_loops.py, on uvloop, in their own venv):
  publish for D seconds; QoS 0 ends with a QoS 1 publish whose PUBACK proves the broker read all.
- mosquitto_pub (C, the ceiling): ``mosquitto_pub -l`` fed a file of N lines of ``--payload-bytes``
  characters; msg/s = N / wall time of the process (connect included). QoS 0 only by default: at
  QoS 1 (``-q 1 -M 16``) mosquitto_pub 2.0.11's ``-l`` mode disconnects after a few thousand lines
  (``--mosquitto-pub-qos1`` runs it anyway).

Targets (issue 5): QoS 0 >= 150,000 msg/s; QoS 1 (16 in flight) >= 1.2x gmqtt.

Writes bench/results/mqtt.md and mqtt.json (bench/mqtt_e2e.py adds the end-to-end table beside it
in mqtt_e2e.md).

    .venv/bin/python bench/mqtt_publish.py [--seconds 5] [--runs 3] [--modes qos0,qos1] [--tools ...]
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import benchkit as kit
import peers
import sidebyside as sbs
from mqtt_broker import Mosquitto, mosquitto_binary, mosquitto_version

TOOLS = ("engine", "gmqtt", "aiomqtt", "mosquitto_pub")
MODES = ("qos0", "qos1")
LABELS = {"engine": "streamtestbench (this engine)", "gmqtt": "gmqtt loop", "aiomqtt": "aiomqtt loop",
          "mosquitto_pub": "mosquitto_pub (C)"}
DESIGN_FIGURES = {"qos0": {"gmqtt": 110_000, "aiomqtt": 21_000, "mosquitto_pub": 300_000},
                  "qos1": {"gmqtt": 70_000, "aiomqtt": 14_000}}
"""DESIGN.md "Figures to race" (MQTT rows), for context only."""
MOSQUITTO_PUB_QOS1_BROKEN = ("left out: mosquitto_pub 2.0.11 `-l -q 1` sends DISCONNECT after ~3,400 of 200,000 "
                             "lines (seen with -d, and by a subscriber counting), so its wall time measures nothing; "
                             "--mosquitto-pub-qos1 runs it anyway")
"""Why the C ceiling has no QoS 1 row by default (checked on this machine, 2026-11-21)."""
QOS0_TARGET = 150_000
QOS1_TARGET_VS_GMQTT = 1.2
PEER_LOOPS = kit.BENCH_DIR / "mqtt_peer_loops.py"


class Settings:
    def __init__(self, mode: str, seconds: float, payload_bytes: int, inflight: int, pub_messages: int,
                 work: Path) -> None:
        self.mode = mode
        self.seconds = seconds
        self.payload_bytes = payload_bytes
        self.inflight = inflight
        self.pub_messages = pub_messages
        self.work = work

    @property
    def qos(self) -> int:
        return 1 if self.mode == "qos1" else 0


def engine_scenario(broker: Mosquitto, s: Settings) -> dict[str, Any]:
    mqtt: dict[str, Any] = {"topic": "bench/${clientId}", "qos": s.qos}
    if s.qos:
        mqtt["maxInflight"] = s.inflight
    return {"name": f"q{s.qos}", "protocol": "MQTT", "endpoint": broker.url, "connections": 1,
            "duration_seconds": s.seconds, "mqtt": mqtt}


def run_engine(s: Settings, broker: Mosquitto, attempt: sbs.Attempt) -> None:
    scenario = engine_scenario(broker, s)
    results, done = sbs.run_engine(scenario, s.work, f"engine-{s.mode}-{attempt.run}", timeout_s=s.seconds + 60)
    attempt.wall_seconds, attempt.details["command"], attempt.details["scenario"] = done.seconds, done.argv, scenario
    if results is None or not results.get("successfulMessages"):
        attempt.error = sbs.engine_failure(results, done)
        if broker.log_tail():
            attempt.details["brokerLogTail"] = broker.log_tail()
        return
    attempt.details.update(sbs.engine_details(results, done))
    attempt.value = float(results["throughputQps"])
    attempt.p50_ms = results.get("p50LatencyMs")
    attempt.p99_ms = results.get("p99LatencyMs")
    confirm(attempt, broker, int(results["successfulMessages"]))


def confirm(attempt: sbs.Attempt, broker: Mosquitto, claimed: int) -> None:
    """Compare what the publisher counted with what the broker says it received (its $SYS counter)."""
    received = broker.publishes_received()
    attempt.details["brokerReceived"] = received
    attempt.details["publisherCounted"] = claimed
    if received is not None and claimed:
        attempt.details["brokerReceivedShare"] = round(received / claimed, 4)


def run_peer_loop(peer: peers.Peer, client: str, s: Settings, broker: Mosquitto, attempt: sbs.Attempt) -> None:
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, str(PEER_LOOPS), client, s.mode, "--port",
            str(broker.port), "--seconds", f"{s.seconds:g}", "--payload-bytes", str(s.payload_bytes),
            "--inflight", str(s.inflight), "--topic", f"bench/{client}"]
    done = kit.run_tool(argv, timeout=s.seconds + 60)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, argv
    result = kit.last_json_line(done.stdout)
    if done.returncode != 0 or result is None or not result.get("messages"):
        attempt.error = f"exit {done.returncode}: {done.tail()}"
        return
    attempt.details["output"] = result
    attempt.value = round(float(result["msgPerSecond"]), 1)
    confirm(attempt, broker, int(result["messages"]))


def lines_file(work: Path, count: int, payload_bytes: int) -> Path:
    """N lines of ``payload_bytes`` characters each (mosquitto_pub -l sends one message per line)."""
    path = work / f"lines-{count}-{payload_bytes}.txt"
    if not path.exists():
        line = ("m" * max(1, payload_bytes) + "\n").encode()
        with path.open("wb") as handle:
            chunk = line * 10_000
            for _ in range(count // 10_000):
                handle.write(chunk)
            handle.write(line * (count % 10_000))
    return path


def run_mosquitto_pub(peer: peers.Peer, s: Settings, broker: Mosquitto, attempt: sbs.Attempt) -> None:
    source = lines_file(s.work, s.pub_messages, s.payload_bytes)
    qos = ["-q", "1", "-M", str(s.inflight)] if s.qos else ["-q", "0"]
    argv = [*kit.pin(kit.GENERATOR_CORE), *peer.command, "-h", broker.host, "-p", str(broker.port),
            "-t", "bench/mosquitto_pub", *qos, "-l"]
    # mosquitto_pub reads the file from stdin: run it through sh so the file is its stdin.
    shell = ["sh", "-c", " ".join(argv) + f" < {source}"]
    done = kit.run_tool(shell, timeout=s.seconds * 10 + 120)
    attempt.wall_seconds, attempt.details["command"] = done.seconds, shell
    if done.returncode != 0:
        attempt.error = f"exit {done.returncode}: {done.tail()}"
        return
    attempt.details["output"] = {"messages": s.pub_messages, "wallSeconds": round(done.seconds, 4)}
    attempt.value = round(s.pub_messages / done.seconds, 1)
    confirm(attempt, broker, s.pub_messages)


NOTES = {
    "engine": "MQTT scenario without a flow (publishes as fast as it may), 1 connection, --workers 1; "
              "throughputQps{inflight}",
    "gmqtt": "plain loop on uvloop, publish() in batches of 100 then yield{inflight}",
    "aiomqtt": "plain loop on uvloop, 16 concurrent publish calls{inflight}",
    "mosquitto_pub": "mosquitto_pub -l < file of {n:,} lines{inflight_c}; N / process wall time (connect included)",
}


QOS1_NOTES = {
    "gmqtt": "plain loop on uvloop; a window of {window} unacknowledged publishes (gmqtt's in-flight store, "
             "subclassed to wake the loop on each PUBACK)",
    "aiomqtt": "plain loop on uvloop; {window} concurrent publish calls, each awaiting its PUBACK",
}


def render_mode(rows: list[dict[str, Any]], s: Settings) -> list[str]:
    by_tool = {row["tool"]: row for row in rows}
    table = []
    for row in rows:
        tool = row["tool"]
        inflight = f", {s.inflight} in flight" if s.qos else ""
        template = QOS1_NOTES.get(tool, NOTES[tool]) if s.qos else NOTES[tool]
        pub_qos = f" (-q 1 -M {s.inflight})" if s.qos else " (-q 0)"
        note = template.format(inflight=inflight, window=s.inflight, n=s.pub_messages, inflight_c=pub_qos)
        label = row["label"] + (f" {row['version']}" if row["version"] else "")
        table.append([label, sbs.value_cell(row), sbs.runs_cell(row),
                      *(kit.fmt_ratio(row["median"], (by_tool.get(ref) or {}).get("median"))
                        for ref in ("gmqtt", "aiomqtt", "mosquitto_pub")),
                      broker_cell(row), kit.fmt_ms(row["p50Ms"]), kit.fmt_ms(row["p99Ms"]), sbs.cores_cell(row),
                      kit.fmt_int(DESIGN_FIGURES.get(s.mode, {}).get(tool)), sbs.notes_cell(row, note)])
    headers = ["tool", "median msg/s", "runs counted", "× gmqtt", "× aiomqtt", "× mosquitto_pub",
               "broker received / publisher counted", "p50 ms", "p99 ms", "core 0 / core 1 busy", "DESIGN.md figure",
               "notes"]
    title = "QoS 0 publish" if s.mode == "qos0" else f"QoS 1 publish, {s.inflight} in flight"
    return [f"## {title}", "", kit.md_table(headers, table), ""]


def broker_cell(row: dict[str, Any]) -> str:
    """Per counted run, the broker's $SYS count of PUBLISH packets over the publisher's own count."""
    shares = [a["details"].get("brokerReceivedShare") for a in row["attempts"] if a["run"] in row["countedRuns"]]
    return " / ".join("—" if x is None else f"{100 * x:.1f}%" for x in shares) or "—"


def targets(by_mode: dict[str, dict[str, dict[str, Any]]]) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    engine0 = by_mode.get("qos0", {}).get("engine", {}).get("median")
    if "qos0" in by_mode:
        out[f"QoS 0 engine >= {QOS0_TARGET:,} msg/s"] = None if engine0 is None else engine0 >= QOS0_TARGET
    if "qos1" in by_mode:
        share = sbs.ratio(by_mode["qos1"].get("engine"), by_mode["qos1"].get("gmqtt"))
        out[f"QoS 1 engine >= {QOS1_TARGET_VS_GMQTT}x gmqtt"] = None if share is None else share >= QOS1_TARGET_VS_GMQTT
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    sbs.add_round_options(parser)
    parser.add_argument("--payload-bytes", type=int, default=64)
    parser.add_argument("--inflight", type=int, default=16)
    parser.add_argument("--pub-messages-qos0", type=int, default=1_000_000, help="lines mosquitto_pub sends, QoS 0")
    parser.add_argument("--pub-messages-qos1", type=int, default=200_000, help="lines mosquitto_pub sends, QoS 1")
    parser.add_argument("--mosquitto-pub-qos1", action="store_true",
                        help="run mosquitto_pub at QoS 1 too (its -l mode stops early there; see the table note)")
    parser.add_argument("--modes", default=",".join(MODES))
    sbs.add_tools_option(parser, TOOLS)
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := [t for t in tools if t not in TOOLS] + [m for m in modes if m not in MODES]:
        parser.error(f"unknown tools/modes {unknown}; tools {TOOLS}, modes {MODES}")
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    clients = peers.ensure_mqtt_clients() if {"gmqtt", "aiomqtt"} & set(tools) else None
    pub = peers.ensure_debian("mosquitto_pub") if "mosquitto_pub" in tools else None
    facts["peers"] = {p.name: p.label() for p in (clients, pub) if p is not None}
    binary = mosquitto_binary()
    broker_note = f"mosquitto {mosquitto_version(binary) if binary else '(missing)'} (Debian, private instance)"
    rounds = sbs.rounds_from(args)
    by_mode: dict[str, dict[str, dict[str, Any]]] = {}
    sections: list[str] = []
    with kit.workdir("stb-mqtt-publish-") as work:
        for mode in modes:
            n = args.pub_messages_qos1 if mode == "qos1" else args.pub_messages_qos0
            s = Settings(mode, args.seconds, args.payload_bytes, args.inflight, n, work)
            runners: dict[str, sbs.Runner] = {"engine": functools.partial(run_engine, s)}
            if clients is not None and clients.available:
                runners["gmqtt"] = functools.partial(run_peer_loop, clients, "gmqtt", s)
                runners["aiomqtt"] = functools.partial(run_peer_loop, clients, "aiomqtt", s)
            pub_usable = mode == "qos0" or args.mosquitto_pub_qos1
            if pub is not None and pub.available and pub_usable:
                runners["mosquitto_pub"] = functools.partial(run_mosquitto_pub, pub, s)
            print(f"--- {mode}", flush=True)
            attempts = sbs.run_rounds(tools, runners, Mosquitto, rounds, unit="msg/s", labels=LABELS)
            rows = []
            for tool in tools:
                peer = clients if tool in ("gmqtt", "aiomqtt") else pub if tool == "mosquitto_pub" else None
                left_out = tool == "mosquitto_pub" and "mosquitto_pub" not in runners
                reason = MOSQUITTO_PUB_QOS1_BROKEN if left_out and mode == "qos1" else peer.reason if peer else ""
                rows.append(sbs.summarise(tool, LABELS[tool], attempts[tool], keep=args.runs,
                                          available=(peer is None or peer.available) and not left_out,
                                          version=peers_version(tool, peer), reason=reason))
            by_mode[mode] = {row["tool"]: row for row in rows}
            sections += render_mode(rows, s)
    met = targets(by_mode)
    markdown = "\n".join([
        "# MQTT publish throughput against mosquitto",
        "",
        f"One connection, {args.payload_bytes}-byte payloads, MQTT 3.1.1, {args.seconds:g} s per run (mosquitto_pub: "
        f"a fixed count); each row is the median of its counted runs ({args.runs} interleaved wanted). Broker: "
        f"{broker_note} on core {kit.SERVER_CORE}, restarted every run; every publisher on core "
        f"{kit.GENERATOR_CORE}.",
        "",
        *sections,
        "Issue 5 targets:",
        "",
        *[f"- {name}: {'not measured' if ok is None else ('met' if ok else 'NOT met')}" for name, ok in met.items()],
        "",
        "End to end (pub -> sub): see [mqtt_e2e.md](mqtt_e2e.md).",
        "",
        sbs.contention_paragraph(rounds),
        "",
        *kit.facts_lines(facts),
        "",
        f"Regenerate: `make bench`, or `.venv/bin/python bench/mqtt_publish.py --seconds {args.seconds:g} "
        f"--runs {args.runs}`.",
    ])
    print()
    print(markdown)
    if not args.no_write:
        data = {"benchmark": "mqtt_publish", "settings": vars(args), "broker": broker_note, "facts": facts,
                "designFigures": DESIGN_FIGURES, "targets": met,
                "ratios": {mode: {f"engine/{ref}": sbs.ratio(rows.get("engine"), rows.get(ref))
                                  for ref in ("gmqtt", "aiomqtt", "mosquitto_pub")} for mode, rows in by_mode.items()},
                "modes": {mode: list(rows.values()) for mode, rows in by_mode.items()}}
        md_path, json_path = kit.write_results("mqtt", markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


def peers_version(tool: str, peer: peers.Peer | None) -> str:
    """gmqtt/aiomqtt share one venv: pick the tool's own version out of its label."""
    if peer is None or not peer.available:
        return ""
    if tool in ("gmqtt", "aiomqtt"):
        return next((part.split()[1] for part in peer.version.split(", ") if part.startswith(tool + " ")), "")
    return peer.version


if __name__ == "__main__":
    sys.exit(main())
