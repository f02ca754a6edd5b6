"""The NATS codec on plain bytes: commands, partial reads, headers, -ERR, malformed input, URLs."""

from __future__ import annotations

import pytest

from streamtestbench.protocols.nats import (
    OK,
    PING,
    PONG,
    Err,
    Info,
    Msg,
    NatsParser,
    NatsProtocolError,
    encode_connect,
    encode_hpub,
    encode_pub,
    encode_sub,
    encode_unsub,
    parse_url,
)


# -- encoding ---------------------------------------------------------------------------------
def test_commands_encode_to_the_wire_format() -> None:
    assert encode_pub("a.b", b"hello") == b"PUB a.b 5\r\nhello\r\n"
    assert encode_pub("a.b", b"", reply="_INBOX.1") == b"PUB a.b _INBOX.1 0\r\n\r\n"
    assert encode_sub("a.*", 7) == b"SUB a.* 7\r\n"
    assert encode_sub("a.>", 8, queue="workers") == b"SUB a.> workers 8\r\n"
    assert encode_unsub(7) == b"UNSUB 7\r\n"
    assert encode_unsub(7, 10) == b"UNSUB 7 10\r\n"
    assert encode_connect({"verbose": False}) == b'CONNECT {"verbose":false}\r\n'


def test_hpub_counts_header_and_total_bytes() -> None:
    wire = encode_hpub("s", {"K": "v"}, b"xy")
    block = b"NATS/1.0\r\nK: v\r\n\r\n"
    assert wire == b"HPUB s %d %d\r\n%bxy\r\n" % (len(block), len(block) + 2, block)


@pytest.mark.parametrize("subject", ["", "a b", "a\tb", "a\r\n"])
def test_subjects_with_whitespace_are_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        encode_pub(subject, b"x")


# -- decoding ---------------------------------------------------------------------------------
def test_every_server_operation_is_decoded() -> None:
    parser = NatsParser()
    events = parser.feed(
        b'INFO {"server_id":"x","max_payload":1024,"headers":true}\r\n'
        b"PING\r\nPONG\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n"
        b"MSG foo.bar 9 5\r\nhello\r\n"
        b"msg foo.bar 9 reply.to 0\r\n\r\n"
    )
    assert events[0] == Info({"server_id": "x", "max_payload": 1024, "headers": True})
    assert isinstance(events[0], Info) and events[0].max_payload == 1024 and events[0].headers
    assert events[1:5] == [PING, PONG, OK, Err("Unknown Protocol Operation")]
    assert events[5] == Msg("foo.bar", 9, None, b"hello")
    assert events[6] == Msg("foo.bar", 9, "reply.to", b"")
    assert parser.buffered == 0


def test_a_payload_containing_crlf_is_taken_by_length_not_by_line() -> None:
    events = NatsParser().feed(b"MSG s 1 10\r\nab\r\nPING\r\n\r\nPONG\r\n")
    assert events == [Msg("s", 1, None, b"ab\r\nPING\r\n"), PONG]


def test_byte_by_byte_feeding_gives_the_same_events_as_one_read() -> None:
    wire = (b"MSG a.b 1 11\r\nhello world\r\nPING\r\n"
            b"HMSG a.c 2 r 22 24\r\nNATS/1.0\r\nX-Id: 42\r\n\r\nok\r\n-ERR 'Stale Connection'\r\n")
    whole = NatsParser().feed(wire)
    parser = NatsParser()
    pieces = []
    for index in range(len(wire)):
        pieces.extend(parser.feed(wire[index:index + 1]))
    assert pieces == whole
    assert whole == [
        Msg("a.b", 1, None, b"hello world"),
        PING,
        Msg("a.c", 2, "r", b"ok", {"X-Id": "42"}, None),
        Err("Stale Connection"),
    ]


def test_hmsg_status_line_is_read() -> None:
    block = b"NATS/1.0 503\r\n\r\n"
    events = NatsParser().feed(b"HMSG inbox 3 %d %d\r\n%b\r\n" % (len(block), len(block), block))
    assert events == [Msg("inbox", 3, None, b"", {}, 503)]


def test_a_message_split_across_reads_waits_for_its_payload() -> None:
    parser = NatsParser()
    assert parser.feed(b"MSG s 1 10\r\n01234") == []
    assert parser.feed(b"56789") == []
    assert parser.feed(b"\r") == []
    assert parser.feed(b"\nPO") == [Msg("s", 1, None, b"0123456789")]
    assert parser.feed(b"NG\r\n") == [PONG]


@pytest.mark.parametrize("wire", [
    b"HELLO\r\n",
    b"MSG s x 3\r\nabc\r\n",
    b"MSG s 1\r\n",
    b"MSG s 1 3\r\nabcd\r\n",
    b"INFO not-json\r\n",
    b"HMSG s 1 10 5\r\n",
])
def test_garbage_is_a_protocol_error(wire: bytes) -> None:
    with pytest.raises(NatsProtocolError):
        NatsParser().feed(wire)


def test_events_before_a_violation_travel_with_the_error() -> None:
    with pytest.raises(NatsProtocolError) as caught:
        NatsParser().feed(b"PONG\r\nMSG s 1 1\r\nx\r\nBOGUS\r\nPING\r\n")
    assert caught.value.events == [PONG, Msg("s", 1, None, b"x")]


def test_an_endless_control_line_is_a_protocol_error() -> None:
    with pytest.raises(NatsProtocolError, match="control line"):
        NatsParser().feed(b"INFO " + b"x" * 70_000)


def test_urls() -> None:
    assert parse_url("nats://127.0.0.1:4222").auth_options() == {}
    assert parse_url("127.0.0.1").port == 4222
    assert parse_url("nats://u:p%40ss@localhost:5000").auth_options() == {"user": "u", "pass": "p@ss"}
    assert parse_url("nats://s3cret@localhost").auth_options() == {"auth_token": "s3cret"}
    with pytest.raises(ValueError, match="NATS URL"):
        parse_url("http://127.0.0.1:4222")
