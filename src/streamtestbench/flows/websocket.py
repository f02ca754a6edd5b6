"""WebSocket virtual users: seed 003's flows, seed 000's rate-driven senders, auth headers.

A flow is compiled once into small operations; static messages are encoded once.
Each send records its latency from the moment the schedule intended it.

Generated payloads (``send: {payload: TYPE}`` and the rate sender, which cycles through the
scenario's ``payloads``) come from :mod:`streamtestbench.payloads`. Failure injection applies to
every send: before it, the connection may be dropped (reset, then reopened after the configured
delay, the same message going out on the new connection) and the send may be held back; the
message may drift from its schema; extra copies may follow it, their replies absorbed unmeasured.
With injection on, flows run op by op rather than as a callback chain, since a delay must wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from ..engine.recording import Recorder
from ..engine.stopping import StopSignal
from ..faults import COUNTS, DROP_ERROR, Injector, ReconnectStorm
from ..payloads import PayloadGenerator, make_generator
from ..protocols.matching import SubsetMatch
from ..protocols.websocket import HANDSHAKES_IN_FLIGHT, MeasuredConnection, open_connection
from ..scenario.enums import PayloadType
from ..scenario.flow import (
    ConnectStep,
    DisconnectStep,
    ExpectStep,
    LoopStep,
    SendStep,
    SubscribeStep,
    ThinkStep,
    UnsubscribeStep,
)
from ..scenario.model import Scenario
from ..scenario.plan import build_plan
from .ops import Expect, Think
from .websocket_auth import LOGIN_FAILED, UpgradeCredentials

REPLY_TYPES = {"ping": "pong", "subscribe": "subscribed", "unsubscribe": "unsubscribed",
               "disconnect": "disconnect_ack"}
ONE_WAY_TYPES = frozenset({"broadcast", "publish"})
"""Commands the server answers by fanning out to subscribers, not to the sender: nothing to wait for.

What comes back arrives as server pushes, measured from the server's time stamp (``pushMetrics``)."""
RETRY_DELAY_S = 1.0


CONNECTIONS_PER_SOURCE = 20_000
"""Stay well inside the ~28k ephemeral ports one (source, destination) address pair has."""


def source_hosts(url: str, peak_connections: int) -> list[str]:
    """127.0.0.1, 127.0.0.2, ... as many as the peak needs, for an IPv4 loopback target; else none."""
    host = urlsplit(url).hostname or ""
    needed = math.ceil(peak_connections / CONNECTIONS_PER_SOURCE)
    if needed <= 1 or not (host.startswith("127.") or host == "localhost"):
        return []
    return [f"127.0.0.{index}" for index in range(1, min(needed, 250) + 1)]


class UnsupportedStep(ValueError):
    """A flow step this protocol cannot run (reported before the run, not during it)."""


def websocket_url(endpoint: str, path: str | None = None) -> str:
    """``localhost:8000/ws`` -> ``ws://localhost:8000/ws``; a ``/path`` replaces the endpoint's path."""
    base = endpoint if "://" in endpoint else f"ws://{endpoint}"
    if path is None:
        return base
    if "://" in path:
        return path
    parts = urlsplit(base)
    path_part, _, query = path.partition("?")
    return urlunsplit((parts.scheme, parts.netloc, path_part, query, ""))


@dataclass(frozen=True)
class Send:
    name: str
    payload: bytes | None
    template: dict[str, Any] | None
    reply_type: str | None
    keyed: str | None
    """"t": agent_message matched by its timestamp; "c": matched by correlation_id."""
    text: bool = True
    expect: SubsetMatch | None = None
    """An explicit ``expect`` with more than a type: its reply is found by fields or text."""
    timeout_s: float = 5.0
    payload_type: PayloadType | None = None
    """A generated payload of this type (None: the rate sender's rotation, for generated sends)."""
    size_bytes: int | None = None
    one_way: bool = False
    """Sent and recorded, never answered (``ONE_WAY_TYPES``)."""


@dataclass(frozen=True)
class Connect:
    url: str
    headers: dict[str, str]
    timeout_s: float


@dataclass(frozen=True)
class Loop:
    count: int
    ops: tuple[Any, ...]


@dataclass(frozen=True)
class Disconnect:
    code: int


@dataclass
class CompiledFlow:
    ops: tuple[Any, ...]
    connects: bool
    only_sends: tuple[Send, ...] | None = field(init=False)
    """One pass of the flow as a flat list of sends, when it holds nothing else (run as a chain)."""

    def __post_init__(self) -> None:
        self.only_sends = self._flatten_sends()

    def _flatten_sends(self) -> tuple[Send, ...] | None:
        """One pass of the flow as a flat list of sends, when it holds nothing else."""
        flat: list[Send] = []

        def walk(ops: tuple[Any, ...]) -> bool:
            for op in ops:
                if isinstance(op, Send) and op.expect is None and not op.one_way:
                    flat.append(op)
                elif isinstance(op, Loop):
                    for _ in range(op.count):
                        if not walk(op.ops):
                            return False
                        if len(flat) > 100_000:
                            return False
                else:
                    return False
            return True

        return tuple(flat) if walk(self.ops) and flat else None


def _send_op(message: Any, text: str | None) -> Send:
    if text is not None:
        return Send("ws.text", text.encode(), None, None, None)
    if isinstance(message, dict):
        kind = str(message.get("type", "message"))
        if kind == "agent_message":
            return Send("ws.agent_message", None, message, None, "t")
        return Send(f"ws.{kind}", orjson.dumps(message), None, REPLY_TYPES.get(kind), None,
                    one_way=kind in ONE_WAY_TYPES)
    return Send("ws.message", orjson.dumps(message), None, None, None)


def compile_flow(steps: Sequence[Any], endpoint: str, headers: dict[str, str]) -> CompiledFlow:
    ops: list[Any] = []
    connects = False
    for step in steps:
        if isinstance(step, ConnectStep):
            connects = True
            protocols = {"Sec-WebSocket-Protocol": ", ".join(step.connect.subprotocols)} \
                if step.connect.subprotocols else {}
            ops.append(Connect(websocket_url(endpoint, step.connect.url),
                               {**headers, **step.connect.headers, **protocols},
                               step.connect.timeout_ms / 1000))
        elif isinstance(step, SendStep):
            spec = step.send
            if spec.payload is not None:
                op = Send(f"ws.{spec.payload.value.lower()}", None, {}, None, "c",
                          payload_type=spec.payload, size_bytes=spec.size_bytes)
            else:
                op = _send_op(spec.json_body, spec.text)
            if spec.expect is not None:
                only_type = set(spec.expect.match) == {"type"} and spec.expect.contains is None
                op = dataclasses.replace(
                    op, reply_type=str(spec.expect.match["type"]) if only_type else None,
                    keyed=None if not only_type else op.keyed,
                    expect=None if only_type else SubsetMatch.of(spec.expect.match, spec.expect.contains),
                    timeout_s=spec.expect.timeout_ms / 1000)
            ops.append(op)
        elif isinstance(step, SubscribeStep | UnsubscribeStep):
            verb = "subscribe" if isinstance(step, SubscribeStep) else "unsubscribe"
            spec_c = step.subscribe if isinstance(step, SubscribeStep) else step.unsubscribe
            ops.append(_send_op({"type": verb, "channel": spec_c.channel or spec_c.topic}, None))
        elif isinstance(step, ThinkStep):
            ops.append(Think.of(step))
        elif isinstance(step, LoopStep):
            inner = compile_flow(step.loop.steps, endpoint, headers)
            connects = connects or inner.connects
            ops.append(Loop(step.loop.count, inner.ops))
        elif isinstance(step, DisconnectStep):
            ops.append(Disconnect(step.disconnect.code))
        elif isinstance(step, ExpectStep):
            ops.append(Expect.of(step))
        else:
            raise UnsupportedStep(f"{type(step).__name__} is not a WebSocket step")
    return CompiledFlow(tuple(ops), connects)


class _Interrupted(Exception):
    pass


def _generated_sends(ops: tuple[Any, ...]) -> list[Send]:
    """Every send of a generated payload type in a compiled flow, loops included, in order."""
    found: list[Send] = []
    for op in ops:
        if isinstance(op, Send) and op.payload_type is not None:
            found.append(op)
        elif isinstance(op, Loop):
            found.extend(_generated_sends(op.ops))
    return found


class WebSocketBehaviour:
    def __init__(self, scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float) -> None:
        assert scenario.endpoint is not None
        self.scenario = scenario
        self.recorder = recorder
        self.rng = rng
        self.grace_s = grace_s
        self.url = websocket_url(scenario.endpoint)
        self.credentials = UpgradeCredentials(scenario.authentication, self.url, recorder)
        self.headers: dict[str, str] = {}
        """Headers every upgrade carries besides the credentials (merged in at each open)."""
        self.flow = compile_flow(scenario.flow, scenario.endpoint, self.headers)
        self.payload_types = list(scenario.payloads) or [PayloadType.HEARTBEAT]
        self.counter = 0
        self.source_hosts = source_hosts(self.url, build_plan(scenario).peak_connections)
        self.gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
        # Generators are made up front, in a fixed order, so one seed gives the same identities.
        self.generators: dict[tuple[PayloadType, int | None], PayloadGenerator] = {}
        for kind in self.payload_types:
            self._generator(kind, None)
        for op in _generated_sends(self.flow.ops):
            assert op.payload_type is not None
            self._generator(op.payload_type, op.size_bytes)
        # Faults draw from a stream of their own, seeded from the state without drawing from it, so turning
        # injection on leaves the payloads unchanged (only ints are hashed: PYTHONHASHSEED does not matter).
        fault_rng = random.Random(hash(rng.getstate()[1]) ^ 0xFA17)
        injector = Injector.from_scenario(scenario.failure_injection, fault_rng, recorder)
        self.inject = injector if injector is not None and injector.any_per_message else None
        """None unless some per-message fault can happen: every send checks only this."""
        self.storm = ReconnectStorm.from_scenario(scenario.failure_injection)
        self.started_ns: int | None = None
        """When the first unit started: the storm's clock (the behaviour is made before the run starts)."""

    def source_host(self, unit: int) -> str | None:
        """Spread connections over loopback source addresses so ephemeral ports never run out."""
        return self.source_hosts[unit % len(self.source_hosts)] if self.source_hosts else None

    def _generator(self, kind: PayloadType, size_bytes: int | None) -> PayloadGenerator:
        generator = self.generators.get((kind, size_bytes))
        if generator is None:
            generator = self.generators[(kind, size_bytes)] = make_generator(kind, self.rng, size_bytes,
                                                                                     self.scenario.custom_payload)
        return generator

    # -- connections and injected drops ------------------------------------------------------
    async def _open(self, unit: int, url: str | None = None, headers: dict[str, str] | None = None,
                    timeout_s: float = 10.0) -> MeasuredConnection | None:
        credentials = await self.credentials.headers()
        if credentials is None:
            self.recorder.connection_attempt()
            self.recorder.connection_failed(LOGIN_FAILED)
            return None
        merged = {**(self.headers if headers is None else headers), **credentials}
        conn = await open_connection(self.credentials.url(url or self.url), merged, timeout_s,
                                     self.recorder, self.source_host(unit), self.gate)
        if conn is not None and self.storm is not None:
            now = time.monotonic_ns()
            self.storm.arm(unit, self.started_ns or now, now, functools.partial(self._storm_drop, conn))
        return conn

    def _storm_drop(self, conn: MeasuredConnection) -> None:
        if conn.gone or self.storm is None:
            return
        self.recorder.count(COUNTS.reconnect_storm)
        conn.abort(DROP_ERROR, self.storm.reconnect_delay_s)

    async def _reopen(self, previous: MeasuredConnection | None, unit: int, stop: StopSignal,
                      connect: Connect | None = None) -> MeasuredConnection | None:
        """Open the unit's connection again, after the pause an injected drop asks for."""
        if previous is not None:
            self.recorder.count(COUNTS.reconnects)
            if previous.reopen_delay_s:
                await self._sleep(previous.reopen_delay_s, stop)
        if connect is not None:
            return await self._open(unit, connect.url, connect.headers, connect.timeout_s)
        return await self._open(unit)

    async def _inject_before_send(self, conn: MeasuredConnection, state: dict[str, Any], unit: int,
                                  stop: StopSignal) -> MeasuredConnection | None:
        """Seed 000's drop and delay for one send; the connection to send on (None if none reopened)."""
        inject = self.inject
        assert inject is not None
        if inject.should_drop():
            conn.abort(DROP_ERROR, inject.reconnect_delay_s)
            reopened = await self._reopen(conn, unit, stop, state.get("connect"))
            state["conn"] = reopened
            if reopened is None:
                return None
            conn = reopened
        delay = inject.delay_s()
        if delay:
            await self._sleep(delay, stop)
        return None if conn.gone else conn

    # -- message building ---------------------------------------------------------------
    def _materialise(self, op: Send, unit: int) -> tuple[bytes, Any]:
        inject = self.inject
        if op.payload is not None:
            return (op.payload if inject is None else inject.mutate_bytes(op.payload)), None
        assert op.template is not None
        self.counter += 1
        if op.keyed == "t":
            stamp = time.time_ns() // 1000 * 1000 + self.counter % 1000
            message = dict(op.template)
            message["payload"] = {**message.get("payload", {}), "timestamp": stamp}
            return orjson.dumps(message if inject is None else inject.mutate(message)), ("t", stamp)
        kind = op.payload_type or self.payload_types[self.counter % len(self.payload_types)]
        generated = self._generator(kind, op.size_bytes).next(unit, self.counter)
        key = ("c", generated["correlation_id"])
        return orjson.dumps(generated if inject is None else inject.mutate(generated)), key

    # -- flows -------------------------------------------------------------------------------
    async def _sleep(self, seconds: float, stop: StopSignal) -> None:
        if not await stop.sleep(seconds):
            raise _Interrupted

    async def _exchange(self, conn: MeasuredConnection, op: Send, unit: int, intended_ns: int,
                        stop: StopSignal) -> None:
        payload, key = self._materialise(op, unit)
        if op.one_way:
            copies = 0 if self.inject is None else self.inject.duplicates()
            for _ in range(1 + copies):
                conn.send_untracked(payload, op.text)
            sent = time.monotonic_ns()
            self.recorder.message(op.name, intended_ns, sent, sent, len(payload))
            return
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if op.expect is not None:
            start = time.monotonic_ns()
            conn.await_match(op.expect, op.name, waiter, int(op.timeout_s * 1e9), intended_ns, start, len(payload))
            conn.send_untracked(payload, op.text)
            copies = 0 if self.inject is None else self.inject.duplicates()
            for _ in range(copies):
                conn.send_untracked(payload, op.text)
        else:
            conn.send(payload, op.name, intended_ns, op.reply_type, key, waiter, op.text)
            copies = 0 if self.inject is None else self.inject.duplicates()
            for _ in range(copies):
                conn.send_duplicate(payload, op.reply_type, key, op.text)
        await waiter  # resolved by the reply, the connection's timeout sweep, or its close

    async def _run_ops(self, ops: tuple[Any, ...], state: dict[str, Any], unit: int, stop: StopSignal) -> None:
        for op in ops:
            if stop.is_set():
                raise _Interrupted
            conn: MeasuredConnection | None = state.get("conn")
            if isinstance(op, Send):
                if conn is None or conn.gone:
                    return
                intended = state.pop("due_ns", None) or time.monotonic_ns()
                if self.inject is not None:
                    conn = await self._inject_before_send(conn, state, unit, stop)
                    if conn is None:
                        return
                await self._exchange(conn, op, unit, intended, stop)
            elif isinstance(op, Think):
                await self._sleep(op.seconds(self.rng), stop)
            elif isinstance(op, Loop):
                for _ in range(op.count):
                    await self._run_ops(op.ops, state, unit, stop)
            elif isinstance(op, Connect):
                state["connect"] = op
                state["conn"] = await self._open(unit, op.url, op.headers, op.timeout_s)
                if state["conn"] is None:
                    return
            elif isinstance(op, Disconnect):
                if conn is not None:
                    conn.close(op.code)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)
                state["conn"] = None
            elif isinstance(op, Expect) and conn is not None:
                waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                conn.await_match(op.matcher, "ws.expect", waiter, int(op.timeout_s * 1e9))
                await waiter

    async def _finish(self, conn: MeasuredConnection | None) -> None:
        """Give in-flight messages the grace period, then close cleanly."""
        if conn is None or conn.gone:
            return
        deadline = time.monotonic() + self.grace_s
        while conn.pending_count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        conn.expire_all("Response timeout")
        conn.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)

    def _chain_source(self, sends: tuple[Send, ...], unit: int, forever: bool) -> Any:
        """Messages for a chain: one pass over ``sends``, or cycling until the connection stops."""
        position = 0
        count = len(sends)
        # Static messages are built once; only generated ones (timestamps, ids) are built per send.
        fixed = [(op.payload, op.name, op.reply_type, None) if op.payload is not None else None for op in sends]

        def next_message() -> tuple[bytes, str, str | None, Any] | None:
            nonlocal position
            if position >= count and not forever:
                return None
            index = position % count
            position += 1
            message = fixed[index]
            if message is not None:
                return message
            op = sends[index]
            payload, key = self._materialise(op, unit)
            return payload, op.name, op.reply_type, key

        return next_message

    async def _run_chain(self, conn: MeasuredConnection, sends: tuple[Send, ...], unit: int, intended_ns: int,
                         stop: StopSignal, forever: bool) -> None:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        conn.start_chain(self._chain_source(sends, unit, forever), intended_ns, done)
        stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({done, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                conn.stopping = True  # the chain ends after the message in flight is answered
                deadline = time.monotonic() + self.grace_s
                while not done.done() and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
        finally:
            stopper.cancel()

    def _started(self) -> None:
        if self.started_ns is None:
            self.started_ns = time.monotonic_ns()

    @property
    def _chain_sends(self) -> tuple[Send, ...] | None:
        """The flow as one callback chain, unless injected delays need a task that can wait."""
        return self.flow.only_sends if self.inject is None else None

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        self._started()
        state: dict[str, Any] = {"due_ns": scheduled_ns}
        if not self.flow.connects:
            state["conn"] = await self._open(unit)
        sends = self._chain_sends
        try:
            if sends is not None and state["conn"] is not None:
                await self._run_chain(state["conn"], sends, unit, scheduled_ns, stop, forever=False)
                return
            await self._run_ops(self.flow.ops, state, unit, stop)
        except _Interrupted:
            pass
        finally:
            await self._finish(state.get("conn"))

    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        self._started()
        if next_due is not None or not self.flow.ops:
            await self._run_rate_sender(unit, stop, next_due)
            return
        shared: MeasuredConnection | None = None
        sends = self._chain_sends
        try:
            while not stop.is_set():
                if not self.flow.connects and (shared is None or shared.gone):
                    try:
                        shared = await self._reopen(shared, unit, stop)
                    except _Interrupted:
                        break
                    if shared is None:
                        with contextlib.suppress(_Interrupted):
                            await self._sleep(RETRY_DELAY_S, stop)
                        continue
                if sends is not None and shared is not None:
                    await self._run_chain(shared, sends, unit, time.monotonic_ns(), stop, forever=True)
                    continue
                state: dict[str, Any] = {"conn": shared}
                try:
                    await self._run_ops(self.flow.ops, state, unit, stop)
                except _Interrupted:
                    break
                finally:
                    if not self.flow.connects:
                        shared = state.get("conn") or shared  # an injected drop may have replaced it
                if self.flow.connects:
                    await self._finish(state.get("conn"))
                    if state.get("conn") is None and not stop.is_set():
                        with contextlib.suppress(_Interrupted):
                            await self._sleep(0.0, stop)
        finally:
            await self._finish(shared)

    async def _run_rate_sender(self, unit: int, stop: StopSignal,
                               next_due: Callable[[int], int | None] | None) -> None:
        """Send message ``i`` at ``next_due(i)``; late sends keep their intended time (corrected latency)."""
        op = Send("ws.message", None, {}, None, "c")
        index = 0
        state: dict[str, Any] = {"conn": None}
        limit = self.scenario.rates.max_in_flight if self.scenario.rates else None
        in_flight: deque[asyncio.Future[bool]] = deque()
        try:
            while not stop.is_set():
                conn: MeasuredConnection | None = state["conn"]
                if conn is None or conn.gone:
                    conn = state["conn"] = await self._reopen(conn, unit, stop)
                    if conn is None:
                        await self._sleep(RETRY_DELAY_S, stop)
                        continue
                due = next_due(index) if next_due is not None else time.monotonic_ns()
                if due is None:
                    break
                delay = (due - time.monotonic_ns()) / 1e9
                if delay > 0:
                    await self._sleep(delay, stop)
                if limit is not None:
                    while len(in_flight) >= limit:
                        await in_flight.popleft()
                if self.inject is not None:
                    conn = await self._inject_before_send(conn, state, unit, stop)
                    if conn is None:
                        continue
                elif conn.aborted:
                    continue  # a storm dropped it while this send waited: reopen, then send
                payload, key = self._materialise(op, unit)
                waiter = asyncio.get_running_loop().create_future() if limit is not None else None
                conn.send(payload, "ws.message", due, None, key, waiter)
                if self.inject is not None:
                    for _ in range(self.inject.duplicates()):
                        conn.send_duplicate(payload, None, key)
                if waiter is not None:
                    in_flight.append(waiter)
                index += 1
        except _Interrupted:
            pass
        finally:
            await self._finish(state["conn"])

    async def close(self) -> None:
        return None
