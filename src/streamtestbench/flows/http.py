"""HTTP virtual users (seed 004): request, think and loop steps, plus GraphQL, JSON-RPC and MCP calls.

The flow is compiled once (``http_steps``). A virtual user is a small state machine driven by
callbacks: a response arrives in ``data_received``, is judged and recorded, and the next request
leaves from the same callback, with no task switch or future per request. Only the rare steps that
must wait on something else (opening a connection, logging in, an MCP initialize, a redirect, a
subscription) run as a short task and then hand control back to the callbacks. A response is parsed
only as far as its step reads it: the status alone, the body too, or the headers as well.

A request URL that starts with ``/`` is sent to the endpoint's origin (its path replaced, as for
WebSocket connects); an absolute ``http(s)://`` URL may name another loopback origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any
from urllib.parse import urljoin

from ..engine.recording import Recorder
from ..engine.stopping import StopSignal
from ..faults import Injector
from ..protocols.http_client import (
    REDIRECT_STATUSES,
    ConnectionPool,
    Connector,
    HttpConnection,
    IdleConnections,
    Tally,
    split_url,
)
from ..protocols.http_codec import header_lines
from ..protocols.http_types import HttpError
from ..scenario.model import Scenario
from ..scenario.plan import build_plan
from ..templating import CsvFeeder, RenderContext, TemplateError
from .http_auth import AuthProvider, AuthState
from .http_faults import drift_request, send_duplicates
from .http_steps import (
    NO_HEADERS,
    REQUEST,
    THINK,
    Op,
    RequestOp,
    RpcOp,
    ThinkOp,
    check_flow,
    compile_flow,
    declared,
    flatten,
    has_requests,
    http_endpoint,
    status_kind,
    walk,
)

__all__ = ["HttpBehaviour", "check_flow", "compile_flow", "http_endpoint"]

RETRY_DELAY_S = 1.0
"""Pause after a failed connect or login, so a dead target is not hammered by a reconnect storm."""
IDLE_CONNECTIONS = 1024
IDLE_SESSIONS = 4096
FLUSH_INTERVAL_S = 0.5
_LOG = logging.getLogger("streamtestbench.http")


# -- virtual users ----------------------------------------------------------------------------
def _settled() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class Session:
    """What a virtual user keeps between passes (and open-model arrivals reuse): connections, credentials."""

    def __init__(self, pool: ConnectionPool, auth: AuthState) -> None:
        self.pool = pool
        self.auth = auth
        self.prepared: dict[Any, tuple[dict[str, str], bytes]] = {}


class VirtualUser:
    """Runs passes of the flow from callbacks; ``run`` returns a future that settles when it stops."""

    __slots__ = ("auth", "b", "conn", "context", "ctx", "done", "due_ns", "faults_drawn", "feeder", "flat", "forever",
                 "grace", "halted", "intended_ns", "loop", "message", "on_stop", "op", "ops", "pool", "position",
                 "respond", "retire", "retried", "session", "start_ns", "started", "statuses", "stop", "stopped",
                 "task", "timer")

    def __init__(self, behaviour: HttpBehaviour, unit: int, session: Session, stop: StopSignal) -> None:
        self.b = behaviour
        self.session = session
        self.auth = session.auth
        self.pool = session.pool
        self.stop = stop
        self.loop = asyncio.get_running_loop()
        self.ctx = RenderContext(vu=unit, iteration=0, rng=behaviour.rng, variables=dict(behaviour.variables))
        self.context = contextvars.copy_context()
        """RPC calls pair a response with the id their ``build`` drew through a context variable."""
        self.ops: Iterator[Op] = iter(())
        self.flat = behaviour.flat
        """One pass as a flat tuple (walked by ``position``), or None when loops are too long to unroll."""
        self.feeder = behaviour.feeder
        self.position = 0
        self.forever = False
        self.due_ns: int | None = None
        self.done: asyncio.Future[None] | None = None
        self.op: RequestOp | RpcOp | None = None
        self.intended_ns = 0
        self.start_ns = 0
        self.conn: HttpConnection | None = None
        self.retried = False
        self.faults_drawn = False
        """This request's failure injections are drawn (``HttpBehaviour.inject``)."""
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.started = False
        self.halted = False
        """Set by ``interrupt`` when the run stops: read on the hot path instead of calling the stop signal."""
        # Bound once: the hot path calls these for every request.
        self.stopped = stop.is_set
        self.message = behaviour.recorder.message
        self.statuses = behaviour.tally.statuses
        self.respond = self._on_fast_response if behaviour.fast else self._on_response
        self.on_stop = self._stopped_arrival
        self.retire = self._retire
        self.grace: asyncio.TimerHandle | None = None
        """Open-model arrivals without a task: the grace period's end after a stop (``_stopped_arrival``)."""

    def rebind(self, unit: int, stop: StopSignal) -> None:
        """Serve another open-model arrival (as k6 reuses its VUs): fresh variables, the same session.

        Reuse keeps an arrival from allocating a user, a context and bound methods; less garbage
        means fewer collector pauses, which at 20,000 arrivals/s would otherwise drop iterations.
        """
        self.stop = stop
        self.stopped = stop.is_set
        self.ctx = RenderContext(vu=unit, iteration=0, rng=self.b.rng, variables=dict(self.b.variables))
        self.started = self.halted = self.retried = self.faults_drawn = False
        self.done = self.op = self.conn = self.timer = self.task = None

    @property
    def idle(self) -> bool:
        """Nothing of a pass is left running: no think timer, no task, its pass resolved."""
        return (self.timer is None and (self.task is None or self.task.done())
                and (self.done is None or self.done.done()))

    # -- passes -----------------------------------------------------------------------------
    def run(self, forever: bool, due_ns: int | None) -> asyncio.Future[None]:
        self.forever = forever
        self.done = done = self.loop.create_future()
        self._begin_pass(due_ns)
        self._advance()
        return done

    def _begin_pass(self, due_ns: int | None) -> None:
        ctx = self.ctx
        if self.started:
            ctx.iteration += 1
        self.started = True
        if self.flat is None:
            self.ops = walk(self.b.ops)
        self.position = 0
        self.due_ns = due_ns
        if ctx.missing or self.feeder is not None:
            self._pass_extras(ctx)

    def _pass_extras(self, ctx: RenderContext) -> None:
        """What a new pass needs beyond its number: missing names reported, the next data row merged in."""
        if ctx.missing:
            self.b.report_missing(ctx.missing)
        if self.feeder is not None:
            ctx.variables.update(self.feeder.row(ctx.vu, ctx.iteration, self.b.rng))

    def _advance(self) -> None:
        """Run steps until one must wait (a response, a think, a task), or the pass or run ends."""
        stopped = self.stopped
        flat = self.flat
        while True:
            if stopped():
                self.finish()
                return
            if flat is not None:
                position = self.position
                op = flat[position] if position < len(flat) else None
                self.position = position + 1
            else:
                op = next(self.ops, None)
            if op is None:
                if not self.forever:
                    self.finish()
                    return
                self._begin_pass(None)
                continue
            kind = op.kind
            if kind == REQUEST:
                request: RequestOp | RpcOp = op  # type: ignore[assignment]
                now = time.monotonic_ns()
                due = self.due_ns
                if due is None:
                    self.intended_ns = now
                else:
                    self.intended_ns = due
                    self.due_ns = None
                self.op = request
                self.retried = self.faults_drawn = False
                self._send(request, now)
                return
            if kind == THINK:
                assert isinstance(op, ThinkOp)
                delay = op.low if op.low == op.high else self.b.rng.uniform(op.low, op.high)
                if delay > 0:
                    self.timer = self.loop.call_later(delay, self._after_think)
                    return
                continue
            assert isinstance(op, RpcOp)
            self._spawn(self._subscribe(op))
            return

    def _after_think(self) -> None:
        self.timer = None
        self._advance()

    def finish(self) -> None:
        done = self.done
        if done is not None and not done.done():
            done.set_result(None)

    def interrupt(self) -> None:
        """Stop now unless a request is in flight (that one gets the grace period)."""
        self.halted = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.finish()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    # -- open-model arrivals without a task (HttpBehaviour.start_iteration) -------------------
    def _stopped_arrival(self) -> None:
        """The run stopped mid-pass: as ``_until_done``, a request in flight gets the grace period."""
        self.interrupt()
        done = self.done
        if done is not None and not done.done():
            self.grace = self.loop.call_later(self.b.grace_s, self._grace_over)

    def _grace_over(self) -> None:
        self.grace = None
        if self.done is not None and not self.done.done():
            self.pool.abort()  # the request still in flight is recorded as a timeout
            self.interrupt()
            self.finish()

    def _retire(self, _: asyncio.Future[None]) -> None:
        """The pass ended: hand the connections back and wait, with the session, for the next arrival."""
        self.stop.discard(self.on_stop)
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None
        self.pool.release()
        self.b.idle_user(self)

    # -- requests ---------------------------------------------------------------------------
    def _send(self, op: RequestOp | RpcOp, now: int) -> None:
        inject = self.b.inject
        if inject is not None and not self.faults_drawn:
            self.faults_drawn = True  # once per request: a reconnect or login on its way must not draw again
            pause = 0.0
            if inject.should_drop():
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                pause = inject.reconnect_delay_s
            delay = pause + inject.delay_s()
            if delay > 0 or self.conn is None:
                self._spawn(self._send_later(delay, op))
                return
        auth = self.auth
        if now >= auth.refresh_at_ns:
            self._spawn(self._refresh_then_send(op))
            return
        conn = self.conn
        if conn is None or not conn.reusable or conn.origin is not op.origin:
            conn = self.pool.ready(op.origin)
            if conn is None:
                self._spawn(self._connect_then_send(op))
                return
            self.conn = conn
        try:
            data = op.encode(self)
        except (ValueError, TemplateError):
            self._record(op, time.monotonic_ns(), 0, "invalid request")
            self.loop.call_soon(self._advance)
            return
        if data is None:
            assert isinstance(op, RpcOp)
            self._spawn(self._prepare_then_send(op))
            return
        if inject is not None:
            data = drift_request(inject, data)
            copies = inject.duplicates()
            if copies:
                self.b.keep(send_duplicates(self.b.connector, op.origin, data, copies, op.mode, op.head))
        self.start_ns = now
        conn.send(data, self.respond, now, op.timeout_ns, op.mode, op.head)

    async def _send_later(self, seconds: float, op: RequestOp | RpcOp) -> None:
        """An injected delay or reconnect pause: the request keeps its intended time, so it shows in latency."""
        if not await self.stop.sleep(seconds):
            self.finish()
            return
        self._send(op, time.monotonic_ns())

    def _on_response(self, status: int, headers: dict[str, str] | None, body: bytes | None, nbytes: int,
                     error: str | None) -> None:
        end = time.monotonic_ns()
        op = self.op
        assert op is not None
        captured: dict[str, Any] | None = None
        if error is None:
            self.statuses[status // 100] += 1
            if status == 401 and self.auth.can_relogin and not self.retried:
                self.retried = True
                self._spawn(self._relogin_then_send(op))
                return
            if op.follow and status in REDIRECT_STATUSES and headers and "location" in headers:
                assert isinstance(op, RequestOp)
                self._spawn(self._follow(op, status, headers["location"]))
                return
            if op.checks is None:
                if status >= 400:
                    error = status_kind(status)
            else:
                error, captured = op.judge(self, status, headers, body)
        else:
            conn = self.conn
            self.conn = None
            if error == "connection error" and not nbytes and conn is not None and conn.served \
                    and not self.retried:
                self.retried = True  # a kept-alive connection the server had just closed: resend once
                self._spawn(self._connect_then_send(op))
                return
            self.b.recorder.count("http.timeout" if error == "timeout" else "http.connection_error")
        self.message(op.name, self.intended_ns, self.start_ns, end, nbytes, error)
        if captured:
            self.ctx.variables.update(captured)
        self._advance()

    def _on_fast_response(self, status: int, headers: dict[str, str] | None, body: bytes | None, nbytes: int,
                          error: str | None) -> None:
        """``_on_response`` for flows of requests judged from the status and body alone (``HttpBehaviour.fast``):
        judge and record, then send the next request straight from this callback. Anything unusual (an error,
        a 401, credentials to renew, a new connection) takes the general path.

        Written for the interpreter: every attribute read here is paid for on every request.
        """
        if error is not None or status == 401:
            self._on_response(status, headers, body, nbytes, error)
            return
        end = time.monotonic_ns()
        op: RequestOp = self.op  # type: ignore[assignment]
        self.statuses[status // 100] += 1
        apply_checks = op.apply_checks
        if apply_checks is not None and (status < 400 or op.status_checked):
            error = apply_checks(status, headers or NO_HEADERS, body or b"", self.ctx)
        elif status >= 400 or op.accepted is not None:
            error = op.status_error(status)
        self.message(op.name, self.intended_ns, self.start_ns, end, nbytes, error)
        if self.halted:
            self.finish()
            return
        position = self.position
        flat: tuple[RequestOp, ...] = self.flat  # type: ignore[assignment]
        if position == len(flat):
            if not self.forever:
                self.finish()
                return
            position = 0
            ctx = self.ctx
            ctx.iteration += 1
            if ctx.missing or self.feeder is not None:
                self._pass_extras(ctx)
        nxt = flat[position]
        conn = self.conn
        auth = self.auth
        if conn is not None and conn.reusable and conn.origin is nxt.origin and end < auth.refresh_at_ns:
            if nxt.static:
                data = auth.cache.get(nxt.index)  # None until the general path has encoded it once
            else:
                try:
                    data = nxt.build(self.ctx, auth)
                except (ValueError, TemplateError):
                    self.position = position + 1
                    self.op = nxt
                    self.intended_ns = self.start_ns = end
                    self._record(nxt, end, 0, "invalid request")
                    self.loop.call_soon(self._advance)
                    return
            if data is not None:
                self.position = position + 1
                self.op = nxt
                self.retried = False
                self.intended_ns = self.start_ns = end  # sent now: ready since the last response came in
                conn.send(data, self.respond, end, nxt.timeout_ns, nxt.mode, nxt.head)
                return
        self.position = position
        self._advance()

    def _record(self, op: RequestOp | RpcOp, end: int, nbytes: int, error: str | None) -> None:
        self.b.recorder.message(op.name, self.intended_ns, self.start_ns or end, end, nbytes, error)

    # -- the slow path: short tasks that hand back to the callbacks ----------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = self.task = self.loop.create_task(work)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if self.task is task:
            self.task = None
        if task.cancelled():
            self.finish()
        else:
            error = task.exception()
            if error is not None:  # a bug, not the target's doing: count it, show the first one, stop this user
                kind = f"http flow: {type(error).__name__}"
                if kind not in self.b.reported_once:
                    self.b.reported_once.add(kind)
                    _LOG.error("%s in a virtual user's flow", kind, exc_info=error)
                self.b.recorder.error(kind)
                self.finish()

    async def _pause_then_advance(self) -> None:
        await self.stop.sleep(RETRY_DELAY_S)
        self._advance()

    async def _connect_then_send(self, op: RequestOp | RpcOp) -> None:
        kind: str | None = None
        try:
            self.conn = await self.pool.connect(op.origin)
        except HttpError as failure:
            kind = failure.kind
        if kind is None and (self.conn is None or not self.conn.reusable):
            kind = "connection error"  # closed as soon as it opened: never retry at once
        if kind is not None:
            self.start_ns = time.monotonic_ns()
            self.b.recorder.count("http.timeout" if kind == "timeout" else "http.connection_error")
            self._record(op, self.start_ns, 0, kind)
            await self._pause_then_advance()
            return
        self._send(op, time.monotonic_ns())

    async def _refresh_then_send(self, op: RequestOp | RpcOp) -> None:
        if await self.auth.refresh(self.pool) is not None:
            self.start_ns = time.monotonic_ns()
            self._record(op, self.start_ns, 0, "login failed")
            await self._pause_then_advance()
            return
        self._send(op, time.monotonic_ns())

    async def _relogin_then_send(self, op: RequestOp | RpcOp) -> None:
        if await self.auth.relogin(self.pool) is not None:
            self._record(op, time.monotonic_ns(), 0, "HTTP 4xx")
            await self._pause_then_advance()
            return
        self._send(op, time.monotonic_ns())

    async def _prepare_then_send(self, op: RpcOp) -> None:
        try:
            extra = await op.call.prepare(self.pool, dict(self.auth.headers))
        except HttpError as failure:
            self.start_ns = time.monotonic_ns()
            self._record(op, self.start_ns, 0, failure.kind)
            await self._pause_then_advance()
            return
        self.session.prepared[op.key] = (extra, header_lines(extra.items()))
        self._send(op, time.monotonic_ns())

    async def _follow(self, op: RequestOp, status: int, location: str) -> None:
        """Follow a redirect (up to 5 in all) and judge where it leads; latency covers every hop."""
        ctx = self.ctx
        target = op.static_target if op.target.is_static else op.target.render(ctx)
        url = urljoin(f"{op.origin.url}{target}", location)
        method = op.method
        body = op.body(ctx)
        if status == 303 or (status in (301, 302) and method == "POST"):
            method, body = ("HEAD" if method == "HEAD" else "GET"), None
        headers = dict(self.auth.headers)
        headers.update((name, value.render(ctx)) for name, value in op.dynamic_headers)
        nbytes, error, captured = 0, None, None
        try:
            response = await self.pool.request(method, url, headers, body, op.timeout_ns / 1e9,
                                               follow_redirects=True, max_redirects=4)
        except HttpError as failure:
            error = failure.kind
            self.b.recorder.count("http.timeout" if error == "timeout" else "http.connection_error")
        else:
            nbytes = len(response.body)
            self.b.tally.statuses[response.status // 100] += 1
            error, captured = op.judge(self, response.status, response.headers, response.body)
        self.b.recorder.message(op.name, self.intended_ns, self.start_ns, time.monotonic_ns(), nbytes, error)
        if captured:
            ctx.variables.update(captured)
        self.conn = None
        self._advance()

    async def _subscribe(self, op: RpcOp) -> None:
        prepared = self.session.prepared.get(op.key, ({}, b""))[0]
        await op.call.run_subscription(self.ctx, {**self.auth.headers, **prepared}, self.b.recorder, self.stop)
        self._advance()


# -- the behaviour ----------------------------------------------------------------------------
class HttpBehaviour:
    """Runs HTTP, GraphQL and JSON-RPC/MCP flows for the closed, rate and open models."""

    def __init__(self, scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float) -> None:
        assert scenario.endpoint is not None
        self.scenario = scenario
        self.recorder = recorder
        self.rng = rng
        self.grace_s = grace_s
        self.variables: dict[str, Any] = dict(scenario.variables)
        self.feeder = self._load_feeder(scenario)
        names = declared(scenario) | frozenset(self.feeder.fields if self.feeder is not None else ())
        self.base = split_url(http_endpoint(scenario.endpoint))[0]
        self.ops = compile_flow(scenario.flow, scenario.endpoint, names, base=self.base)
        self.flat = flatten(self.ops)
        self.has_requests = has_requests(self.ops)
        injector = Injector.from_scenario(scenario.failure_injection, random.Random(rng.random()), recorder)
        self.inject = injector if injector is not None and injector.any_per_message else None
        """Seed 000's per-request faults, or None (then no request pays for them)."""
        self.background: set[asyncio.Task[None]] = set()
        """Injected duplicates in flight (kept referenced until they finish)."""
        self.fast = self.inject is None and self.flat is not None \
            and all(isinstance(op, RequestOp) and op.quick for op in self.flat)
        """Every step a request judged from its status and body: the callback-only hot path applies."""
        self.tally = Tally()
        self.connector = Connector(recorder, self.tally)
        self.auth = AuthProvider(scenario.authentication, recorder)
        self.idle = IdleConnections(IDLE_CONNECTIONS)
        self.idle_users: list[VirtualUser] = []
        """Users whose open-model pass ended, with their sessions (connections, login, MCP session)."""
        self.reported_once: set[str] = set()
        """Missing template variables and flow errors already reported (each is reported once)."""
        self._flusher: asyncio.TimerHandle | None = None

    @staticmethod
    def _load_feeder(scenario: Scenario) -> CsvFeeder | None:
        spec = getattr(scenario, "data", None)
        if spec is None:
            return None
        return CsvFeeder.load(spec, None, stride=max(1, build_plan(scenario).peak_connections))

    def report_missing(self, names: set[str]) -> None:
        for name in names - self.reported_once:
            self.reported_once.add(name)
            self.recorder.error(f"template variable not set: {name}")
        names.clear()

    # -- counters -----------------------------------------------------------------------------
    def _flush(self) -> None:
        self.tally.flush(self.recorder)
        self._flusher = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._flush)

    def keep(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the users (injected duplicates), referenced until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _ensure_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._flush)

    # -- sessions -----------------------------------------------------------------------------
    def _new_session(self, shared_idle: bool) -> Session:
        pool = ConnectionPool(self.connector, self.base, self.idle if shared_idle else None)
        return Session(pool, self.auth.state())

    async def _until_done(self, vu: VirtualUser, done: asyncio.Future[None], stop: StopSignal) -> None:
        """Wait for the user's pass (or run); on stop, give a request in flight the grace period, then drop it."""
        if await stop.until(done):
            return
        vu.interrupt()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), self.grace_s)
        if not done.done():
            vu.pool.abort()  # the request still in flight is recorded as a timeout
            vu.interrupt()
            vu.finish()

    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        """Closed model: loop the flow on this user's kept-alive connection until stop; with ``next_due``,
        start one pass at each due time instead (its first request measured from that time)."""
        self._ensure_flusher()
        session = self._new_session(shared_idle=False)
        vu = VirtualUser(self, unit, session, stop)
        try:
            if not self.has_requests:
                await stop.wait()
            elif next_due is None:
                await self._until_done(vu, vu.run(forever=True, due_ns=None), stop)
            else:
                index = 0
                while not stop.is_set():
                    due = next_due(index)
                    if due is None:
                        break
                    delay = (due - time.monotonic_ns()) / 1e9
                    if delay > 0 and not await stop.sleep(delay):
                        break
                    await self._until_done(vu, vu.run(forever=False, due_ns=due), stop)
                    index += 1
        finally:
            await session.pool.close()
            self.tally.flush(self.recorder)

    def start_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> asyncio.Future[None]:
        """Open model without a task: the pass runs from callbacks, and its user is free again one loop
        turn after its last response (a task would take several), so a burst of arrivals after a pause
        clears before the users run out."""
        self._ensure_flusher()
        vu = self._arrival_user(unit, stop)
        done = vu.run(forever=False, due_ns=scheduled_ns) if self.has_requests else _settled()
        if done.done():
            vu.pool.release()
            self.idle_user(vu)
        else:
            stop.on_set(vu.on_stop)
            done.add_done_callback(vu.retire)
        return done

    def _arrival_user(self, unit: int, stop: StopSignal) -> VirtualUser:
        if self.idle_users:
            vu = self.idle_users.pop()
            vu.rebind(unit, stop)
            return vu
        return VirtualUser(self, unit, self._new_session(shared_idle=True), stop)

    def idle_user(self, vu: VirtualUser) -> None:
        """Keep a user whose pass ended (with its session) for a later arrival, within bounds."""
        if vu.idle and len(self.idle_users) < IDLE_SESSIONS:
            self.idle_users.append(vu)

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        """Open model: one pass measured from ``scheduled_ns``, on a session (connections, login, MCP session)
        reused from earlier arrivals, as k6 reuses its VUs; idle connections wait in a bounded worker-wide pool.
        The same pass as ``start_iteration`` (stop and grace included), for callers that want a coroutine (MIXED)."""
        await self.start_iteration(unit, scheduled_ns, stop)

    async def prepare_arrivals(self, users: int) -> None:
        """Ready ``users`` pre-allocated open-model users before the start, as k6 initialises its
        preAllocatedVUs: each with a session, and an open connection to the endpoint waiting in the
        idle store. Otherwise the first arrivals all connect at once, and at thousands of arrivals a
        second that burst alone stalls the loop long enough to drop iterations. A connection that
        fails here is recorded like any other; the arrival that needs one connects again."""
        users = min(users, IDLE_SESSIONS)
        placeholder = StopSignal()
        self.idle_users.extend(VirtualUser(self, 0, self._new_session(shared_idle=True), placeholder)
                               for _ in range(users - len(self.idle_users)))
        wanted = min(users, IDLE_CONNECTIONS) - len(self.idle) if self.has_requests else 0
        opened = await asyncio.gather(*(self.connector.open(self.base) for _ in range(max(wanted, 0))),
                                      return_exceptions=True)
        for connection in opened:
            if isinstance(connection, HttpConnection):
                self.idle.put(connection)

    async def close(self) -> None:
        """Hand the last counts to the recorder and close the idle connections."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self.tally.flush(self.recorder)
        self.idle.close()
        self.idle_users.clear()
