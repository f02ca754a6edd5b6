"""GraphQL over WebSocket at ``/graphql``: the ``graphql-transport-ws`` protocol on picows.

Client -> server: ``connection_init`` (answered by ``connection_ack``), ``ping`` (-> ``pong``),
``pong``, ``subscribe`` ``{id, payload: {query, operationName?, variables?}}`` and ``complete
{id}``. Server -> client: ``next {id, payload: <GraphQL result>}``, ``error {id, payload:
[GraphQL errors]}`` (validation/variables) and ``complete {id}`` when a stream ends. Queries and
mutations answer one ``next`` then ``complete``. Subscriptions (graphql_schema.py):
``postCreated`` (every post created through GraphQL or REST on this worker) and
``tick(intervalMs, count)`` (``count`` events ``{seq, timestamp, epochMs}`` ``intervalMs`` apart,
then ``complete``), for load tests.

Closes with the protocol's codes: 4400 invalid message, 4401 subscribe before ack, 4408 no
``connection_init`` within 10 s, 4409 duplicate subscription id, 4429 second ``connection_init``.
The token (``--auth``) is checked on the upgrade, like ``/ws``. Subscription events are not
subject to injected faults (like broadcasts); replies to client messages are.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable
from typing import Any

import orjson
from picows import WSFrame, WSMsgType, WSTransport, WSUpgradeResponse, WSUpgradeResponseWithListener

from .context import TargetContext
from .datastore import DataStore
from .graphql_api import GraphQLHttpError, prepare_query, run_operation
from .graphql_exec import GraphQLRequestError, Prepared, execute, subscription_source
from .graphql_schema import SCHEMA
from .http_types import Request
from .ws_listeners import SessionListener

__all__ = ["INIT_TIMEOUT_SECONDS", "MAX_TICKS", "SUBPROTOCOL", "GraphQLWSListener", "upgrade"]

SUBPROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
MAX_TICKS = 100_000
MAX_INTERVAL_MS = 3_600_000
_TEXT = WSMsgType.TEXT
_ACK = orjson.dumps({"type": "connection_ack"})
_PONG = orjson.dumps({"type": "pong"})
_QUERY_KINDS = frozenset({"query", "mutation"})
_CLOSE_REASONS = {
    4400: "Invalid message received",
    4401: "Unauthorized",
    4408: "Connection initialisation timeout",
    4409: "Subscriber already exists",
    4429: "Too many initialisation requests",
}

# A reply as SessionListener queues it: (frame type, payload, fin, close code; None type = close).
_Item = tuple[WSMsgType | None, bytes, bool, int]


def _text(payload: bytes) -> _Item:
    return (_TEXT, payload, True, 0)


def _close(code: int) -> _Item:
    return (None, b"", True, code)


class GraphQLWSListener(SessionListener):
    """One graphql-transport-ws connection: its handshake state and its running subscriptions."""

    __slots__ = ("_acked", "_init_timer", "_subscriptions")

    def __init__(self, ctx: TargetContext) -> None:
        super().__init__(ctx)
        self._acked = False  # connection_init received and acknowledged
        self._init_timer: asyncio.TimerHandle | None = None
        # subscription id -> how to stop it
        self._subscriptions: dict[str, Callable[[], None]] = {}

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        self._init_timer = asyncio.get_running_loop().call_later(INIT_TIMEOUT_SECONDS, self._init_timeout)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._init_timer is not None:
            self._init_timer.cancel()
        for stop in list(self._subscriptions.values()):
            stop()
        self._subscriptions.clear()
        super().on_ws_disconnected(transport)

    def _init_timeout(self) -> None:
        if not self._acked:
            self._close(4408, "")

    def _close(self, code: int, reason: str) -> None:
        super()._close(code, reason or _CLOSE_REASONS.get(code, ""))

    # -- client messages -------------------------------------------------------------------
    def _interpret(self, frame: WSFrame, msg_type: WSMsgType) -> list[_Item]:
        if msg_type is not _TEXT or not frame.fin:
            return [_close(4400)]
        try:
            message = orjson.loads(frame.get_payload_as_bytes())
        except orjson.JSONDecodeError:
            return [_close(4400)]
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "connection_init":
            if self._acked:
                return [_close(4429)]
            self._acked = True
            if self._init_timer is not None:
                self._init_timer.cancel()
            return [_text(_ACK)]
        if kind == "ping":
            payload = message.get("payload")
            return [_text(_PONG if payload is None else orjson.dumps({"type": "pong", "payload": payload}))]
        if kind == "pong":
            return []
        if kind == "subscribe":
            return self._subscribe(message)
        if kind == "complete":
            stop = self._subscriptions.pop(message.get("id"), None) if isinstance(message.get("id"), str) else None
            if stop is not None:
                stop()
            return []
        return [_close(4400)]

    def _subscribe(self, message: dict[str, Any]) -> list[_Item]:
        if not self._acked:
            return [_close(4401)]
        sub_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(sub_id, str) or not sub_id or not isinstance(payload, dict):
            return [_close(4400)]
        query = payload.get("query")
        operation_name = payload.get("operationName")
        variables = payload.get("variables")
        if (
            not isinstance(query, str)
            or not isinstance(operation_name, str | None)
            or not isinstance(variables, dict | None)
        ):
            return [_close(4400)]
        if sub_id in self._subscriptions:
            return [_close(4409)]
        self._stats.graphql_operations += 1
        try:
            prepared = prepare_query(query, operation_name)
            if prepared.kind in _QUERY_KINDS:
                result = run_operation(payload, self._ctx, allow=_QUERY_KINDS)
                if "data" not in result:
                    return [_text(_message("error", sub_id, result["errors"]))]
                return [_text(_message("next", sub_id, result)), _text(_message("complete", sub_id))]
            field, args = subscription_source(SCHEMA, prepared, variables)
        except GraphQLRequestError as exc:
            return [_text(_message("error", sub_id, exc.errors))]
        except GraphQLHttpError as exc:
            return [_text(_message("error", sub_id, [{"message": str(exc)}]))]
        stream = _Stream(self, self._ctx.data, sub_id, prepared, variables)
        if field == "tick":
            error = stream.start_ticks(args["intervalMs"], args["count"])
            if error is not None:
                return [_text(_message("error", sub_id, [{"message": error}]))]
        else:
            stream.start_post_created()
        self._subscriptions[sub_id] = stream.stop
        return []

    def count_event(self) -> None:
        self._stats.graphql_events += 1

    def finished(self, sub_id: str) -> None:
        """A stream ran out (tick count reached): tell the client and forget it."""
        if self._subscriptions.pop(sub_id, None) is not None:
            self.deliver(_message("complete", sub_id))


def _message(kind: str, sub_id: str, payload: Any = None) -> bytes:
    if payload is None:
        return orjson.dumps({"id": sub_id, "type": kind})
    return orjson.dumps({"id": sub_id, "type": kind, "payload": payload})


class _Stream:
    """One running subscription: feeds events through the operation's selection to the client."""

    __slots__ = ("_handle", "_listener", "_post_listener", "_prepared", "_seq", "_store", "_sub_id", "_variables")

    def __init__(
        self,
        listener: GraphQLWSListener,
        store: DataStore,
        sub_id: str,
        prepared: Prepared,
        variables: dict[str, Any] | None,
    ) -> None:
        self._listener = listener
        self._store = store
        self._sub_id = sub_id
        self._prepared = prepared
        self._variables = variables
        self._handle: asyncio.TimerHandle | None = None
        self._post_listener: Callable[[dict[str, Any]], None] | None = None
        self._seq = 0

    def _emit(self, root_value: dict[str, Any]) -> None:
        result = execute(SCHEMA, self._prepared, self._variables, self._store, root_value)
        self._listener.deliver(_message("next", self._sub_id, result))
        self._listener.count_event()

    # postCreated
    def start_post_created(self) -> None:
        def on_post(post: dict[str, Any]) -> None:
            self._emit({"postCreated": post})

        self._post_listener = on_post
        self._store.posts.listeners.append(on_post)

    # tick
    def start_ticks(self, interval_ms: int | None, count: int | None) -> str | None:
        if interval_ms is None or not 1 <= interval_ms <= MAX_INTERVAL_MS:
            return f"tick: intervalMs must be from 1 to {MAX_INTERVAL_MS}"
        if count is None or not 1 <= count <= MAX_TICKS:
            return f"tick: count must be from 1 to {MAX_TICKS}"
        loop = asyncio.get_running_loop()
        interval = interval_ms / 1000.0
        start = loop.time()

        def tick() -> None:
            self._seq += 1
            now_ns = time.time_ns()
            stamp = datetime.datetime.fromtimestamp(now_ns / 1e9, datetime.UTC)
            self._emit({"tick": {
                "seq": self._seq,
                "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "epochMs": now_ns / 1e6,
            }})
            if self._seq >= count:
                self._handle = None
                self._listener.finished(self._sub_id)
            else:
                # Scheduled from the start time, so intervals do not drift with event loop delays.
                self._handle = loop.call_at(start + interval * (self._seq + 1), tick)

        self._handle = loop.call_at(start + interval, tick)
        return None

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._post_listener is not None:
            listeners = self._store.posts.listeners
            if self._post_listener in listeners:
                listeners.remove(self._post_listener)
            self._post_listener = None


def upgrade(request: Request, ctx: TargetContext) -> WSUpgradeResponseWithListener:
    """The 101 answer for ``/graphql``, selecting ``graphql-transport-ws`` when the client offers it."""
    offered = [p.strip() for p in (request.headers.get("sec-websocket-protocol") or "").split(",")]
    headers = {"Sec-WebSocket-Protocol": SUBPROTOCOL} if SUBPROTOCOL in offered else None
    return WSUpgradeResponseWithListener(WSUpgradeResponse.create_101_response(headers), GraphQLWSListener(ctx))
