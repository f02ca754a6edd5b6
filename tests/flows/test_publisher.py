"""NATS publish steps: stamped messages at a rate, recorded as nats.publish; the publisher behaviour."""

from __future__ import annotations

import asyncio
import random
import socket
import time
import uuid
from typing import Any

import orjson
import pytest

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.publisher import (
    NatsPublishBehaviour,
    NatsPublisher,
    check_flow,
    compile_publish,
    nats_url_for,
)
from streamtestbench.flows.websocket import UnsupportedStep
from streamtestbench.protocols.nats import Msg
from streamtestbench.protocols.nats_client import NatsClient
from streamtestbench.scenario.flow import PublishSpec
from streamtestbench.scenario.model import Scenario
from streamtestbench.templating import RenderContext

NATS_URL = "nats://127.0.0.1:4222"


class ListRecorder(NullRecorder):
    def __init__(self) -> None:
        self.messages: list[tuple[str, int, int, int, int, str | None]] = []
        self.failures: list[str] = []
        self.opened = 0
        self.closed = 0

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.messages.append((name, intended_ns, start_ns, end_ns, nbytes, error))

    def connection_open(self, connect_ns: int) -> None:
        self.opened += 1

    def connection_failed(self, error: str) -> None:
        self.failures.append(error)

    def connection_closed(self, error: str | None = None) -> None:
        self.closed += 1


def scenario(flow: list[Any], variables: dict[str, Any] | None = None) -> Scenario:
    return Scenario.model_validate({"name": "pub", "endpoint": "ws://127.0.0.1:1/ws", "duration_seconds": 1,
                                    "connections": 1, "flow": flow, "variables": variables or {}})


def spec(**fields: Any) -> PublishSpec:
    return PublishSpec.model_validate({"topic": "t", **fields})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- compiling ------------------------------------------------------------------------------------
def test_json_messages_carry_the_delivery_stamp() -> None:
    step = compile_publish(spec(topic="prices.${vu}", json={"price": 1}), random.Random(1))
    ctx = RenderContext(7, 0, random.Random(1))
    before = time.time_ns()
    subject, payload = step.encode(ctx, "pub-a", 3)
    message = orjson.loads(payload)
    assert subject == "prices.7"
    assert message["price"] == 1
    assert message["_stb"]["p"] == "pub-a" and message["_stb"]["s"] == 3
    assert before <= message["_stb"]["t"] <= time.time_ns()
    # The static body is copied per message, so stamps never leak from one message into the next.
    _, again = step.encode(ctx, "pub-a", 4)
    assert orjson.loads(again)["_stb"]["s"] == 4 and message["_stb"]["s"] == 3


def test_text_goes_unstamped_and_scalars_are_wrapped() -> None:
    ctx = RenderContext(1, 0, random.Random(1))
    assert compile_publish(spec(text="hello ${vu}"), random.Random(1)).encode(ctx, "p", 1) == ("t", b"hello 1")
    _, payload = compile_publish(spec(json=[1, 2]), random.Random(1)).encode(ctx, "p", 1)
    assert orjson.loads(payload)["value"] == [1, 2]


def test_payload_types_are_generated_and_stamped() -> None:
    _, payload = compile_publish(spec(payload="HEARTBEAT"), random.Random(1)).encode(
        RenderContext(1, 0, random.Random(1)), "p", 9)
    message = orjson.loads(payload)
    assert message["_stb"]["s"] == 9 and len(message) > 1


def test_where_the_nats_server_comes_from() -> None:
    assert nats_url_for(spec(), scenario([]), None) is None
    assert nats_url_for(spec(), scenario([], {"natsUrl": "nats://127.0.0.1:1"})) == "nats://127.0.0.1:1"
    assert nats_url_for(spec(), scenario([], {"natsUrl": "nats://127.0.0.1:1"}), "nats://127.0.0.1:2") \
        == "nats://127.0.0.1:2"


def test_flows_the_publisher_cannot_run_are_refused_before_the_run() -> None:
    with pytest.raises(UnsupportedStep, match="publish, think and loop"):
        check_flow(scenario([{"send": {"json": {"type": "ping"}}}]), NATS_URL)
    with pytest.raises(UnsupportedStep, match="no NATS server"):
        check_flow(scenario([{"publish": {"topic": "a"}}]))
    with pytest.raises(UnsupportedStep, match="at least one publish"):
        check_flow(scenario([{"think": 1}]), NATS_URL)
    check_flow(scenario([{"loop": {"count": 2, "steps": [{"publish": {"topic": "a"}}, {"think": 0.1}]}}]),
               NATS_URL)


# -- live against nats-server ---------------------------------------------------------------------
live = pytest.mark.integration


async def collect(subject: str) -> tuple[NatsClient, list[Msg]]:
    client = await NatsClient.connect(NATS_URL)
    got: list[Msg] = []
    client.subscribe(subject, got.append)
    await client.flush()
    return client, got


async def until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


@live
def test_count_messages_at_a_rate_arrive_in_order_with_their_stamps() -> None:
    subject = f"stb.pubtest.{uuid.uuid4().hex}"

    async def run() -> tuple[ListRecorder, list[Msg], int]:
        listener, got = await collect(subject)
        recorder = ListRecorder()
        publisher = NatsPublisher(NATS_URL, recorder, publisher_id="p1")
        step = compile_publish(spec(topic=subject, json={"k": "v"}, count=20, rate=400), random.Random(1))
        sent = await publisher.run(step, RenderContext(0, 0, random.Random(1)), StopSignal())
        await until(lambda: len(got) >= 20)
        await publisher.close()
        await listener.close()
        return recorder, got, sent

    recorder, got, sent = asyncio.run(run())
    assert sent == 20
    stamps = [orjson.loads(m.payload)["_stb"] for m in got]
    assert [s["s"] for s in stamps] == list(range(1, 21)) and {s["p"] for s in stamps} == {"p1"}
    assert [name for name, *_ in recorder.messages] == ["nats.publish"] * 20
    assert all(error is None for *_, error in recorder.messages)
    intended = [m[1] for m in recorder.messages]
    assert [t - intended[0] for t in intended] == [int(i * 2.5e6) for i in range(20)]  # the schedule, not the clock
    assert (recorder.opened, recorder.closed) == (1, 1)


@live
def test_as_fast_as_possible_publishes_everything() -> None:
    subject = f"stb.pubtest.{uuid.uuid4().hex}"

    async def run() -> list[Msg]:
        listener, got = await collect(subject)
        publisher = NatsPublisher(NATS_URL, NullRecorder())
        step = compile_publish(spec(topic=subject, count=2000), random.Random(1))
        assert await publisher.run(step, RenderContext(0, 0, random.Random(1)), StopSignal()) == 2000
        await until(lambda: len(got) >= 2000)
        await publisher.close()
        await listener.close()
        return got

    got = asyncio.run(run())
    assert [orjson.loads(m.payload)["_stb"]["s"] for m in got] == list(range(1, 2001))


@live
def test_the_behaviour_runs_the_flow_until_stopped() -> None:
    subject = f"stb.pubtest.{uuid.uuid4().hex}"
    flow = [{"publish": {"topic": subject + ".${vu}", "json": {"n": "${vu}"}, "count": 3}}, {"think": 30}]

    async def run() -> tuple[list[Msg], ListRecorder]:
        listener, got = await collect(subject + ".>")
        recorder = ListRecorder()
        behaviour = NatsPublishBehaviour(scenario(flow, {"natsUrl": NATS_URL}), recorder, random.Random(1),
                                         grace_s=1)
        stop = StopSignal()
        task = asyncio.create_task(behaviour.run_connection(5, stop, None))
        await until(lambda: len(got) >= 3)
        stop.set()
        await asyncio.wait_for(task, 5)
        await behaviour.close()
        await listener.close()
        return got, recorder

    got, recorder = asyncio.run(run())
    assert [m.subject for m in got] == [subject + ".5"] * 3
    assert [orjson.loads(m.payload)["n"] for m in got] == [5] * 3  # one expression keeps its native type
    assert len(recorder.messages) == 3 and (recorder.opened, recorder.closed) == (1, 1)


@live
def test_a_paced_connection_publishes_at_next_due() -> None:
    subject = f"stb.pubtest.{uuid.uuid4().hex}"

    async def run() -> tuple[list[Msg], ListRecorder, list[int]]:
        listener, got = await collect(subject)
        recorder = ListRecorder()
        behaviour = NatsPublishBehaviour(scenario([{"publish": {"topic": subject}}]), recorder, random.Random(1),
                                         grace_s=1, url=NATS_URL)
        start = time.monotonic_ns()
        dues = [start + i * 1_000_000 for i in range(10)]
        await behaviour.run_connection(0, StopSignal(), lambda i: dues[i] if i < len(dues) else None)
        await until(lambda: len(got) >= 10)
        await behaviour.close()
        await listener.close()
        return got, recorder, dues

    got, recorder, dues = asyncio.run(run())
    assert len(got) == 10
    assert [m[1] for m in recorder.messages] == dues


def test_an_unreachable_server_records_refused_publishes() -> None:
    async def run() -> ListRecorder:
        recorder = ListRecorder()
        publisher = NatsPublisher(f"nats://127.0.0.1:{closed_port()}", recorder)
        step = compile_publish(spec(count=3), random.Random(1))
        assert await publisher.run(step, RenderContext(0, 0, random.Random(1)), StopSignal()) == 0
        return recorder

    recorder = asyncio.run(run())
    assert [error for *_, error in recorder.messages] == ["Connection refused"] * 3
    assert recorder.failures == ["Connection refused"] * 3


@live
def test_open_model_arrivals_share_one_connection() -> None:
    subject = f"stb.pubtest.{uuid.uuid4().hex}"

    async def run() -> tuple[list[Msg], ListRecorder]:
        listener, got = await collect(subject)
        recorder = ListRecorder()
        behaviour = NatsPublishBehaviour(scenario([{"publish": {"topic": subject, "json": {"arrival": "${vu}"}}}]),
                                         recorder, random.Random(1), grace_s=1, url=NATS_URL)
        now = time.monotonic_ns()
        await asyncio.gather(*(behaviour.run_iteration(unit, now, StopSignal()) for unit in range(10)))
        await until(lambda: len(got) >= 10)
        await behaviour.close()
        await listener.close()
        return got, recorder

    got, recorder = asyncio.run(run())
    assert sorted(orjson.loads(m.payload)["arrival"] for m in got) == list(range(10))
    assert (recorder.opened, recorder.closed) == (1, 1)
    assert len(recorder.messages) == 10
