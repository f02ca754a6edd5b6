"""The text/event-stream parser: fields, line ends, comments and chunks split anywhere."""

from __future__ import annotations

import pytest

from streamtestbench.protocols import sse
from streamtestbench.protocols.sse import SseEvent, SseParser, SseProtocolError, parse_event_stream

STREAM = (
    b": keep-alive comment\n"
    b"event: message\n"
    b"id: 7\n"
    b'data: {"jsonrpc":"2.0",\n'
    b'data: "id":1}\n'
    b"\n"
    b"retry: 3000\n"
    b"data: second\n"
    b"\n"
)
EXPECTED = [
    SseEvent("message", '{"jsonrpc":"2.0",\n"id":1}', "7"),
    SseEvent("message", "second", "7", 3000),
]


def test_an_event_collects_its_fields_and_the_id_persists() -> None:
    assert parse_event_stream(STREAM) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_every_line_ending_is_a_line_end(newline: bytes) -> None:
    assert parse_event_stream(STREAM.replace(b"\n", newline)) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_a_stream_split_at_any_byte_parses_the_same(newline: bytes) -> None:
    stream = b"\xef\xbb\xbf" + STREAM.replace(b"\n", newline)
    for cut in range(len(stream) + 1):
        parser = SseParser()
        events = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert events == EXPECTED, f"split at byte {cut}"


def test_a_stream_fed_one_byte_at_a_time_parses_the_same() -> None:
    parser = SseParser()
    events = [event for index in range(len(STREAM)) for event in parser.feed(STREAM[index:index + 1])]
    assert events == EXPECTED


def test_a_crlf_split_between_its_cr_and_lf_is_one_line_end_not_two() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r\n\r\n") == [SseEvent("message", "a\nb", None)]


def test_named_events_and_a_field_without_a_colon() -> None:
    events = parse_event_stream(b"event: endpoint\ndata\n\nevent:ping\ndata:  two spaces\n\n")
    assert events == [SseEvent("endpoint", "", None), SseEvent("ping", " two spaces", None)]


def test_blocks_without_data_dispatch_nothing_and_unknown_fields_are_ignored() -> None:
    assert parse_event_stream(b"event: lonely\n\nfoo: bar\nid: 3\n\n: only a comment\n\n") == []


def test_an_id_with_a_nul_is_ignored() -> None:
    assert parse_event_stream(b"id: 1\n\nid: a\x00b\ndata: x\n\n") == [SseEvent("message", "x", "1")]


def test_an_event_cut_off_by_the_end_of_the_stream_is_not_dispatched() -> None:
    assert parse_event_stream(b"data: complete\n\ndata: cut off\n") == [SseEvent("message", "complete", None)]


def test_a_non_numeric_retry_is_ignored() -> None:
    assert parse_event_stream(b"retry: soon\ndata: x\n\n") == [SseEvent("message", "x", None, None)]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert parse_event_stream(b"data: \xff\n\n") == [SseEvent("message", "\ufffd", None)]


def test_an_endless_line_is_a_protocol_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "MAX_LINE_BYTES", 64)
    parser = SseParser()
    parser.feed(b"data: " + b"x" * 50)
    with pytest.raises(SseProtocolError, match="without a line end"):
        parser.feed(b"x" * 50)
