"""The target's WebSocket message protocol (seeds 002, 003, 004) as pure bytes -> outcome functions.

No I/O: the listener in ``ws_listeners.py`` feeds a text payload in and carries out the returned
:class:`Outcome` (send replies, join or leave a channel, publish, close). Anything that is not a
known command returns ``None``, which means "echo the frame back unchanged". The cheap
:func:`may_be_command` test runs first so that plain echo traffic never pays for JSON parsing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = [
    "ECHOED_PING_FIELDS",
    "Outcome",
    "broadcast_message",
    "handle_text",
    "may_be_command",
    "mobile_ack",
    "now_ms",
]

# Fields a client may put in a ping to match the pong to it; they come back verbatim.
ECHOED_PING_FIELDS = ("id", "timestamp", "ts", "seq", "correlation_id", "correlationId")
_WHITESPACE = b" \t\r\n"
_PONG = orjson.dumps({"type": "pong"})
_DISCONNECT_ACK = orjson.dumps({"type": "disconnect_ack"})


@dataclass(slots=True)
class Outcome:
    """What one client message asks the server to do, in order: replies first, then the rest."""

    replies: list[bytes] = field(default_factory=list)
    subscribe: str | None = None
    unsubscribe: str | None = None
    publish: tuple[str, Any] | None = None
    close_code: int | None = None


def now_ms() -> float:
    """Epoch milliseconds with microsecond precision, the timestamp format of every server reply."""
    return time.time_ns() // 1000 / 1000.0


def may_be_command(payload: bytes) -> bool:
    """A cheap pre-filter: only a JSON object that mentions "type" can be a command."""
    first = payload[:1]
    if first == b"{":
        return b'"type"' in payload
    if not first or first not in _WHITESPACE:
        return False
    return payload.lstrip()[:1] == b"{" and b'"type"' in payload


def _channel(msg: dict[str, Any]) -> str | None:
    # Seed 003 puts the channel at the top level; seed 004 nests it in "data".
    channel = msg.get("channel")
    if channel is None:
        data = msg.get("data")
        if isinstance(data, dict):
            channel = data.get("channel")
    return channel if isinstance(channel, str) and channel else None


def _error(request_type: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "request": request_type, "error": message})


def _ping(msg: dict[str, Any]) -> Outcome:
    echoed = {key: msg[key] for key in ECHOED_PING_FIELDS if key in msg}
    if not echoed:
        return Outcome(replies=[_PONG])
    return Outcome(replies=[orjson.dumps({"type": "pong", **echoed})])


def _subscription(msg: dict[str, Any], kind: str) -> Outcome:
    channel = _channel(msg)
    if channel is None:
        return Outcome(replies=[_error(kind, f"{kind} needs a non-empty string 'channel'")])
    reply = orjson.dumps({"type": kind + "d", "channel": channel})
    if kind == "subscribe":
        return Outcome(replies=[reply], subscribe=channel)
    return Outcome(replies=[reply], unsubscribe=channel)


def _agent_message(msg: dict[str, Any]) -> Outcome:
    payload = msg.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    response = {
        "type": "agent_response",
        "from": msg.get("to"),
        "to": msg.get("from"),
        "payload": {"status": "processed", "action": payload.get("action"), "data": payload.get("data")},
        "timestamp": payload.get("timestamp"),
    }
    return Outcome(replies=[orjson.dumps(response)])


def _publish(msg: dict[str, Any]) -> Outcome:
    channel = msg.get("channel")
    if isinstance(channel, str) and channel:
        return Outcome(publish=(channel, msg.get("data")))
    return Outcome(replies=[_error("publish", "publish needs a non-empty string 'channel'")])


def _broadcast(msg: dict[str, Any]) -> Outcome:
    # Seed 004: {"type":"broadcast","data":{"channel":C,"data":X}}.
    data = msg.get("data")
    if isinstance(data, dict):
        channel = data.get("channel")
        if isinstance(channel, str) and channel:
            return Outcome(publish=(channel, data.get("data")))
    return Outcome(replies=[_error("broadcast", "broadcast needs data.channel, a non-empty string")])


def handle_text(payload: bytes) -> Outcome | None:
    """Interpret one text message; ``None`` means it is not a command and is echoed unchanged."""
    if not may_be_command(payload):
        return None
    try:
        msg = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(msg, dict):
        return None
    kind = msg.get("type")
    if kind == "ping":
        return _ping(msg)
    if kind == "agent_message":
        return _agent_message(msg)
    if kind == "subscribe" or kind == "unsubscribe":
        return _subscription(msg, kind)
    if kind == "publish":
        return _publish(msg)
    if kind == "broadcast":
        return _broadcast(msg)
    if kind == "disconnect":
        return Outcome(replies=[_DISCONNECT_ACK], close_code=1000)
    return None


def broadcast_message(channel: str, seq: int, data: Any, ts_ms: float) -> bytes:
    """One fan-out message; ``seq`` counts per channel from 1 so clients can spot gaps and reordering."""
    return orjson.dumps({"type": "broadcast", "channel": channel, "seq": seq, "ts": ts_ms, "data": data})


def mobile_ack(payload: bytes, device_id: str, server_ts_ms: float) -> bytes | None:
    """Seed 002's mobile sync ack for one JSON payload; ``None`` if the payload is not JSON."""
    try:
        msg = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    correlation: Any = None
    if isinstance(msg, dict):
        for key in ("correlation_id", "correlationId", "id"):
            if key in msg:
                correlation = msg[key]
                break
    return orjson.dumps(
        {"type": "ack", "correlation_id": correlation, "device_id": device_id, "server_ts": server_ts_ms}
    )
