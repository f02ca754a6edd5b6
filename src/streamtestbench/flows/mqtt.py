"""MQTT virtual users: seed 000's rate-driven publishers and publish/subscribe flows.

Without a flow, each connection publishes to ``mqtt.topic`` (``${clientId}``/``${vu}`` resolved per
client) at ``next_due(i)``, or as fast as the in-flight window allows. A flow may ``connect``,
``subscribe``, ``publish``, ``expect``, ``unsubscribe``, ``think``, ``loop`` and ``disconnect``.

Every JSON payload carries a delivery stamp (``flows.delivery``), so a subscriber anywhere in the run
measures end-to-end latency and counts loss, duplicates and reordering per topic and publisher.
Flows are compiled by ``flows.mqtt_flow``; ``check_flow`` is re-exported here for the engine.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..engine.recording import Recorder
from ..engine.stopping import StopSignal
from ..faults import Injector
from ..protocols.mqtt import MQTT_5, MQTT_311, ClientSession, PacketType, PublishEncoder, SessionConfig
from ..protocols.mqtt.codec import Will
from ..protocols.mqtt.measured import MeasuredClient
from ..scenario.enums import AuthType, PayloadType
from ..scenario.model import MqttOptions, Scenario
from ..scenario.plan import build_plan
from ..templating import RenderContext, compile_text
from .delivery import STAMP_TAIL, DeliveryTracker, stamp_bytes
from .mqtt_flow import (
    Bodies,
    Connect,
    Disconnect,
    Expect,
    Loop,
    Publish,
    Subscribe,
    Think,
    check_flow,
    compile_flow,
    generated_bodies,
    mqtt_address,
)
from .websocket import source_hosts

__all__ = ["DELIVER_METRIC", "MqttBehaviour", "check_flow", "compile_flow", "mqtt_address"]

DELIVER_METRIC = "mqtt.deliver"
RETRY_DELAY_S = 1.0
BATCH = 256
"""Messages queued between yields to the event loop when publishing flat out (one write each)."""
CONNECTS_IN_FLIGHT = 256
"""Opening more at once only queues them in the kernel and the broker, inflating connect times."""


# -- per virtual user state -----------------------------------------------------------------------------------
@dataclass
class _Unit:
    """What one virtual user keeps between iterations and reconnects: its session, sequence numbers, tracker."""

    unit: int
    ctx: RenderContext
    client_id: str
    publisher: bytes
    session: ClientSession
    tracker: DeliveryTracker
    seqs: dict[str, int] = field(default_factory=dict)
    encoders: dict[tuple[str, int, bool], PublishEncoder] = field(default_factory=dict)

    def encoder(self, topic: str, qos: int, retain: bool, version: int) -> PublishEncoder:
        key = (topic, qos, retain)
        found = self.encoders.get(key)
        if found is None:
            if len(self.encoders) > 1024:
                self.encoders.clear()
            found = self.encoders[key] = PublishEncoder(topic, qos, retain, version)
        return found


class _Interrupted(Exception):
    pass


class MqttBehaviour:
    def __init__(self, scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float) -> None:
        assert scenario.endpoint is not None
        self.scenario = scenario
        self.recorder = recorder
        self.rng = rng
        self.grace_s = grace_s
        self.options = scenario.mqtt or MqttOptions()
        self.version = MQTT_5 if self.options.version == "5" else MQTT_311
        self.address = mqtt_address(scenario.endpoint)
        self.flow = compile_flow(scenario.flow, rng, scenario.custom_payload)
        self.topic = compile_text(self.options.topic)
        self.client_id = compile_text(self.options.client_id)
        types = scenario.payloads or [PayloadType.HEARTBEAT]  # as WebSocket senders: the smallest realistic message
        self.paced_bodies = generated_bodies(types, rng, fresh=True, custom_payload=scenario.custom_payload)
        self.flat_out_bodies = generated_bodies(types, rng, fresh=False, custom_payload=scenario.custom_payload)
        self.injector = Injector.from_scenario(scenario.failure_injection, rng, recorder)
        self.units: dict[int, _Unit] = {}
        self.username, self.password = self._credentials()
        self.gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)
        host, port = self.address
        self.source_hosts = source_hosts(f"mqtt://{host}:{port}", build_plan(scenario).peak_connections)

    async def _open(self, client: MeasuredClient, address: tuple[str, int] | None = None,
                    timeout_s: float = 10.0) -> bool:
        """Connect through the gate, from the client's loopback source address (so ports never run out)."""
        host, port = address or self.address
        async with self.gate:
            return await client.connect(host, port, timeout_s, client.local_host)

    def _credentials(self) -> tuple[str | None, str | None]:
        options = self.options
        auth = self.scenario.authentication
        if options.username is None and auth is not None and auth.type is AuthType.BASIC_AUTH:
            return str(auth.credentials.get("username")), str(auth.credentials.get("password"))
        return options.username, options.password

    def _unit(self, unit: int) -> _Unit:
        found = self.units.get(unit)
        if found is not None:
            return found
        ctx = RenderContext(vu=unit, iteration=0, rng=self.rng, variables=dict(self.scenario.variables))
        client_id = self.client_id.render(ctx)
        ctx.variables["clientId"] = client_id
        options = self.options
        will = None if options.will is None else Will(
            compile_text(options.will.topic).render(ctx), options.will.payload.encode(), options.will.qos,
            options.will.retain)
        session = ClientSession(SessionConfig(
            client_id=client_id, version=self.version, clean=options.clean_session,
            keepalive_s=options.keepalive_seconds, username=self.username, password=self.password, will=will))
        state = _Unit(unit, ctx, client_id, orjson.dumps(client_id), session,
                      DeliveryTracker(self.recorder, DELIVER_METRIC))
        self.units[unit] = state
        return state

    def _client(self, state: _Unit) -> MeasuredClient:
        if self.options.clean_session:
            state.session = ClientSession(state.session.config)
        client = MeasuredClient(state.session, self.recorder, max_inflight=self.options.max_inflight,
                                on_delivery=state.tracker.observe, keep_recent=self.flow.expects)
        if self.source_hosts:
            client.local_host = self.source_hosts[state.unit % len(self.source_hosts)]
        return client

    # -- helpers -----------------------------------------------------------------------------------------------
    async def _sleep(self, seconds: float, stop: StopSignal) -> None:
        if not await stop.sleep(seconds):
            raise _Interrupted

    async def _connect(self, client: MeasuredClient, stop: StopSignal) -> bool:
        """One attempt at the scenario's endpoint; a failure waits ``RETRY_DELAY_S`` before the next."""
        if await self._open(client):
            return True
        await self._sleep(RETRY_DELAY_S, stop)
        return False

    async def _ensure_open(self, client: MeasuredClient, stop: StopSignal, ever_opened: bool) -> None:
        """Connect (again) until it works or the run stops; a second opening counts as a reconnect."""
        while not client.is_open:
            if stop.is_set():
                raise _Interrupted
            if ever_opened:
                self.recorder.count("reconnects")
            if await self._connect(client, stop):
                return

    def _emit(self, client: MeasuredClient, state: _Unit, encoder: PublishEncoder, topic: str, bodies: Bodies,
              intended_ns: int) -> None:
        """Build one stamped payload and publish it (plus any injected duplicates)."""
        seq = state.seqs.get(topic, 0)
        state.seqs[topic] = seq + 1
        body = bodies.next(state.ctx, seq)
        injector = self.injector
        if injector is not None and injector.any_per_message:
            body = injector.mutate_bytes(body)
        if body[-1:] == b"}" and body[:1] == b"{":
            body = stamp_bytes(body, state.publisher, seq, time.time_ns())
        client.publish(encoder, body, intended_ns)
        if injector is not None and injector.any_per_message:
            for _ in range(injector.duplicates()):
                client.publish(encoder, body, intended_ns)

    def _emit_batch(self, client: MeasuredClient, state: _Unit, encoder: PublishEncoder, topic: str,
                    pool: list[bytes], count: int) -> None:
        """``count`` stamped QoS 0 publishes in one go: the flat-out publisher's hot path.

        ``pool`` holds JSON object bodies with their closing brace cut off, ready for a stamp.
        """
        first = state.seqs.get(topic, 0)
        state.seqs[topic] = first + count
        publisher = state.publisher
        clock = time.time_ns
        size = len(pool)
        tail = STAMP_TAIL
        client.publish_batch(encoder, [(pool[seq % size], tail % (publisher, seq, clock()))
                                       for seq in range(first, first + count)])

    def _pooled_emitter(self, client: MeasuredClient, state: _Unit, encoder: PublishEncoder, topic: str,
                        bodies: Bodies) -> Callable[[], None]:
        """One stamped publish per call, from pre-cut pooled bodies when they fit (the QoS 1/2 refill path)."""
        if not bodies.poolable:
            return lambda: self._emit(client, state, encoder, topic, bodies, time.monotonic_ns())
        pool = bodies.open_pool(state.ctx)
        size = len(pool)
        publisher = state.publisher
        seqs = state.seqs
        publish = client.publish
        clock = time.time_ns
        monotonic = time.monotonic_ns
        tail = STAMP_TAIL

        def emit() -> None:
            seq = seqs.get(topic, 0)
            seqs[topic] = seq + 1
            publish(encoder, pool[seq % size] + tail % (publisher, seq, clock()), monotonic())

        return emit

    async def _before_send(self, client: MeasuredClient, stop: StopSignal) -> None:
        """Injected connection drops and delays, decided per message."""
        injector = self.injector
        if injector is None or not injector.any_per_message:
            return
        if injector.should_drop():
            client.abort("injected connection drop")
            await self._sleep(injector.reconnect_delay_s, stop)
            await self._ensure_open(client, stop, ever_opened=True)
        delay = injector.delay_s()
        if delay:
            await self._sleep(delay, stop)

    # -- publisher without a flow ------------------------------------------------------------------------------
    async def _publish_forever(self, client: MeasuredClient, state: _Unit, stop: StopSignal,
                               next_due: Callable[[int], int | None] | None) -> None:
        options = self.options
        topic = self.topic.render(state.ctx)
        encoder = state.encoder(topic, options.qos, options.retain, self.version)
        bodies = self.paced_bodies if next_due is not None else self.flat_out_bodies
        plain = self.injector is None or not self.injector.any_per_message
        if next_due is None and plain:
            if options.qos:
                await self._saturate_window(client, state, encoder, topic, bodies, stop)
            else:
                await self._flood(client, state, encoder, topic, bodies, stop)
            return
        index = 0
        opened = False
        while not stop.is_set():
            if not client.is_open:
                await self._ensure_open(client, stop, opened)
            opened = True
            due = next_due(index) if next_due is not None else time.monotonic_ns()
            if due is None:
                return
            delay = (due - time.monotonic_ns()) / 1e9
            if delay > 0:
                await self._sleep(delay, stop)
            await self._before_send(client, stop)
            if encoder.qos and not client.has_room:
                await client.wait_room()
            if not client.is_open:
                continue
            self._emit(client, state, encoder, topic, bodies, due)
            index += 1
            if index % BATCH == 0:
                if not client.conn or client.conn.writable:
                    await asyncio.sleep(0)
                else:
                    await client.conn.drain()

    async def _flood(self, client: MeasuredClient, state: _Unit, encoder: PublishEncoder, topic: str,
                     bodies: Bodies, stop: StopSignal) -> None:
        """QoS 0 flat out: a batch per event-loop turn, waiting whenever the socket's buffer is full."""
        pool = bodies.open_pool(state.ctx)
        opened = False
        while not stop.is_set():
            if not client.is_open:
                await self._ensure_open(client, stop, opened)
            opened = True
            self._emit_batch(client, state, encoder, topic, pool, BATCH)
            conn = client.conn
            if conn is not None and not conn.writable:
                await conn.drain()
            else:
                await asyncio.sleep(0)

    async def _saturate_window(self, client: MeasuredClient, state: _Unit, encoder: PublishEncoder, topic: str,
                               bodies: Bodies, stop: StopSignal) -> None:
        """QoS 1/2 flat out until stopped, reconnecting when the connection drops."""
        opened = False
        while not stop.is_set():
            await self._ensure_open(client, stop, opened)
            opened = True
            await self._fill_window(client, state, encoder, topic, bodies, stop, None)

    async def _fill_window(self, client: MeasuredClient, state: _Unit, encoder: PublishEncoder, topic: str,
                           bodies: Bodies, stop: StopSignal, count: int | None) -> None:
        """Keep the in-flight window full for ``count`` messages (None: until stopped or disconnected).

        Each ack publishes the next message from inside the read callback: no task switch, no Future per message.
        """
        loop = asyncio.get_running_loop()
        queued: asyncio.Future[None] = loop.create_future()
        remaining = [count if count is not None else -1]
        emit = self._pooled_emitter(client, state, encoder, topic, bodies)

        def refill() -> None:
            while remaining[0] and client.has_room and client.is_open and not stop.is_set():
                remaining[0] -= 1
                emit()
            if not remaining[0] and not queued.done():
                queued.set_result(None)

        assert client.conn is not None
        closed: asyncio.Future[Any] = client.conn.closed
        stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        client.refill = refill
        try:
            refill()
            await asyncio.wait({queued, closed, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            client.refill = None
            stopper.cancel()

    # -- flows -------------------------------------------------------------------------------------------------
    async def _run_ops(self, ops: tuple[Any, ...], client: MeasuredClient, state: _Unit, stop: StopSignal,
                       first_due: list[int]) -> None:
        for op in ops:
            if stop.is_set():
                raise _Interrupted
            if isinstance(op, Publish):
                if client.is_open:
                    await self._publish_step(op, client, state, stop, first_due)
            elif isinstance(op, Subscribe):
                if client.is_open:
                    kind = PacketType.UNSUBSCRIBE if op.unsubscribe else PacketType.SUBSCRIBE
                    if not op.unsubscribe:
                        state.tracker.rejoin()
                    intended = first_due.pop() if first_due else time.monotonic_ns()
                    await client.request(kind, op.topic.render(state.ctx), op.qos, intended)
            elif isinstance(op, Think):
                await self._sleep(op.seconds(self.rng), stop)
            elif isinstance(op, Loop):
                for _ in range(op.count):
                    await self._run_ops(op.ops, client, state, stop, first_due)
            elif isinstance(op, Expect):
                if client.is_open:
                    await client.expect(op.matcher, op.timeout_s)
            elif isinstance(op, Connect):
                if not client.is_open and not await self._open(client, op.address, op.timeout_s):
                    await self._sleep(RETRY_DELAY_S, stop)  # the rest of this pass is skipped: pace the retries
            elif isinstance(op, Disconnect) and client.is_open:
                await client.settle(self.grace_s)
                await client.close()

    async def _publish_step(self, op: Publish, client: MeasuredClient, state: _Unit, stop: StopSignal,
                            first_due: list[int]) -> None:
        topic = op.topic.render(state.ctx)
        encoder = state.encoder(topic, op.qos, op.retain, self.version)
        plain = self.injector is None or not self.injector.any_per_message
        if not op.rate and plain and op.qos:
            await self._fill_window(client, state, encoder, topic, op.bodies, stop, op.count)
            return
        if not op.rate and plain and op.bodies.poolable:
            await self._publish_batches(op, client, state, encoder, topic, stop)
            return
        period_ns = int(1e9 / op.rate) if op.rate else 0
        start = first_due.pop() if first_due else time.monotonic_ns()
        for index in range(op.count):
            intended = start + index * period_ns if period_ns or not index else time.monotonic_ns()
            if period_ns:
                delay = (intended - time.monotonic_ns()) / 1e9
                if delay > 0:
                    await self._sleep(delay, stop)
            elif index and index % BATCH == 0:
                await asyncio.sleep(0)
                if client.conn is not None and not client.conn.writable:
                    await client.conn.drain()
            if stop.is_set():
                raise _Interrupted
            await self._before_send(client, stop)
            if op.qos and not client.has_room:
                await client.wait_room()
            if not client.is_open:
                return
            self._emit(client, state, encoder, topic, op.bodies, intended)

    async def _publish_batches(self, op: Publish, client: MeasuredClient, state: _Unit, encoder: PublishEncoder,
                               topic: str, stop: StopSignal) -> None:
        """An unpaced QoS 0 publish step: stamped batches, one write each, waiting when the socket is full."""
        pool = op.bodies.open_pool(state.ctx)
        remaining = op.count
        while remaining > 0 and client.conn is not None and client.is_open:
            if stop.is_set():
                raise _Interrupted
            count = min(BATCH, remaining)
            self._emit_batch(client, state, encoder, topic, pool, count)
            remaining -= count
            if not client.conn.writable:
                await client.conn.drain()
            elif remaining:
                await asyncio.sleep(0)

    async def _finish(self, client: MeasuredClient) -> None:
        if client.is_open:
            await client.settle(self.grace_s)
            await client.close()
        else:
            await client.settle(0)

    # -- Behaviour ---------------------------------------------------------------------------------------------
    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        state = self._unit(unit)
        client = self._client(state)
        try:
            if not self.flow.ops:
                await self._publish_forever(client, state, stop, next_due)
                return
            opened = False
            while not stop.is_set():
                if not self.flow.connects:
                    await self._ensure_open(client, stop, opened and not self.flow.disconnects)
                    opened = True
                state.ctx.iteration += 1
                await self._run_ops(self.flow.ops, client, state, stop, [])
                if self.flow.connects:
                    await self._finish(client)
                    await asyncio.sleep(0)
        except _Interrupted:
            pass
        finally:
            await self._finish(client)

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        state = self._unit(unit)
        client = self._client(state)
        state.ctx.iteration += 1
        try:
            if not self.flow.connects and not await self._open(client):
                return
            if not self.flow.ops:
                topic = self.topic.render(state.ctx)
                encoder = state.encoder(topic, self.options.qos, self.options.retain, self.version)
                self._emit(client, state, encoder, topic, self.paced_bodies, scheduled_ns)
                return
            await self._run_ops(self.flow.ops, client, state, stop, [scheduled_ns])
        except _Interrupted:
            pass
        finally:
            await self._finish(client)

    async def close(self) -> None:
        return None
