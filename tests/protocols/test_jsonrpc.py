"""JSON-RPC 2.0: encoding, matching responses by id (single and batch), error classes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamtestbench.protocols.jsonrpc import (
    ID_MISMATCH,
    INVALID_RESPONSE,
    MISSING_RESPONSE,
    IdSequence,
    JsonRpcProtocolError,
    RequestEncoder,
    RpcErrorObject,
    RpcResponse,
    decode,
    encode_batch,
    encode_notification,
    encode_request,
    error_class,
    match_batch,
    match_response,
    parse_response,
)


def test_requests_carry_version_method_params_and_id() -> None:
    assert orjson.loads(encode_request("sum", [1, 2], 4)) == {"jsonrpc": "2.0", "method": "sum", "params": [1, 2],
                                                              "id": 4}
    assert orjson.loads(encode_request("ping", None, "a")) == {"jsonrpc": "2.0", "method": "ping", "id": "a"}


def test_a_notification_has_no_id() -> None:
    assert orjson.loads(encode_notification("notifications/initialized")) == {
        "jsonrpc": "2.0", "method": "notifications/initialized"}


def test_a_batch_mixes_requests_and_notifications() -> None:
    assert orjson.loads(encode_batch([("a", None, 1), ("b", {"x": 1}, None)])) == [
        {"jsonrpc": "2.0", "method": "a", "id": 1},
        {"jsonrpc": "2.0", "method": "b", "params": {"x": 1}},
    ]


def test_the_encoder_reuses_encoded_params_and_takes_rendered_ones() -> None:
    encoder = RequestEncoder("tools/call", b'{"name":"echo"}')
    assert orjson.loads(encoder.encode(9)) == {"jsonrpc": "2.0", "method": "tools/call",
                                               "params": {"name": "echo"}, "id": 9}
    assert orjson.loads(encoder.encode(None, b"[1]")) == {"jsonrpc": "2.0", "method": "tools/call", "params": [1]}
    assert orjson.loads(RequestEncoder("x").encode("id-1")) == {"jsonrpc": "2.0", "method": "x", "id": "id-1"}


def test_ids_are_generated_in_sequence() -> None:
    ids = IdSequence()
    assert [ids.next() for _ in range(3)] == [1, 2, 3]


def test_a_result_matching_the_id_is_returned() -> None:
    assert match_response({"jsonrpc": "2.0", "id": 3, "result": {"ok": True}}, 3) == RpcResponse(3, {"ok": True})


@pytest.mark.parametrize(("received", "sent"), [(4, 3), ("3", 3), (3, "3"), ("b", "a")])
def test_a_response_with_another_id_is_a_protocol_error(received: Any, sent: Any) -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        match_response({"jsonrpc": "2.0", "id": received, "result": 1}, sent)
    assert caught.value.kind == ID_MISMATCH


def test_a_response_without_an_id_is_a_protocol_error() -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        match_response({"jsonrpc": "2.0", "result": 1}, 1)
    assert caught.value.kind == ID_MISMATCH


def test_a_result_with_a_null_id_answers_nothing() -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        match_response({"jsonrpc": "2.0", "id": None, "result": 1}, 1)
    assert caught.value.kind == ID_MISMATCH


def test_an_error_with_a_null_id_is_the_servers_answer_to_an_unreadable_request() -> None:
    response = match_response({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}, 1)
    assert response.error == RpcErrorObject(-32700, "Parse error")


@pytest.mark.parametrize(("code", "name"), [
    (-32700, "parse error"),
    (-32600, "invalid request"),
    (-32601, "method not found"),
    (-32602, "invalid params"),
    (-32603, "internal error"),
    (-32000, "server error"),
    (-32099, "server error"),
    (-32100, "reserved error"),
    (-32768, "reserved error"),
    (-1, "application error"),
    (42, "application error"),
])
def test_error_codes_are_classified(code: int, name: str) -> None:
    assert error_class(code) == name
    response = match_response({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": "m", "data": [1]}}, 1)
    assert response.error is not None
    assert (response.error.error_class, response.error.data) == (name, [1])


@pytest.mark.parametrize("message", [
    [],
    "text",
    {"id": 1, "result": 1},
    {"jsonrpc": "1.0", "id": 1, "result": 1},
    {"jsonrpc": "2.0", "id": 1},
    {"jsonrpc": "2.0", "id": 1, "result": 1, "error": {"code": 1, "message": "m"}},
    {"jsonrpc": "2.0", "id": 1, "error": "bad"},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": "1", "message": "m"}},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": 1}},
    {"jsonrpc": "2.0", "id": 1.5, "result": 1},
    {"jsonrpc": "2.0", "id": [1], "result": 1},
    {"jsonrpc": "2.0", "id": True, "result": 1},
])
def test_malformed_responses_are_invalid(message: Any) -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        parse_response(message)
    assert caught.value.kind == INVALID_RESPONSE


def test_a_body_that_is_not_json_is_an_invalid_response() -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        decode(b"<html>")
    assert caught.value.kind == INVALID_RESPONSE


def test_a_single_request_answered_inside_a_batch_is_found_by_id() -> None:
    batch = [{"jsonrpc": "2.0", "id": 1, "result": "a"}, {"jsonrpc": "2.0", "id": 2, "result": "b"}]
    assert match_response(batch, 2).result == "b"
    with pytest.raises(JsonRpcProtocolError) as caught:
        match_response(batch, 3)
    assert caught.value.kind == ID_MISMATCH


def test_a_batch_answer_is_matched_by_id_in_any_order() -> None:
    answer = [
        {"jsonrpc": "2.0", "id": "b", "error": {"code": -32601, "message": "Method not found"}},
        {"jsonrpc": "2.0", "id": "a", "result": 7},
    ]
    matched = match_batch(answer, ["a", "b"])
    assert matched["a"].result == 7
    assert matched["b"].error is not None and matched["b"].error.error_class == "method not found"


def test_a_batch_answer_with_an_unknown_or_repeated_id_is_a_mismatch() -> None:
    for answer in ([{"jsonrpc": "2.0", "id": 9, "result": 1}],
                   [{"jsonrpc": "2.0", "id": 1, "result": 1}, {"jsonrpc": "2.0", "id": 1, "result": 2}]):
        with pytest.raises(JsonRpcProtocolError) as caught:
            match_batch(answer, [1, 2])
        assert caught.value.kind == ID_MISMATCH


def test_a_batch_answer_missing_a_response_is_a_protocol_error() -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        match_batch([{"jsonrpc": "2.0", "id": 1, "result": 1}], [1, 2])
    assert caught.value.kind == MISSING_RESPONSE


def test_null_id_errors_in_a_batch_answer_the_unmatched_requests() -> None:
    invalid = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
    matched = match_batch([{"jsonrpc": "2.0", "id": 1, "result": 1}, invalid], [1, 2])
    assert matched[2].error is not None and matched[2].error.code == -32600


def test_a_batch_rejected_as_a_whole_answers_every_request() -> None:
    rejected = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    matched = match_batch(rejected, [1, 2])
    assert set(matched) == {1, 2} and all(r.error is not None for r in matched.values())


@pytest.mark.parametrize("answer", [[], {"jsonrpc": "2.0", "id": 1, "result": 1}, "x"])
def test_a_batch_answered_with_anything_but_a_non_empty_array_is_invalid(answer: Any) -> None:
    with pytest.raises(JsonRpcProtocolError) as caught:
        match_batch(answer, [1])
    assert caught.value.kind == INVALID_RESPONSE
