"""GraphQL, JSON-RPC and MCP steps compiled once into calls the HTTP behaviour runs.

A call builds its request body (only the templated variables are rendered per request; the rest
is encoded once), judges the response into a low-cardinality failure kind, and for MCP performs
the session's initialize handshake first. GraphQL subscriptions run over graphql-transport-ws.

JSON-RPC ids: ``build`` draws a fresh id and remembers it in a context variable, so ``judge``
must run in the same asyncio task as the ``build`` whose response it judges (each virtual user
runs its flow in one task, so concurrent users never see each other's ids).
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from .._version import __version__
from ..engine.recording import Recorder
from ..engine.stopping import StopSignal
from ..protocols import graphql_ws
from ..protocols.http_types import HttpError, HttpResponse, HttpTransport
from ..protocols.jsonrpc import (
    ID_MISMATCH,
    INVALID_RESPONSE,
    IdSequence,
    JsonRpcProtocolError,
    RequestEncoder,
    RequestId,
    RpcResponse,
    decode,
    encode_notification,
    encode_request,
    match_response,
)
from ..protocols.sse import SseProtocolError, parse_event_stream
from ..protocols.websocket import error_kind
from ..scenario.flow import GraphQLStep, McpStep, RpcStep
from ..templating import RenderContext, compile_json_body, compile_value
from .checks import CompiledChecks

MCP_PROTOCOL_VERSION = "2025-06-18"
INITIALIZE_NAME = "mcp.initialize"
"""The metric name the HTTP behaviour records the MCP handshake under."""
HANDSHAKE_TIMEOUT_S = 10.0
"""Bound on each request of the MCP handshake and on the graphql-transport-ws connection_ack."""
CLOSE_WAIT_S = 2.0

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
STREAMABLE_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
"""MCP's streamable HTTP transport: the server may answer with JSON or an event stream."""

NO_CAPTURES: dict[str, Any] = {}

_request_id: contextvars.ContextVar[RequestId | None] = contextvars.ContextVar("rpc_request_id", default=None)


class McpInitializeFailed(HttpError):
    """The MCP initialize handshake failed; recorded under this kind whatever the cause."""

    kind = "mcp initialize failed"


def status_error(status: int) -> str | None:
    return None if 200 <= status < 300 else f"HTTP {status // 100}xx"


_OPERATION_KEYWORD = re.compile(r"\s*(?:#[^\n]*\n\s*)*(query|mutation|subscription)\b")


def operation_type(query: str) -> str:
    """query, mutation or subscription: the first keyword of the document ("{ ... }" is a query)."""
    match = _OPERATION_KEYWORD.match(query)
    return match.group(1) if match else "query"


def websocket_url(url: str) -> str:
    """The same address with the ws/wss scheme (http -> ws, https -> wss)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def _resolve(url: str | None, endpoint: str) -> str:
    if not url:
        return endpoint
    if "://" in url or "://" not in endpoint:
        return url
    parts = urlsplit(endpoint)
    path, _, query = url.partition("?")
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


class _Body:
    """A JSON value compiled once: encoded once when static, rendered per request otherwise."""

    __slots__ = ("_compiled", "static")

    def __init__(self, value: Any) -> None:
        compiled = compile_json_body(value)
        self.static = orjson.dumps(compile_value(value).render_static()) if compiled.is_static else None
        self._compiled = compiled

    def render(self, ctx: RenderContext) -> bytes:
        static = self.static
        return static if static is not None else self._compiled.render_bytes(ctx)


class RpcCall(ABC):
    """What the HTTP behaviour runs for one graphql/rpc/mcp step (see the module docstring)."""

    name: str
    url: str
    is_subscription = False

    @abstractmethod
    def build(self, ctx: RenderContext) -> tuple[bytes, dict[str, str]]:
        """The request body and the headers to add (the returned dict is shared: do not mutate it)."""

    @abstractmethod
    def judge(self, response: HttpResponse, ctx: RenderContext | None = None) -> tuple[str | None, dict[str, Any]]:
        """A failure kind or None, and the variables captured from the response.

        ``ctx`` (optional) renders templates in the checks' expected values.
        """

    async def prepare(self, transport: HttpTransport, headers: dict[str, str]) -> dict[str, str]:
        """Once per session before the first call: headers to send on every later call."""
        return {}

    async def run_subscription(self, ctx: RenderContext, headers: dict[str, str], recorder: Recorder,
                               stop: StopSignal) -> None:
        raise TypeError(f"{self.name} is not a subscription")


class GraphQLCall(RpcCall):
    def __init__(self, step: GraphQLStep, endpoint: str) -> None:
        spec = step.graphql
        self.name = f"graphql.{spec.operation_name or operation_type(spec.query)}"
        self.url = _resolve(spec.url, endpoint)
        document: dict[str, Any] = {"query": spec.query}
        if spec.operation_name:
            document["operationName"] = spec.operation_name
        self._head = orjson.dumps(document)[:-1] + b',"variables":'
        self._variables = _Body(spec.variables) if spec.variables else None
        self._static = orjson.dumps(document) if self._variables is None else None
        self.checks = CompiledChecks(spec.check, spec.capture) if spec.check or spec.capture else None

    def build(self, ctx: RenderContext) -> tuple[bytes, dict[str, str]]:
        if self._static is not None:
            return self._static, JSON_HEADERS
        assert self._variables is not None
        return self._head + self._variables.render(ctx) + b"}", JSON_HEADERS

    def judge(self, response: HttpResponse, ctx: RenderContext | None = None) -> tuple[str | None, dict[str, Any]]:
        failure = status_error(response.status)
        if failure is not None:
            return failure, NO_CAPTURES
        try:
            result = response.json()
        except orjson.JSONDecodeError:
            return "graphql invalid response", NO_CAPTURES
        if not isinstance(result, dict):
            return "graphql invalid response", NO_CAPTURES
        if result.get("errors"):
            return "graphql errors", NO_CAPTURES
        if self.checks is None:
            return None, NO_CAPTURES
        return self.checks.evaluate(response, ctx)


def _is_event_stream(response: HttpResponse) -> bool:
    return response.headers.get("content-type", "").lstrip().lower().startswith("text/event-stream")


def find_response(response: HttpResponse, request_id: RequestId) -> RpcResponse:
    """The JSON-RPC response to ``request_id`` in a JSON body or in an event stream's message events.

    Server requests and notifications interleaved in the stream (progress, logging) are skipped.
    """
    if not _is_event_stream(response):
        return match_response(decode(response.body), request_id)
    try:
        events = parse_event_stream(response.body)
    except SseProtocolError as error:
        raise JsonRpcProtocolError(INVALID_RESPONSE, str(error)) from None
    for event in events:
        if event.event != "message":
            continue
        message = decode(event.data.encode())
        if isinstance(message, dict) and "method" in message:
            continue
        return match_response(message, request_id)
    raise JsonRpcProtocolError(ID_MISMATCH, f"the event stream holds no response with id {request_id!r}")


class JsonRpcCall(RpcCall):
    def __init__(self, name: str, url: str, method: str, params: Any, notification: bool = False) -> None:
        self.name = name
        self.url = url
        self.notification = notification
        self._ids = IdSequence()
        body = _Body(params) if params is not None else None
        self._params = body if body is not None and body.static is None else None
        self._encoder = RequestEncoder(method, body.static if body is not None else None)

    def build(self, ctx: RenderContext) -> tuple[bytes, dict[str, str]]:
        params = self._params.render(ctx) if self._params is not None else None
        if self.notification:
            return self._encoder.encode(None, params), STREAMABLE_HEADERS
        request_id = self._ids.next()
        _request_id.set(request_id)
        return self._encoder.encode(request_id, params), STREAMABLE_HEADERS

    def judge(self, response: HttpResponse, ctx: RenderContext | None = None) -> tuple[str | None, dict[str, Any]]:
        if self.notification:
            return status_error(response.status), NO_CAPTURES
        request_id = _request_id.get()
        if request_id is None:
            raise RuntimeError("judge called without a build in this task")
        try:
            answer = find_response(response, request_id)
        except JsonRpcProtocolError as error:
            return status_error(response.status) or error.kind, NO_CAPTURES
        if answer.error is not None:
            return f"rpc error {answer.error.code}", NO_CAPTURES
        return status_error(response.status) or self._judge_result(answer.result), NO_CAPTURES

    def _judge_result(self, result: Any) -> str | None:
        return None


class McpCall(JsonRpcCall):
    """``tools/call`` of one tool, after the session's initialize handshake."""

    def __init__(self, step: McpStep, endpoint: str) -> None:
        spec = step.mcp
        super().__init__(f"mcp.{spec.tool}", _resolve(spec.url, endpoint), "tools/call",
                         {"name": spec.tool, "arguments": spec.arguments})

    def _judge_result(self, result: Any) -> str | None:
        if isinstance(result, dict) and result.get("isError") is True:
            return "mcp tool error"
        return None

    async def prepare(self, transport: HttpTransport, headers: dict[str, str]) -> dict[str, str]:
        """initialize, then notifications/initialized; returns the session id and protocol version headers."""
        try:
            return await initialize_session(transport, self.url, headers, self._ids.next())
        except McpInitializeFailed:
            raise
        except (HttpError, JsonRpcProtocolError) as error:
            raise McpInitializeFailed(str(error)) from error


async def initialize_session(transport: HttpTransport, url: str, headers: Mapping[str, str],
                             request_id: int) -> dict[str, str]:
    params = {"protocolVersion": MCP_PROTOCOL_VERSION, "capabilities": {},
              "clientInfo": {"name": "streamtestbench", "version": __version__}}
    response = await transport.request("POST", url, {**headers, **STREAMABLE_HEADERS},
                                       encode_request("initialize", params, request_id), HANDSHAKE_TIMEOUT_S)
    if status_error(response.status) is not None:
        raise McpInitializeFailed(f"initialize answered HTTP {response.status}")
    answer = find_response(response, request_id)
    if answer.error is not None:
        raise McpInitializeFailed(f"initialize failed: {answer.error.code} {answer.error.message}")
    if not isinstance(answer.result, dict):
        raise McpInitializeFailed("initialize returned no result object")
    session: dict[str, str] = {}
    session_id = response.headers.get("mcp-session-id")
    if session_id:
        session["Mcp-Session-Id"] = session_id
    version = answer.result.get("protocolVersion")
    if isinstance(version, str) and version:
        session["MCP-Protocol-Version"] = version
    initialized = await transport.request("POST", url, {**headers, **STREAMABLE_HEADERS, **session},
                                          encode_notification("notifications/initialized"), HANDSHAKE_TIMEOUT_S)
    if status_error(initialized.status) is not None:
        raise McpInitializeFailed(f"notifications/initialized answered HTTP {initialized.status}")
    return session


def compile_rpc_step(step: GraphQLStep | RpcStep | McpStep, endpoint: str) -> RpcCall:
    if isinstance(step, GraphQLStep):
        if step.graphql.subscription:
            return GraphQLSubscription(step, endpoint)
        return GraphQLCall(step, endpoint)
    if isinstance(step, RpcStep):
        spec = step.rpc
        return JsonRpcCall(f"rpc.{spec.method}", _resolve(spec.url, endpoint), spec.method, spec.params,
                           spec.notification)
    return McpCall(step, endpoint)


class GraphQLSubscription(RpcCall):
    """A graphql-transport-ws subscription, measured as follows.

    - The connection (WebSocket handshake plus connection_init/connection_ack) is a connection
      attempt/open/failure, as for WebSocket users.
    - ``<name>`` message: subscribe to the first ``next`` (time to first event); a server ``error``
      before any event makes it a "graphql errors" failure.
    - ``<name>`` push for every ``next``: delivery latency from the server's timestamp when the event
      carries one (a numeric ``epochMs``, ``ts`` or ``timestamp`` in milliseconds since the epoch on
      the root field's object, as the reference target's ``tick``); otherwise the time since the
      previous event (or since subscribe for the first), the interval the subscriber sees.
    The subscription ends at ``complete``, at ``error``, when the server closes, on stop, or after
    ``events`` events when the step gives that many.
    """

    is_subscription = True

    def __init__(self, step: GraphQLStep, endpoint: str) -> None:
        spec = step.graphql
        self.name = f"graphql.{spec.operation_name or 'subscription'}"
        self.url = websocket_url(_resolve(spec.url, endpoint))
        self.query = spec.query
        self.operation_name = spec.operation_name
        self._variables = compile_value(spec.variables) if spec.variables else None
        limit = getattr(spec, "events", None)
        self.event_limit: int | None = limit if isinstance(limit, int) and limit > 0 else None

    def build(self, ctx: RenderContext) -> tuple[bytes, dict[str, str]]:
        raise TypeError(f"{self.name} is a subscription: run it with run_subscription")

    def judge(self, response: HttpResponse, ctx: RenderContext | None = None) -> tuple[str | None, dict[str, Any]]:
        raise TypeError(f"{self.name} is a subscription: run it with run_subscription")

    async def run_subscription(self, ctx: RenderContext, headers: dict[str, str], recorder: Recorder,
                               stop: StopSignal) -> None:
        variables = self._variables.render(ctx) if self._variables is not None else None
        await _SubscriptionRun(self, recorder, stop).run(headers, variables)


class _SubscriptionRun:
    """One subscription's connection, driven by events from the picows callback."""

    def __init__(self, call: GraphQLSubscription, recorder: Recorder, stop: StopSignal) -> None:
        loop = asyncio.get_running_loop()
        self.call = call
        self.recorder = recorder
        self.stop = stop
        self.acknowledged: asyncio.Future[None] = loop.create_future()
        self.finished: asyncio.Future[None] = loop.create_future()
        self.operation_id: str | None = None
        self.subscribed_ns = 0
        self.last_ns = 0
        self.events = 0
        self.protocol_error = False
        self.closed_by_us = False

    def on_event(self, event: graphql_ws.Event, nbytes: int) -> None:
        self.recorder.received(nbytes)
        if self.finished.done():
            return  # past the event limit: frames already in flight are not measured
        if isinstance(event, graphql_ws.Acknowledged):
            _settle(self.acknowledged)
        elif isinstance(event, graphql_ws.Pinged):
            self.recorder.sent(len(event.reply))
        elif isinstance(event, graphql_ws.Next):
            self._next(event, nbytes)
        elif isinstance(event, graphql_ws.SubscriptionError):
            if self.events == 0:
                now = time.monotonic_ns()
                self.recorder.message(self.call.name, self.subscribed_ns, self.subscribed_ns, now, nbytes,
                                      "graphql errors")
            else:
                self.recorder.error("graphql errors")
            _settle(self.finished)
        elif isinstance(event, graphql_ws.Completed):
            if self.events == 0:
                now = time.monotonic_ns()
                self.recorder.message(self.call.name, self.subscribed_ns, self.subscribed_ns, now, nbytes)
            _settle(self.finished)

    def _next(self, event: graphql_ws.Next, nbytes: int) -> None:
        now = time.monotonic_ns()
        name = self.call.name
        if self.events == 0:
            error = "graphql errors" if event.payload.get("errors") else None
            self.recorder.message(name, self.subscribed_ns, self.subscribed_ns, now, nbytes, error)
        elif event.payload.get("errors"):
            self.recorder.error("graphql errors")
        stamp_ms = server_stamp_ms(event.payload)
        if stamp_ms is not None:
            latency = max(0, time.time_ns() - int(stamp_ms * 1_000_000))
        else:
            latency = now - (self.last_ns or self.subscribed_ns)
        self.recorder.push(name, latency, nbytes)
        self.last_ns = now
        self.events += 1
        if self.call.event_limit is not None and self.events >= self.call.event_limit:
            _settle(self.finished)

    def on_protocol_error(self, error: graphql_ws.GraphQLWsProtocolError) -> None:
        self.protocol_error = True
        self.recorder.error("graphql-ws protocol error")
        _settle(self.finished)

    async def run(self, headers: dict[str, str], variables: Any) -> None:
        recorder = self.recorder
        recorder.connection_attempt()
        started = time.monotonic_ns()
        try:
            listener = await graphql_ws.connect(self.call.url, headers, HANDSHAKE_TIMEOUT_S, self.on_event,
                                                self.on_protocol_error)
        except Exception as error:
            recorder.connection_failed(error_kind(error))
            return
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        self._send(listener, listener.client.connection_init({"Authorization": authorization}
                                                             if authorization else None))
        await _first_of((self.acknowledged, self.finished, listener.closed), self.stop, HANDSHAKE_TIMEOUT_S)
        if not self.acknowledged.done():
            if not self.stop.is_set():
                recorder.connection_failed(self._refusal(listener))
            await self._close(listener)
            return
        recorder.connection_open(time.monotonic_ns() - started)
        operation_id, subscribe = listener.client.subscribe(self.call.query, variables, self.call.operation_name)
        self.subscribed_ns = time.monotonic_ns()
        self._send(listener, subscribe)
        await _first_of((self.finished, listener.closed), self.stop, None)
        if self.events == 0 and not self.finished.done() and listener.closed.done():
            now = time.monotonic_ns()
            recorder.message(self.call.name, self.subscribed_ns, self.subscribed_ns, now, 0, "Connection closed")
        if operation_id in listener.client.active:
            self._send(listener, listener.client.complete(operation_id))
        await self._close(listener)
        code = listener.close_code
        if code is not None:
            recorder.connection_closed(None if code == 1000 else f"closed {code}")
        else:
            recorder.connection_closed(None if self.closed_by_us else "Connection reset")

    def _refusal(self, listener: graphql_ws.GraphQLWsListener) -> str:
        if listener.close_code is not None:
            return f"connection_init refused: {listener.close_code}"
        if self.protocol_error:
            return "graphql-ws protocol error"
        if listener.closed.done():
            return "Connection reset"
        return "connection_ack timeout"

    def _send(self, listener: graphql_ws.GraphQLWsListener, payload: bytes) -> None:
        if listener.send(payload):
            self.recorder.sent(len(payload))

    async def _close(self, listener: graphql_ws.GraphQLWsListener) -> None:
        if not listener.closed.done():
            self.closed_by_us = True
            listener.close(1000)
            await _first_of((listener.closed,), None, CLOSE_WAIT_S)


STAMP_FIELDS = ("epochMs", "ts", "timestamp")


def server_stamp_ms(result: dict[str, Any]) -> float | None:
    """The event's server time in epoch milliseconds, when its root field's object carries one."""
    data = result.get("data")
    if not isinstance(data, dict) or len(data) != 1:
        return None
    root = next(iter(data.values()))
    if not isinstance(root, dict):
        return None
    for key in STAMP_FIELDS:
        value = root.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 1e12:
            return float(value)
    return None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _first_of(futures: tuple[asyncio.Future[None], ...], stop: StopSignal | None,
                    timeout_s: float | None) -> None:
    """Wait until one of ``futures`` is done, ``stop`` is set, or ``timeout_s`` passes."""
    if any(f.done() for f in futures) or (stop is not None and stop.is_set()):
        return
    waiting: set[asyncio.Future[Any]] = set(futures)
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if stopper is not None:
        waiting.add(stopper)
    try:
        await asyncio.wait(waiting, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if stopper is not None:
            stopper.cancel()
