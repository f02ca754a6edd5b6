"""The seed 002/003/004 message protocol as pure functions (target/messages.py)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.target.messages import (
    Outcome,
    broadcast_message,
    handle_text,
    may_be_command,
    mobile_ack,
    now_ms,
)


def reply(msg: dict[str, Any]) -> Outcome:
    outcome = handle_text(orjson.dumps(msg))
    assert outcome is not None
    return outcome


def only_reply(msg: dict[str, Any]) -> Any:
    outcome = reply(msg)
    assert len(outcome.replies) == 1
    return orjson.loads(outcome.replies[0])


def test_ping_gets_pong() -> None:
    assert only_reply({"type": "ping"}) == {"type": "pong"}


def test_pong_echoes_the_fields_a_client_matches_on() -> None:
    got = only_reply({"type": "ping", "id": "abc", "timestamp": 1234.5, "data": {"ignored": True}})
    assert got == {"type": "pong", "id": "abc", "timestamp": 1234.5}


def test_subscribe_and_unsubscribe_confirm_the_channel() -> None:
    sub = reply({"type": "subscribe", "channel": "agents"})
    assert orjson.loads(sub.replies[0]) == {"type": "subscribed", "channel": "agents"}
    assert sub.subscribe == "agents" and sub.unsubscribe is None
    unsub = reply({"type": "unsubscribe", "channel": "agents"})
    assert orjson.loads(unsub.replies[0]) == {"type": "unsubscribed", "channel": "agents"}
    assert unsub.unsubscribe == "agents"


def test_seed_004_nests_the_channel_in_data() -> None:
    assert reply({"type": "subscribe", "data": {"channel": "loadtest"}}).subscribe == "loadtest"


def test_subscribe_without_channel_is_an_error_reply() -> None:
    got = only_reply({"type": "subscribe"})
    assert got["type"] == "error" and got["request"] == "subscribe"
    assert reply({"type": "subscribe"}).subscribe is None


def test_agent_message_is_answered_with_from_and_to_swapped() -> None:
    got = only_reply(
        {
            "type": "agent_message",
            "from": "user_123",
            "to": "agent_456",
            "payload": {"action": "execute", "timestamp": 1234567890, "data": {"test": True}},
        }
    )
    assert got == {
        "type": "agent_response",
        "from": "agent_456",
        "to": "user_123",
        "payload": {"status": "processed", "action": "execute", "data": {"test": True}},
        "timestamp": 1234567890,
    }


def test_disconnect_acks_then_closes_normally() -> None:
    outcome = reply({"type": "disconnect"})
    assert [orjson.loads(r) for r in outcome.replies] == [{"type": "disconnect_ack"}]
    assert outcome.close_code == 1000


def test_publish_and_seed_004_broadcast_fan_out_without_a_reply() -> None:
    publish = reply({"type": "publish", "channel": "c", "data": {"x": 1}})
    assert publish.publish == ("c", {"x": 1}) and publish.replies == []
    seed4 = reply({"type": "broadcast", "data": {"channel": "loadtest", "data": "message"}})
    assert seed4.publish == ("loadtest", "message") and seed4.replies == []


@pytest.mark.parametrize(
    "payload",
    [
        b"hello",
        b"",
        b"   ",
        b'{"type":"unknown"}',
        b'{"kind":"ping"}',
        b'[{"type":"ping"}]',
        b'{"type":"ping"',  # broken JSON
        b"\xff\xfe not utf-8",
        b'{"type": 5}',
    ],
)
def test_anything_else_is_echoed(payload: bytes) -> None:
    assert handle_text(payload) is None


def test_leading_whitespace_is_still_a_command() -> None:
    assert handle_text(b'  \n{"type":"ping"}') is not None


def test_prefilter_rejects_without_parsing() -> None:
    assert not may_be_command(b"x" * 100)
    assert not may_be_command(b'{"no_type_key": 1}')
    assert may_be_command(b'{"type":"whatever"}')


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    outcome = handle_text(payload)
    assert outcome is None or isinstance(outcome, Outcome)


@given(st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=10),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                    max_leaves=10))
def test_arbitrary_json_with_a_known_type_never_raises(value: Any) -> None:
    for kind in ("ping", "subscribe", "unsubscribe", "agent_message", "publish", "broadcast", "disconnect"):
        for body in ({"type": kind, "channel": value}, {"type": kind, "payload": value, "data": value}):
            assert isinstance(handle_text(orjson.dumps(body)), Outcome)


def test_mobile_ack_carries_the_correlation_and_device() -> None:
    for key in ("correlation_id", "correlationId", "id"):
        ack = orjson.loads(mobile_ack(orjson.dumps({key: "c-1", "x": 1}), "dev-9", 12.5) or b"")
        assert ack == {"type": "ack", "correlation_id": "c-1", "device_id": "dev-9", "server_ts": 12.5}


def test_mobile_ack_without_correlation_and_for_non_json() -> None:
    ack = orjson.loads(mobile_ack(b"[1,2]", "d", 1.0) or b"")
    assert ack["correlation_id"] is None
    assert mobile_ack(b"not json", "d", 1.0) is None


def test_broadcast_message_shape() -> None:
    got = orjson.loads(broadcast_message("prices", 7, {"p": 1}, 1700000000000.123))
    assert got == {"type": "broadcast", "channel": "prices", "seq": 7, "ts": 1700000000000.123, "data": {"p": 1}}


def test_now_ms_is_epoch_milliseconds_with_microseconds() -> None:
    value = now_ms()
    assert abs(value - time.time() * 1000) < 1000
    assert round(value, 3) == value
