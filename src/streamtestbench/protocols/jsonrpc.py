"""Sans-IO JSON-RPC 2.0: encode requests, match responses to them by id, classify error objects.

Responses are judged strictly, because a load test that accepts a wrong answer measures nothing:
a response must carry ``"jsonrpc": "2.0"``, exactly one of ``result`` and ``error``, and the id of
the request it answers. The only id-less answer allowed is the one the specification mandates: an
error with a null id when the server could not read the request's id (parse error, invalid request).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

VERSION = "2.0"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR_RANGE = range(-32099, -32000 + 1)
"""Implementation-defined server errors."""
RESERVED_RANGE = range(-32768, -32000 + 1)
"""Codes the specification reserves; those it does not name are "reserved error"."""

_NAMED_CODES = {
    PARSE_ERROR: "parse error",
    INVALID_REQUEST: "invalid request",
    METHOD_NOT_FOUND: "method not found",
    INVALID_PARAMS: "invalid params",
    INTERNAL_ERROR: "internal error",
}

RequestId = int | str


def error_class(code: int) -> str:
    """The specification's name for an error code's class."""
    named = _NAMED_CODES.get(code)
    if named is not None:
        return named
    if code in SERVER_ERROR_RANGE:
        return "server error"
    if code in RESERVED_RANGE:
        return "reserved error"
    return "application error"


class JsonRpcProtocolError(ValueError):
    """A response that breaks the protocol; ``kind`` is the low-cardinality name recorded for it."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


ID_MISMATCH = "rpc id mismatch"
INVALID_RESPONSE = "rpc invalid response"
MISSING_RESPONSE = "rpc missing response"


@dataclass(frozen=True, slots=True)
class RpcErrorObject:
    code: int
    message: str
    data: Any = None

    @property
    def error_class(self) -> str:
        return error_class(self.code)


@dataclass(frozen=True, slots=True)
class RpcResponse:
    id: RequestId | None
    result: Any = None
    error: RpcErrorObject | None = None


class IdSequence:
    """Request ids 1, 2, 3...: unique per sequence, which is all matching needs."""

    __slots__ = ("_next",)

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def next(self) -> int:
        value = self._next
        self._next = value + 1
        return value


def _message(method: str, params: Any, request_id: RequestId | None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": VERSION, "method": method}
    if params is not None:
        message["params"] = params
    if request_id is not None:
        message["id"] = request_id
    return message


def encode_request(method: str, params: Any, request_id: RequestId) -> bytes:
    return orjson.dumps(_message(method, params, request_id))


def encode_notification(method: str, params: Any = None) -> bytes:
    """A request without an id: the server must not answer it."""
    return orjson.dumps(_message(method, params, None))


def encode_batch(calls: Iterable[tuple[str, Any, RequestId | None]]) -> bytes:
    """Several requests (id given) and notifications (id None) in one array."""
    return orjson.dumps([_message(method, params, request_id) for method, params, request_id in calls])


class RequestEncoder:
    """One method's requests with the params already encoded: only the id changes per request.

    ``params_json`` is the encoded params (or None for none); per-request params rendered from a
    template can be passed to ``encode`` instead.
    """

    __slots__ = ("_head", "_static_head")

    def __init__(self, method: str, params_json: bytes | None = None) -> None:
        head = orjson.dumps({"jsonrpc": VERSION, "method": method})[:-1]
        self._head = head
        self._static_head = head + b',"params":' + params_json if params_json is not None else head

    def encode(self, request_id: RequestId | None, params_json: bytes | None = None) -> bytes:
        head = self._static_head if params_json is None else self._head + b',"params":' + params_json
        if request_id is None:
            return head + b"}"
        return head + b',"id":' + orjson.dumps(request_id) + b"}"


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, int | str) and not isinstance(value, bool))


def parse_response(message: Any) -> RpcResponse:
    """Validate one response object; raise ``JsonRpcProtocolError`` when it is not one."""
    if not isinstance(message, dict):
        raise JsonRpcProtocolError(INVALID_RESPONSE, f"a response must be an object, got {type(message).__name__}")
    if message.get("jsonrpc") != VERSION:
        raise JsonRpcProtocolError(INVALID_RESPONSE, f'"jsonrpc" must be "2.0", got {message.get("jsonrpc")!r}')
    if "id" not in message:
        raise JsonRpcProtocolError(ID_MISMATCH, "the response has no id")
    response_id = message["id"]
    if not _valid_id(response_id):
        raise JsonRpcProtocolError(INVALID_RESPONSE, f"a response id must be a string, number or null: "
                                                     f"{response_id!r}")
    has_result, has_error = "result" in message, "error" in message
    if has_result == has_error:
        raise JsonRpcProtocolError(INVALID_RESPONSE, "a response needs exactly one of result and error")
    if has_result:
        if response_id is None:
            raise JsonRpcProtocolError(ID_MISMATCH, "a result with a null id answers no request")
        return RpcResponse(response_id, message["result"])
    error = message["error"]
    if not isinstance(error, dict) or not isinstance(error.get("code"), int) or isinstance(error.get("code"), bool) \
            or not isinstance(error.get("message"), str):
        raise JsonRpcProtocolError(INVALID_RESPONSE, f"an error must have an integer code and a message: {error!r}")
    return RpcResponse(response_id, None, RpcErrorObject(error["code"], error["message"], error.get("data")))


def _same_id(received: Any, sent: RequestId) -> bool:
    return type(received) is type(sent) and received == sent


def match_response(payload: Any, request_id: RequestId) -> RpcResponse:
    """The response to ``request_id`` in a decoded body: the object itself, or the batch entry with that id.

    A null-id error (the server could not read the request) is accepted as the answer.
    """
    if isinstance(payload, list):
        for entry in payload:
            if isinstance(entry, dict) and _same_id(entry.get("id"), request_id):
                return parse_response(entry)
        raise JsonRpcProtocolError(ID_MISMATCH, f"no response in the batch has id {request_id!r}")
    response = parse_response(payload)
    if response.id is None or _same_id(response.id, request_id):
        return response
    raise JsonRpcProtocolError(ID_MISMATCH, f"expected id {request_id!r}, got {response.id!r}")


def match_batch(payload: Any, request_ids: Sequence[RequestId]) -> dict[RequestId, RpcResponse]:
    """Each request's response in a batch answer, by id.

    A single null-id error answers the whole batch (the server rejected it as a whole). Unknown or
    repeated ids, and requests left unanswered, are protocol errors.
    """
    if isinstance(payload, dict):
        response = parse_response(payload)
        if response.id is None and response.error is not None:
            return dict.fromkeys(request_ids, response)
        raise JsonRpcProtocolError(INVALID_RESPONSE, "a batch must be answered with an array")
    if not isinstance(payload, list) or not payload:
        raise JsonRpcProtocolError(INVALID_RESPONSE, "a batch must be answered with a non-empty array")
    wanted = {(type(i), i) for i in request_ids}
    matched: dict[RequestId, RpcResponse] = {}
    unmatched_errors: list[RpcResponse] = []
    for entry in payload:
        response = parse_response(entry)
        if response.id is None:
            unmatched_errors.append(response)
            continue
        key = (type(response.id), response.id)
        if key not in wanted:
            raise JsonRpcProtocolError(ID_MISMATCH, f"the batch answer has an unknown id {response.id!r}")
        if response.id in matched:
            raise JsonRpcProtocolError(ID_MISMATCH, f"the batch answer repeats id {response.id!r}")
        matched[response.id] = response
    missing = [i for i in request_ids if i not in matched]
    if len(missing) > len(unmatched_errors):
        raise JsonRpcProtocolError(MISSING_RESPONSE, f"no response for ids {missing!r}")
    for request_id, response in zip(missing, unmatched_errors, strict=False):
        matched[request_id] = response  # invalid members answered with null-id errors, in order
    return matched


def decode(body: bytes) -> Any:
    """Decode a body as JSON, as a protocol error when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise JsonRpcProtocolError(INVALID_RESPONSE, f"the body is not JSON ({error})") from None
