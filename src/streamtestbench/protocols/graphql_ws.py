"""GraphQL subscriptions over WebSocket with the ``graphql-transport-ws`` protocol.

The message rules live in a sans-IO state machine (``GraphQLWsClient``): it encodes what the
client sends and turns each received text frame into one event, or a ``GraphQLWsProtocolError``
naming what was wrong (the protocol closes the socket with 4400 then). A thin picows listener feeds
it frames, answers pings, and hands events to a callback, so a subscription costs no task per event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

SUBPROTOCOL = "graphql-transport-ws"
INVALID_MESSAGE = 4400
"""The close code for a message the protocol does not allow."""


class GraphQLWsProtocolError(ValueError):
    """A frame that breaks graphql-transport-ws; the client closes with ``INVALID_MESSAGE``."""


@dataclass(frozen=True, slots=True)
class Acknowledged:
    payload: Any


@dataclass(frozen=True, slots=True)
class Next:
    id: str
    payload: Any


@dataclass(frozen=True, slots=True)
class SubscriptionError:
    id: str
    errors: list[Any]


@dataclass(frozen=True, slots=True)
class Completed:
    id: str


@dataclass(frozen=True, slots=True)
class Pinged:
    payload: Any
    reply: bytes
    """The pong the client must send back."""


@dataclass(frozen=True, slots=True)
class Ponged:
    payload: Any


Event = Acknowledged | Next | SubscriptionError | Completed | Pinged | Ponged

PONG = orjson.dumps({"type": "pong"})
PING = orjson.dumps({"type": "ping"})


def _with_payload(message: dict[str, Any], payload: Any) -> bytes:
    if payload is not None:
        message["payload"] = payload
    return orjson.dumps(message)


class GraphQLWsClient:
    """The client side of one graphql-transport-ws connection, without any I/O."""

    __slots__ = ("_acknowledged", "_active", "_finished", "_initialised", "_next_id")

    def __init__(self) -> None:
        self._initialised = False
        self._acknowledged = False
        self._next_id = 1
        self._active: set[str] = set()
        self._finished: set[str] = set()

    @property
    def acknowledged(self) -> bool:
        return self._acknowledged

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self._active)

    def connection_init(self, payload: dict[str, Any] | None = None) -> bytes:
        """The first message; ``payload`` typically carries credentials such as Authorization."""
        if self._initialised:
            raise RuntimeError("connection_init may be sent only once per connection")
        self._initialised = True
        return _with_payload({"type": "connection_init"}, payload)

    def subscribe(self, query: str, variables: Any = None, operation_name: str | None = None) -> tuple[str, bytes]:
        """A new operation's id and its ``subscribe`` message (only after the server acknowledged)."""
        if not self._acknowledged:
            raise RuntimeError("subscribe before connection_ack")
        operation_id = str(self._next_id)
        self._next_id += 1
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = variables
        if operation_name:
            payload["operationName"] = operation_name
        self._active.add(operation_id)
        return operation_id, orjson.dumps({"id": operation_id, "type": "subscribe", "payload": payload})

    def complete(self, operation_id: str) -> bytes:
        """Stop an operation; late ``next`` messages for it are then ignored, not errors."""
        self._retire(operation_id)
        return orjson.dumps({"id": operation_id, "type": "complete"})

    def _retire(self, operation_id: str) -> None:
        self._active.discard(operation_id)
        self._finished.add(operation_id)

    def receive(self, data: bytes | str) -> Event | None:
        """The event one text frame carries; None for a late message of a finished operation."""
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise GraphQLWsProtocolError("a frame that is not JSON") from None
        if not isinstance(message, dict):
            raise GraphQLWsProtocolError("a frame that is not a JSON object")
        kind = message.get("type")
        if kind == "ping":
            return Pinged(message.get("payload"), PONG)
        if kind == "pong":
            return Ponged(message.get("payload"))
        if kind == "connection_ack":
            if not self._initialised or self._acknowledged:
                raise GraphQLWsProtocolError("an unexpected connection_ack")
            self._acknowledged = True
            return Acknowledged(message.get("payload"))
        if kind in ("next", "error", "complete"):
            return self._operation_message(kind, message)
        raise GraphQLWsProtocolError(f"an unknown message type {kind!r}")

    def _operation_message(self, kind: str, message: dict[str, Any]) -> Event | None:
        if not self._acknowledged:
            raise GraphQLWsProtocolError(f"{kind} before connection_ack")
        operation_id = message.get("id")
        if not isinstance(operation_id, str):
            raise GraphQLWsProtocolError(f"{kind} without an id")
        if operation_id not in self._active:
            if operation_id in self._finished:
                return None
            raise GraphQLWsProtocolError(f"{kind} for an unknown operation id {operation_id!r}")
        if kind == "next":
            payload = message.get("payload")
            if not isinstance(payload, dict):
                raise GraphQLWsProtocolError("next without an execution result payload")
            return Next(operation_id, payload)
        self._retire(operation_id)
        if kind == "complete":
            return Completed(operation_id)
        errors = message.get("payload")
        if not isinstance(errors, list):
            raise GraphQLWsProtocolError("error whose payload is not a list of errors")
        return SubscriptionError(operation_id, errors)


EventHandler = Callable[[Event, int], None]
"""Called with each event and its frame's size in bytes."""


class GraphQLWsListener(WSListener):
    """Feeds text frames to the state machine; answers pings; reports events, errors and the close."""

    def __init__(self, client: GraphQLWsClient, on_event: EventHandler,
                 on_protocol_error: Callable[[GraphQLWsProtocolError], None]) -> None:
        self.client = client
        self.on_event = on_event
        self.on_protocol_error = on_protocol_error
        self.transport: WSTransport | None = None
        self.close_code: int | None = None
        """The code of the close frame the server sent first, if it did."""
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._fragments: list[bytes] | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            if not transport.is_close_frame_sent:  # the server closed first; else this echoes ours
                self.close_code = int(frame.get_close_code().value)
                transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if not frame.fin:
                return
            data = b"".join(self._fragments)
            self._fragments = None
        elif kind is WSMsgType.TEXT:
            if not frame.fin:
                self._fragments = [frame.get_payload_as_bytes()]
                return
            data = frame.get_payload_as_bytes()
        elif kind is WSMsgType.BINARY or kind is WSMsgType.CONTINUATION:
            self._fail(GraphQLWsProtocolError("a binary frame (the protocol sends text only)"))
            return
        else:
            return  # ping/pong frames: picows answers pings itself
        try:
            event = self.client.receive(data)
        except GraphQLWsProtocolError as error:
            self._fail(error)
            return
        if event is None:
            return
        if isinstance(event, Pinged):
            self.send(event.reply)
        self.on_event(event, len(data))

    def _fail(self, error: GraphQLWsProtocolError) -> None:
        self.on_protocol_error(error)
        self.close(INVALID_MESSAGE)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, payload: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_disconnected:
            return False
        transport.send(WSMsgType.TEXT, payload)
        return True

    def close(self, code: int = 1000) -> None:
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send_close(WSCloseCode(code))
            transport.disconnect()


_LOGGER = logging.getLogger("streamtestbench.graphql_ws")


async def connect(url: str, headers: dict[str, str], timeout_s: float, on_event: EventHandler,
                  on_protocol_error: Callable[[GraphQLWsProtocolError], None]) -> GraphQLWsListener:
    """Open the WebSocket with the graphql-transport-ws subprotocol (errors propagate to the caller)."""
    client = GraphQLWsClient()

    def factory() -> GraphQLWsListener:
        return GraphQLWsListener(client, on_event, on_protocol_error)

    _, listener = await ws_connect(factory, url, extra_headers={**headers, "Sec-WebSocket-Protocol": SUBPROTOCOL},
                                   websocket_handshake_timeout=timeout_s, logger_name=_LOGGER,
                                   read_buffer_init_size=4096)
    assert isinstance(listener, GraphQLWsListener)
    return listener
