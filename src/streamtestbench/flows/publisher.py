"""Publish steps over NATS (seed 001's publisher feeding the broker the target relays from).

``{"publish": {"topic": "prices.fx", "json": {...}, "count": 100, "rate": 50}}`` sends ``count``
messages at ``rate``/s on one NATS connection. Every JSON object gets the delivery stamp
``"_stb": {"p": publisher, "s": seq, "t": epoch_ns}`` (``flows.delivery``) so whoever receives it (the target's relay
keeps it in the broadcast's ``ts``) measures publish -> delivery. Each publish is recorded as a
one-way ``nats.publish`` message whose latency runs from its scheduled time, so a publisher that
falls behind its rate shows it.

Where the NATS server is: the step's ``url`` (``PublishSpec.url``), else the URL given to the
constructor, else the scenario variable ``natsUrl``, else the scenario endpoint when it is
``nats://``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..engine.recording import Recorder
from ..engine.stopping import StopSignal
from ..payloads import make_generator
from ..protocols.nats import NatsError, NatsPayloadTooLarge, parse_url
from ..protocols.nats_client import NatsClient
from ..scenario.flow import LoopStep, PublishSpec, PublishStep, ThinkStep
from ..scenario.model import Scenario
from ..templating import CompiledText, CompiledValue, RenderContext, compile_text, compile_value
from .delivery import STAMP_KEY, stamp, stamp_bytes
from .websocket import UnsupportedStep

__all__ = [
    "NATS_URL_VARIABLE",
    "PUBLISH_METRIC",
    "CompiledPublish",
    "NatsPublishBehaviour",
    "NatsPublisher",
    "check_flow",
    "compile_publish",
    "nats_url_for",
]

PUBLISH_METRIC = "nats.publish"
NATS_URL_VARIABLE = "natsUrl"
BATCH = 256
"""Messages queued before yielding to the loop when publishing as fast as possible."""


def nats_url_for(spec: PublishSpec, scenario: Scenario | None = None, default: str | None = None) -> str | None:
    """The NATS server a publish step goes to, or None when nothing names one (then it is MQTT's)."""
    own = getattr(spec, "url", None)
    if isinstance(own, str) and own:
        return own
    if default:
        return default
    if scenario is not None:
        variable = scenario.variables.get(NATS_URL_VARIABLE)
        if isinstance(variable, str) and variable:
            return variable
        if scenario.endpoint and scenario.endpoint.lower().startswith("nats://"):
            return scenario.endpoint
    return None


Body = Callable[[RenderContext, int], Any]
"""Builds message ``seq`` of a publish step: a JSON value, or a str sent as text."""


@dataclass(frozen=True)
class CompiledPublish:
    """One publish step, compiled once: the subject template and how to build message ``seq``."""

    subject: CompiledText
    body: Body
    count: int
    rate: float | None
    static_body: bytes | None = None
    """A fixed JSON object encoded once; each message splices its stamp into these bytes."""

    def encode(self, ctx: RenderContext, publisher: str, seq: int) -> tuple[str, bytes]:
        subject = self.subject.render(ctx)
        if self.static_body is not None:
            return subject, stamp_bytes(self.static_body, orjson.dumps(publisher), seq, time.time_ns())
        message = self.body(ctx, seq)
        if isinstance(message, str):
            return subject, message.encode()
        if not isinstance(message, dict):
            message = {"value": message}
        return subject, orjson.dumps(stamp(message, publisher, seq))


def _body_builder(spec: PublishSpec, rng: random.Random) -> tuple[Body, bytes | None]:
    """How to build message ``seq``, and the encoded object when it never changes."""
    if spec.text is not None:
        text = compile_text(spec.text)

        def render_text(ctx: RenderContext, _seq: int) -> Any:
            return text.render(ctx)

        return render_text, None
    if spec.payload is not None:
        generator = make_generator(spec.payload, rng)

        def generate(ctx: RenderContext, seq: int) -> Any:
            return generator.next(ctx.vu, seq)

        return generate, None
    value: CompiledValue = compile_value(spec.json_body if spec.json_body is not None else {})
    if value.is_static:
        static = value.render(RenderContext(0, 0, rng))

        def constant(_ctx: RenderContext, _seq: int) -> Any:
            return static  # stamp() copies it, so the constant is never changed

        spliceable = isinstance(static, dict) and STAMP_KEY not in static
        return constant, orjson.dumps(static) if spliceable else None

    def render_value(ctx: RenderContext, _seq: int) -> Any:
        return value.render(ctx)

    return render_value, None


def compile_publish(spec: PublishSpec, rng: random.Random) -> CompiledPublish:
    """Text is sent as it is (no stamp fits in it); JSON and payload types are stamped objects."""
    body, static_body = _body_builder(spec, rng)
    return CompiledPublish(compile_text(spec.topic), body, spec.count, spec.rate, static_body)


class NatsPublisher:
    """Runs publish steps on one NATS connection, opened on first use and reopened after a loss."""

    def __init__(self, url: str, recorder: Recorder, *, publisher_id: str = "stb",
                 connect_timeout_s: float = 5.0) -> None:
        parse_url(url)  # a bad URL fails here, before any traffic
        self.url = url
        self.recorder = recorder
        self.publisher_id = publisher_id
        self.connect_timeout_s = connect_timeout_s
        self.sequence = 0
        """Messages numbered across every step this publisher runs, so receivers can spot gaps."""
        self._client: NatsClient | None = None
        self._connecting = asyncio.Lock()

    async def client(self) -> NatsClient | None:
        client = self._client
        if client is not None and not client.is_closed:
            return client
        async with self._connecting:  # concurrent arrivals share one connect
            client = self._client
            if client is not None and not client.is_closed:
                return client
            return await self._connect()

    async def _connect(self) -> NatsClient | None:
        self.recorder.connection_attempt()
        started = time.monotonic_ns()
        try:
            client = await NatsClient.connect(self.url, name=f"streamtestbench-{self.publisher_id}",
                                              timeout_s=self.connect_timeout_s)
        except NatsError as exc:
            self.recorder.connection_failed("Connection timeout" if "no answer" in str(exc) else
                                            "Connection refused" if "cannot connect" in str(exc) else "NATS error")
            return None
        self.recorder.connection_open(time.monotonic_ns() - started)
        self._client = client
        return client

    async def run(self, step: CompiledPublish, ctx: RenderContext, stop: StopSignal,
                  start_ns: int | None = None) -> int:
        """Publish the step's messages on schedule; returns how many reached the socket."""
        first_due = start_ns if start_ns is not None else time.monotonic_ns()
        interval = 0.0 if step.rate is None else 1e9 / step.rate
        sent = 0
        for index in range(step.count):
            if stop.is_set():
                break
            due = first_due + int(index * interval)
            wait_ns = due - time.monotonic_ns()
            if wait_ns > 0 and not await stop.sleep(wait_ns / 1e9):
                break
            if await self.publish_one(step, ctx, due):
                sent += 1
            if interval == 0 and index % BATCH == BATCH - 1:
                await self._yield()
        await self.flush()
        return sent

    async def publish_one(self, step: CompiledPublish, ctx: RenderContext, intended_ns: int) -> bool:
        """One message, recorded as ``nats.publish`` (an error kind when the connection is gone)."""
        client = await self.client()
        self.sequence += 1
        start = time.monotonic_ns()
        if client is None:
            self.recorder.message(PUBLISH_METRIC, intended_ns, start, start, 0, "Connection refused")
            return False
        subject, payload = step.encode(ctx, self.publisher_id, self.sequence)
        try:
            nbytes = client.publish(subject, payload)
        except NatsPayloadTooLarge:
            self.recorder.message(PUBLISH_METRIC, intended_ns, start, start, len(payload), "Payload too large")
            return False
        except NatsError:
            self.recorder.message(PUBLISH_METRIC, intended_ns, start, start, len(payload), "Connection closed")
            return False
        self.recorder.message(PUBLISH_METRIC, intended_ns, start, start, len(payload))
        self.recorder.sent(nbytes)
        return True

    async def _yield(self) -> None:
        client = self._client
        if client is not None:
            await client.drain()
        await asyncio.sleep(0)

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until the server has everything published so far (a PING/PONG round trip)."""
        client = self._client
        if client is None or client.is_closed:
            return False
        try:
            await client.flush(timeout_s)
        except NatsError:
            self.recorder.error("nats flush failed")
            return False
        return True

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(NatsError):
                await client.flush(2.0)
            await client.close()
            self.recorder.connection_closed(None)


# -- a Behaviour for groups whose flow only publishes -------------------------------------------
@dataclass(frozen=True)
class _Think:
    low: float
    high: float


@dataclass(frozen=True)
class _Loop:
    count: int
    ops: tuple[Any, ...]


def _compile_ops(steps: Sequence[Any], rng: random.Random) -> tuple[Any, ...]:
    ops: list[Any] = []
    for step in steps:
        if isinstance(step, PublishStep):
            ops.append(compile_publish(step.publish, rng))
        elif isinstance(step, ThinkStep):
            think = step.think
            low = think.seconds if think.seconds is not None else (think.min or 0.0)
            high = think.seconds if think.seconds is not None else (think.max or 0.0)
            ops.append(_Think(low, high))
        elif isinstance(step, LoopStep):
            ops.append(_Loop(step.loop.count, _compile_ops(step.loop.steps, rng)))
        else:
            raise UnsupportedStep(f"a NATS publisher flow runs publish, think and loop steps, not "
                                  f"{type(step).__name__.removesuffix('Step').lower()}")
    return tuple(ops)


def _first_publish(ops: tuple[Any, ...]) -> CompiledPublish | None:
    for op in ops:
        if isinstance(op, CompiledPublish):
            return op
        if isinstance(op, _Loop) and (found := _first_publish(op.ops)) is not None:
            return found
    return None


def check_flow(scenario: Scenario, url: str | None = None) -> None:
    """Raise :class:`UnsupportedStep` for a flow a NATS publisher cannot run, before any worker starts."""
    ops = _compile_ops(scenario.flow, random.Random(0))
    if _first_publish(ops) is None:
        raise UnsupportedStep("a NATS publisher flow needs at least one publish step")
    specs = [step.publish for step in _walk(scenario.flow) if isinstance(step, PublishStep)]
    for spec in specs:
        found = nats_url_for(spec, scenario, url)
        if found is None:
            raise UnsupportedStep(f"publish to {spec.topic!r}: no NATS server named (give the step a url, "
                                  f"the scenario variable {NATS_URL_VARIABLE!r}, or a nats:// endpoint)")
        try:
            parse_url(found)
        except ValueError as exc:
            raise UnsupportedStep(str(exc)) from None


def _walk(steps: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for step in steps:
        flat.append(step)
        if isinstance(step, LoopStep):
            flat.extend(_walk(step.loop.steps))
    return flat


class NatsPublishBehaviour:
    """Virtual users that publish to NATS (the Behaviour protocol); one connection per user."""

    def __init__(self, scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float,
                 url: str | None = None) -> None:
        check_flow(scenario, url)
        self.scenario = scenario
        self.recorder = recorder
        self.rng = rng
        self.grace_s = grace_s
        self.ops = _compile_ops(scenario.flow, rng)
        first = _first_publish(self.ops)
        assert first is not None
        self.first = first
        spec = next(step.publish for step in _walk(scenario.flow) if isinstance(step, PublishStep))
        url_found = nats_url_for(spec, scenario, url)
        assert url_found is not None
        self.url = url_found
        self._publishers: list[NatsPublisher] = []

    def _publisher(self, unit: int) -> NatsPublisher:
        publisher = NatsPublisher(self.url, self.recorder, publisher_id=f"vu{unit}-{self.rng.getrandbits(32):08x}")
        self._publishers.append(publisher)
        return publisher

    def _context(self, unit: int, iteration: int) -> RenderContext:
        return RenderContext(unit, iteration, self.rng, dict(self.scenario.variables))

    async def _run_ops(self, ops: tuple[Any, ...], publisher: NatsPublisher, ctx: RenderContext,
                       stop: StopSignal, start_ns: int | None) -> None:
        for op in ops:
            if stop.is_set():
                return
            if isinstance(op, CompiledPublish):
                await publisher.run(op, ctx, stop, start_ns)
                start_ns = None
            elif isinstance(op, _Think):
                if not await stop.sleep(self.rng.uniform(op.low, op.high)):
                    return
            elif isinstance(op, _Loop):
                for _ in range(op.count):
                    await self._run_ops(op.ops, publisher, ctx, stop, start_ns)
                    start_ns = None

    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        publisher = self._publisher(unit)
        try:
            if next_due is not None:
                await self._run_paced(unit, publisher, stop, next_due)
                return
            iteration = 0
            while not stop.is_set():
                await self._run_ops(self.ops, publisher, self._context(unit, iteration), stop, None)
                iteration += 1
                if not self.ops or all(isinstance(op, _Think) for op in self.ops):
                    await stop.wait()
        finally:
            await publisher.close()
            with contextlib.suppress(ValueError):
                self._publishers.remove(publisher)

    async def _run_paced(self, unit: int, publisher: NatsPublisher, stop: StopSignal,
                         next_due: Callable[[int], int | None]) -> None:
        """A per-connection rate: message ``i`` of the first publish step at ``next_due(i)``."""
        ctx = self._context(unit, 0)
        index = 0
        while not stop.is_set():
            due = next_due(index)
            if due is None:
                break
            wait_ns = due - time.monotonic_ns()
            if wait_ns > 0 and not await stop.sleep(wait_ns / 1e9):
                break
            await publisher.publish_one(self.first, ctx, due)
            index += 1
        await publisher.flush()

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        publisher = self._shared_publisher()
        await self._run_ops(self.ops, publisher, self._context(unit, 0), stop, scheduled_ns)

    def _shared_publisher(self) -> NatsPublisher:
        """Open-model arrivals reuse one connection: a publish is not a session worth reconnecting for."""
        if not self._publishers:
            return self._publisher(0)
        return self._publishers[0]

    async def close(self) -> None:
        publishers, self._publishers = self._publishers, []
        for publisher in publishers:
            await publisher.close()
