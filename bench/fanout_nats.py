"""Seed 001 fan-out benchmark: publish at R msg/s through NATS to N WebSocket subscribers.

The chain is the project's own: the engine's NATS publisher stamps each message, nats-server on
127.0.0.1:4222 carries it, the reference target (``--nats --relay``) fans it out, and the engine's
WebSocket connections record each push with latency from the publisher's stamp. Prints one JSON
document: deliveries/s, publish -> delivery p50/p90/p99/max and loss.

    .venv/bin/python bench/fanout_nats.py --clients 1000 --rate 200 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from typing import Any

import orjson
import psutil

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.publisher import NatsPublisher, compile_publish
from streamtestbench.protocols.websocket import HANDSHAKES_IN_FLIGHT, MeasuredConnection, open_connection
from streamtestbench.scenario.flow import PublishSpec
from streamtestbench.target.process import TargetProcess
from streamtestbench.templating import RenderContext

DRAIN_TIMEOUT_S = 10.0


class Pushes(NullRecorder):
    """Every client's pushes land in one list; the first and last arrival bound the delivery rate."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.gaps = 0
        self.reordered = 0
        self.first_ns = 0
        self.last_ns = 0
        self.failed: list[str] = []

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        now = time.monotonic_ns()
        if not self.latencies:
            self.first_ns = now
        self.last_ns = now
        self.latencies.append(latency_ns)
        self.gaps += gap
        self.reordered += reordered

    def connection_failed(self, error: str) -> None:
        self.failed.append(error)


class Publishes(NullRecorder):
    def __init__(self) -> None:
        self.lag_ns: list[int] = []
        self.errors = 0

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.lag_ns.append(start_ns - intended_ns)
        self.errors += error is not None


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def percentile(ordered: list[int], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


async def subscribe(url: str, channel: str, recorder: Pushes, gate: asyncio.Semaphore) -> MeasuredConnection | None:
    connection = await open_connection(url, {}, 10.0, recorder, gate=gate)
    if connection is None:
        return None
    answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    connection.send(orjson.dumps({"type": "subscribe", "channel": channel}), "ws.subscribe",
                    time.monotonic_ns(), "subscribed", None, answered)
    return connection if await answered else None


async def measure(ws_url: str, nats_url: str, subject: str, clients: int, rate: float, count: int,
                  size: int) -> dict[str, Any]:
    pushes = Pushes()
    gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
    started = time.monotonic()
    opened = await asyncio.gather(*(subscribe(ws_url, "ticks", pushes, gate) for _ in range(clients)))
    connections = [c for c in opened if c is not None]
    connect_s = time.monotonic() - started
    publishes = Publishes()
    publisher = NatsPublisher(nats_url, publishes, publisher_id="bench")
    body: dict[str, Any] = {"price": 1.25, "pad": "x" * max(0, size)}
    step = compile_publish(PublishSpec.model_validate({"topic": subject, "json": body, "count": count,
                                                      "rate": rate}), random.Random(1))
    publish_start = time.monotonic_ns()
    sent = await publisher.run(step, RenderContext(0, 0, random.Random(1)), StopSignal())
    publish_end = time.monotonic_ns()
    expected = sent * len(connections)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while len(pushes.latencies) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await publisher.close()
    for connection in connections:
        connection.close()
    if connections:
        await asyncio.wait([c.closed for c in connections], timeout=5)
    ordered = sorted(pushes.latencies)
    delivered = len(ordered)
    span_s = max(pushes.last_ns - publish_start, 1) / 1e9
    lag = sorted(publishes.lag_ns)
    return {
        "clients": {"requested": clients, "subscribed": len(connections), "failed": len(pushes.failed),
                    "connectSeconds": round(connect_s, 3)},
        "publish": {"rateRequested": rate, "published": sent, "errors": publishes.errors,
                    "rateAchieved": round(sent / max(publish_end - publish_start, 1) * 1e9, 1),
                    "scheduleLagP99Ms": round(percentile(lag, 0.99), 3)},
        "deliveries": {"expected": expected, "delivered": delivered, "lost": expected - delivered,
                       "lossRatio": round((expected - delivered) / expected, 6) if expected else 0.0,
                       "gaps": pushes.gaps, "reordered": pushes.reordered,
                       "perSecond": round(delivered / span_s, 1)},
        "latencyMs": {"p50": round(percentile(ordered, 0.50), 3), "p90": round(percentile(ordered, 0.90), 3),
                      "p99": round(percentile(ordered, 0.99), 3),
                      "max": round(ordered[-1] / 1e6, 3) if ordered else None},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages published per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to publish")
    parser.add_argument("--size", type=int, default=0, help="padding bytes added to each message")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = max(1, int(args.rate * args.seconds))
    subject_root = f"stb.bench.{uuid.uuid4().hex[:12]}"
    with TargetProcess("--broadcast-rate", "0", "--nats", args.nats, "--relay", f"{subject_root}.>") as target:
        coroutine = measure(target.ws_url, args.nats, f"{subject_root}.ticks", args.clients, args.rate, count,
                            args.size)
        target_cpu, own_cpu = cpu_seconds(psutil.Process(target.pid)), cpu_seconds(psutil.Process())
        if args.loop == "uvloop":
            import uvloop

            result = uvloop.run(coroutine)
        else:
            result = asyncio.run(coroutine)
        # Which side of the fan-out was busier: the target (relay + sends) or the clients (+ publisher).
        result["cpuSeconds"] = {"target": round(cpu_seconds(psutil.Process(target.pid)) - target_cpu, 2),
                                "clientsAndPublisher": round(cpu_seconds(psutil.Process()) - own_cpu, 2)}
    result["setup"] = {"clientLoop": args.loop, "targetLoop": "uvloop", "nats": args.nats,
                       "messageSeconds": args.seconds, "paddingBytes": args.size, "python": sys.version.split()[0],
                       "loadAverage1mAfter": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    print(json.dumps(result, indent=2))
    return 0 if result["deliveries"]["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
