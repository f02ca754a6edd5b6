"""``POST /mcp``: a Model Context Protocol server over streamable HTTP with three tools (seed 004).

JSON-RPC 2.0 in the body (one message or a batch array). Methods: ``initialize`` (answers
``protocolVersion``, ``capabilities.tools``, ``serverInfo`` and sets ``Mcp-Session-Id``),
``notifications/*`` and client responses (202, empty body), ``ping``, ``tools/list``,
``tools/call`` of ``echo`` {text} -> the text, ``get_time`` {} -> ISO-8601 UTC time,
``get_user_info`` {userId} -> the user as JSON text. Errors are JSON-RPC error objects:
-32700 parse error and -32600 invalid request (HTTP 400), -32601 unknown method, -32602 bad
params (HTTP 200); an unknown tool or user is a tool result with ``isError: true``.

Response format rule: ``application/json`` unless the request's ``Accept`` lists
``text/event-stream`` with a higher q-value than ``application/json`` (or lists it and not JSON at
all); then ``text/event-stream``, chunked, one ``event: message`` per JSON-RPC response.

Sessions: the session id is random plus an HMAC with the JWT secret, so any worker recognises it
without shared state. A request without ``Mcp-Session-Id`` is accepted; one with a forged id gets
404. Sessions cannot be deleted (DELETE and GET /mcp answer 405).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from .context import TargetContext
from .datastore import DataStore, parse_id
from .http_types import Request, Response

__all__ = [
    "PROTOCOL_VERSIONS",
    "TOOLS",
    "McpError",
    "dispatch",
    "mcp_http",
    "new_session_id",
    "valid_session_id",
    "wants_sse",
]

PROTOCOL_VERSIONS = ("2025-06-18", "2025-03-26", "2024-11-05")
SERVER_INFO = {"name": "streamtestbench-target", "version": "1.0"}
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SESSION_HEADER = "Mcp-Session-Id"

TOOLS: list[dict[str, Any]] = [
    {
        "name": "echo",
        "description": "Returns the text it is given.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    },
    {
        "name": "get_time",
        "description": "The server's current time, ISO 8601 in UTC.",
        "inputSchema": {"type": "object", "properties": {}},
    },
    {
        "name": "get_user_info",
        "description": "One user of the target's dataset (ids 1..1000 at start) as JSON.",
        "inputSchema": {
            "type": "object",
            "properties": {"userId": {"type": ["string", "integer"]}},
            "required": ["userId"],
        },
    },
]


class McpError(Exception):
    """A JSON-RPC error for the message being answered."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text_result(text: str, *, is_error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def _arguments(params: dict[str, Any]) -> dict[str, Any]:
    arguments = params.get("arguments")
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise McpError(INVALID_PARAMS, "Invalid params: 'arguments' must be an object")
    return arguments


def _echo(arguments: dict[str, Any], store: DataStore) -> dict[str, Any]:
    text = arguments.get("text")
    if not isinstance(text, str):
        raise McpError(INVALID_PARAMS, "Invalid params: echo needs 'text' (a string)")
    return _text_result(text)


def _get_time(arguments: dict[str, Any], store: DataStore) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    return _text_result(now.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def _get_user_info(arguments: dict[str, Any], store: DataStore) -> dict[str, Any]:
    raw = arguments.get("userId")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise McpError(INVALID_PARAMS, "Invalid params: get_user_info needs 'userId' (a string or an integer)")
    user_id = parse_id(raw)
    data = store.users.encoded(user_id) if user_id is not None else None
    if data is None:
        return _text_result(f"User {raw} not found", is_error=True)
    return _text_result(data.decode())


_TOOL_FUNCTIONS: dict[str, Callable[[dict[str, Any], DataStore], dict[str, Any]]] = {
    "echo": _echo,
    "get_time": _get_time,
    "get_user_info": _get_user_info,
}


def _initialize(params: dict[str, Any]) -> dict[str, Any]:
    requested = params.get("protocolVersion")
    if not isinstance(requested, str):
        raise McpError(INVALID_PARAMS, "Invalid params: initialize needs 'protocolVersion' (a string)")
    return {
        "protocolVersion": requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
        "capabilities": {"tools": {"listChanged": False}},
        "serverInfo": SERVER_INFO,
        "instructions": "Tools: echo, get_time, get_user_info.",
    }


def _call(method: str, params: dict[str, Any], store: DataStore) -> Any:
    if method == "initialize":
        return _initialize(params)
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        name = params.get("name")
        if not isinstance(name, str):
            raise McpError(INVALID_PARAMS, "Invalid params: tools/call needs 'name' (a string)")
        tool = _TOOL_FUNCTIONS.get(name)
        if tool is None:
            return _text_result(f"Unknown tool: {name}", is_error=True)
        return tool(_arguments(params), store)
    raise McpError(METHOD_NOT_FOUND, f"Method not found: {method}")


def _error(message_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}}


def dispatch(message: Any, store: DataStore) -> dict[str, Any] | None:
    """One JSON-RPC message in, its response out (None for notifications and client responses)."""
    if not isinstance(message, dict):
        return _error(None, INVALID_REQUEST, "Invalid Request: expected a JSON object")
    message_id = message.get("id")
    has_id = "id" in message
    if has_id and (isinstance(message_id, bool) or not isinstance(message_id, str | int | float | None)):
        return _error(None, INVALID_REQUEST, "Invalid Request: 'id' must be a string or a number")
    method = message.get("method")
    if method is None and has_id and ("result" in message or "error" in message):
        return None  # a response to a server request: acknowledged, nothing to answer
    if message.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return _error(message_id, INVALID_REQUEST, "Invalid Request: needs jsonrpc '2.0' and a string 'method'")
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return _error(message_id, INVALID_PARAMS, "Invalid params: 'params' must be an object")
    if not has_id:
        return None  # a notification (notifications/initialized, notifications/cancelled...)
    try:
        result = _call(method, params, store)
    except McpError as exc:
        return _error(message_id, exc.code, exc.message)
    return {"jsonrpc": "2.0", "id": message_id, "result": result}


# -- HTTP transport ------------------------------------------------------------------------------


def _media_q(accept: str) -> dict[str, float]:
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        q = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges[media.lower()] = max(q, ranges.get(media.lower(), 0.0))
    return ranges


def wants_sse(accept: str | None) -> bool:
    """True when ``Accept`` prefers ``text/event-stream`` to ``application/json`` (see module doc)."""
    if not accept or "event-stream" not in accept:
        return False
    ranges = _media_q(accept)
    sse = ranges.get("text/event-stream", 0.0)
    json_q = max(ranges.get("application/json", 0.0), ranges.get("application/*", 0.0), ranges.get("*/*", 0.0))
    return sse > 0.0 and sse > json_q


def _signature(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]


def new_session_id(secret: str) -> str:
    token = secrets.token_hex(16)
    return f"{token}.{_signature(secret, token)}"


def valid_session_id(secret: str, session_id: str) -> bool:
    token, _, signature = session_id.partition(".")
    return bool(token) and hmac.compare_digest(signature, _signature(secret, token))


def _reply(request: Request, responses: list[dict[str, Any]], batch: bool, headers: dict[str, str]) -> Response:
    if not responses:
        return Response(202, b"", "application/json", headers)
    status = 400 if not batch and responses[0].get("error", {}).get("code") in (PARSE_ERROR, INVALID_REQUEST) else 200
    if wants_sse(request.headers.get("accept")):
        events = tuple(b"event: message\ndata: " + orjson.dumps(r) + b"\n\n" for r in responses)
        return Response(status, b"", "text/event-stream", {"Cache-Control": "no-cache", **headers}, chunks=events)
    return Response(status, orjson.dumps(responses if batch else responses[0]), "application/json", headers)


def mcp_http(request: Request, ctx: TargetContext) -> Response:
    """``POST /mcp`` (streamable HTTP transport)."""
    secret = ctx.config.jwt_secret
    session = request.headers.get(SESSION_HEADER.lower())
    if session is not None and not valid_session_id(secret, session):
        return Response.json(_error(None, -32001, "Session not found"), 404)
    version = request.headers.get("mcp-protocol-version")
    if version is not None and version not in PROTOCOL_VERSIONS:
        return Response.json(_error(None, INVALID_REQUEST, f"Unsupported MCP-Protocol-Version: {version}"), 400)
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return _reply(request, [_error(None, PARSE_ERROR, "Parse error")], False, {})
    batch = isinstance(body, list)
    messages = body if batch else [body]
    ctx.stats.mcp_messages += len(messages)
    if batch and not messages:
        return _reply(request, [_error(None, INVALID_REQUEST, "Invalid Request: empty batch")], False, {})
    store = ctx.data
    responses = [r for r in (dispatch(m, store) for m in messages) if r is not None]
    headers: dict[str, str] = {}
    initialized = any(isinstance(m, dict) and m.get("method") == "initialize" for m in messages)
    if initialized and session is None and any("result" in r for r in responses):
        headers[SESSION_HEADER] = new_session_id(secret)
    return _reply(request, responses, batch, headers)
