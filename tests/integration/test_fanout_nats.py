"""Seed 001 fan-out: engine publisher -> NATS -> target relay -> 1,000 engine WebSocket clients.

Every client must get every message (loss 0, no gaps, in order), and each push is measured from
the publisher's embedded timestamp by the engine's own WebSocket push recording.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.publisher import NatsPublisher, compile_publish
from streamtestbench.protocols.websocket import HANDSHAKES_IN_FLIGHT, MeasuredConnection, open_connection
from streamtestbench.scenario.flow import PublishSpec
from streamtestbench.target.process import TargetProcess
from streamtestbench.templating import RenderContext

pytestmark = pytest.mark.integration

NATS_URL = "nats://127.0.0.1:4222"
CLIENTS = 1_000
MESSAGES = 40
RATE = 100.0
PREFIX = f"stb.fanout.{uuid.uuid4().hex[:12]}"


class ClientRecorder(NullRecorder):
    """One client's pushes: how many, their latencies, gaps and reorderings."""

    __slots__ = ("gaps", "latencies", "reordered")

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.gaps = 0
        self.reordered = 0

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        assert name == "ws.broadcast"
        self.latencies.append(latency_ns)
        self.gaps += gap
        self.reordered += reordered


class PublishRecorder(NullRecorder):
    def __init__(self) -> None:
        self.errors: list[str | None] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        assert name == "nats.publish"
        self.errors.append(error)


@pytest.fixture(scope="module")
def relay_target() -> Iterator[TargetProcess]:
    with TargetProcess("--broadcast-rate", "0", "--nats", NATS_URL, "--relay", f"{PREFIX}.>") as process:
        yield process


async def subscribed_client(url: str, channel: str, gate: asyncio.Semaphore) -> tuple[MeasuredConnection,
                                                                                       ClientRecorder]:
    recorder = ClientRecorder()
    connection = await open_connection(url, {}, 10.0, recorder, gate=gate)
    assert connection is not None, "a WebSocket client could not connect"
    answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    connection.send(orjson.dumps({"type": "subscribe", "channel": channel}), "ws.subscribe", time.monotonic_ns(),
                    "subscribed", None, answered)
    assert await answered
    return connection, recorder


async def fan_out(ws_url: str) -> tuple[list[ClientRecorder], PublishRecorder]:
    gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
    clients = await asyncio.gather(*(subscribed_client(ws_url, "ticks", gate) for _ in range(CLIENTS)))
    recorders = [recorder for _, recorder in clients]
    publish_recorder = PublishRecorder()
    publisher = NatsPublisher(NATS_URL, publish_recorder, publisher_id="fanout")
    step = compile_publish(PublishSpec.model_validate({"topic": f"{PREFIX}.ticks", "json": {"price": 1.25},
                                                      "count": MESSAGES, "rate": RATE}), random.Random(1))
    try:
        sent = await publisher.run(step, RenderContext(0, 0, random.Random(1)), StopSignal())
        assert sent == MESSAGES
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(len(r.latencies) < MESSAGES for r in recorders):
            await asyncio.sleep(0.05)
    finally:
        await publisher.close()
        for connection, _ in clients:
            connection.close()
        await asyncio.wait([connection.closed for connection, _ in clients], timeout=5)
    return recorders, publish_recorder


def test_fan_out_through_nats_reaches_1000_websocket_clients_without_loss(relay_target: TargetProcess) -> None:
    started = time.monotonic()
    recorders, publish_recorder = asyncio.run(asyncio.wait_for(fan_out(relay_target.ws_url), 60))
    assert publish_recorder.errors == [None] * MESSAGES
    counts = [len(r.latencies) for r in recorders]
    assert counts == [MESSAGES] * CLIENTS, f"loss: {CLIENTS * MESSAGES - sum(counts)} deliveries missing"
    assert sum(r.gaps for r in recorders) == 0
    assert sum(r.reordered for r in recorders) == 0
    latencies = sorted(latency for r in recorders for latency in r.latencies)
    # Measured from the publisher's stamp: positive, and bounded by how long the whole test ran.
    assert latencies[0] > 0
    assert latencies[-1] < (time.monotonic() - started) * 1e9


class TotalRecorder(NullRecorder):
    """Everything a WebSocketBehaviour run records, summed (it shares one recorder across users)."""

    def __init__(self) -> None:
        self.pushes = 0
        self.gaps = 0
        self.latencies: list[int] = []
        self.failures: list[str] = []
        self.subscribed = 0

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.subscribed += name == "ws.subscribe" and error is None

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        self.pushes += 1
        self.gaps += gap
        self.latencies.append(latency_ns)

    def connection_failed(self, error: str) -> None:
        self.failures.append(error)


def test_a_websocket_scenario_flow_measures_relayed_publishes(relay_target: TargetProcess) -> None:
    """The engine's WebSocketBehaviour (subscribe, then idle) receives what the NATS publisher sends."""
    from streamtestbench.flows.websocket import WebSocketBehaviour
    from streamtestbench.scenario.model import Scenario

    users, messages = 50, 20
    scenario = Scenario.model_validate({
        "name": "fanout", "endpoint": relay_target.ws_url, "duration_seconds": 10, "connections": users,
        "flow": [{"subscribe": "flowticks"}, {"think": 30}],
    })

    async def run() -> TotalRecorder:
        recorder = TotalRecorder()
        behaviour = WebSocketBehaviour(scenario, recorder, random.Random(1), grace_s=1)
        stop = StopSignal()
        tasks = [asyncio.create_task(behaviour.run_connection(unit, stop, None)) for unit in range(users)]
        deadline = time.monotonic() + 10
        while recorder.subscribed < users and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert recorder.subscribed == users
        publisher = NatsPublisher(NATS_URL, NullRecorder())
        step = compile_publish(PublishSpec.model_validate({"topic": f"{PREFIX}.flowticks", "count": messages,
                                                          "rate": 200}), random.Random(1))
        await publisher.run(step, RenderContext(0, 0, random.Random(1)), StopSignal())
        deadline = time.monotonic() + 10
        while recorder.pushes < users * messages and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await publisher.close()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await behaviour.close()
        return recorder

    recorder = asyncio.run(run())
    assert recorder.failures == []
    assert (recorder.pushes, recorder.gaps) == (users * messages, 0)
    assert min(recorder.latencies) > 0
