"""The HTTP codec with bytes only: request encoding and response parsing in every framing."""

from __future__ import annotations

from typing import Any

import pytest

from streamtestbench.protocols.http_codec import (
    BODY,
    FULL,
    LEAN,
    HttpProtocolError,
    ResponseParser,
    encode_request,
    header_lines,
    safe_target,
)


class Collected:
    def __init__(self) -> None:
        self.responses: list[tuple[int, dict[str, str] | None, bytes | None, bool]] = []

    def __call__(self, status: int, headers: dict[str, str] | None, body: bytes | None, keep_alive: bool) -> None:
        self.responses.append((status, headers, body, keep_alive))


def parser_for(**expect: Any) -> tuple[ResponseParser, Collected]:
    collected = Collected()
    parser = ResponseParser(collected)
    parser.expect(**expect)
    return parser, collected


# -- requests ---------------------------------------------------------------------------------
def test_get_has_host_and_keep_alive_and_no_length() -> None:
    data = encode_request("GET", "/users?limit=10", "127.0.0.1:8080", [("Accept", "application/json")])
    assert data == (b"GET /users?limit=10 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: application/json\r\n"
                    b"Connection: keep-alive\r\n\r\n")


def test_post_says_how_long_its_body_is() -> None:
    data = encode_request("POST", "/echo", "h", body=b'{"a":1}')
    assert data.endswith(b"Content-Length: 7\r\n\r\n{\"a\":1}")


def test_post_without_body_sends_zero_length() -> None:
    assert b"Content-Length: 0\r\n\r\n" in encode_request("POST", "/x", "h")
    assert b"Content-Length" not in encode_request("DELETE", "/x", "h")


def test_extra_lines_are_inserted_verbatim() -> None:
    data = encode_request("GET", "/", "h", extra=b"Authorization: Bearer t\r\n")
    assert b"\r\nAuthorization: Bearer t\r\n" in data


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00"])
def test_header_values_cannot_split_lines(value: str) -> None:
    with pytest.raises(ValueError, match="line break or NUL"):
        header_lines([("X-Test", value)])


def test_header_names_must_be_tokens() -> None:
    with pytest.raises(ValueError, match="invalid HTTP header name"):
        header_lines([("Bad Name", "v")])


@pytest.mark.parametrize(("raw", "sent"), [
    ("/api/v1/users?limit=10", "/api/v1/users?limit=10"),
    ("/search?q=hello world", "/search?q=hello%20world"),
    ("/caf\u00e9", "/caf%C3%A9"),
    ("/a%2Fb", "/a%2Fb"),
    ("/100%", "/100%25"),
    ("/x\r\nX-Injected: 1", "/x%0D%0AX-Injected:%201"),
    ("/tab\there", "/tab%09here"),
])
def test_request_targets_are_made_safe(raw: str, sent: str) -> None:
    assert safe_target(raw) == sent


# -- responses --------------------------------------------------------------------------------
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"


def test_full_mode_keeps_lower_cased_headers_and_body() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(RESPONSE)
    assert got.responses == [(200, {"content-type": "text/plain", "content-length": "5"}, b"hello", True)]
    assert not parser.in_progress


def test_lean_mode_gives_status_only() -> None:
    parser, got = parser_for(mode=LEAN)
    parser.feed(RESPONSE)
    assert got.responses == [(200, None, None, True)]


def test_a_response_split_byte_by_byte() -> None:
    parser, got = parser_for(mode=FULL)
    for index in range(len(RESPONSE)):
        parser.feed(RESPONSE[index:index + 1])
    assert got.responses[0][2] == b"hello"
    assert len(got.responses) == 1


def test_chunked_body_is_reassembled() -> None:
    wire = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n")
    parser, got = parser_for(mode=FULL)
    parser.feed(wire[:30])
    parser.feed(wire[30:])
    assert got.responses[0][2] == b"Wikipedia in \r\n\r\nchunks."


def test_chunked_in_lean_mode_completes_once() -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    parser, got = parser_for(mode=LEAN)
    parser.feed(wire)
    assert got.responses == [(200, None, None, True)]


def test_repeated_headers_are_joined() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n")
    headers = got.responses[0][1]
    assert headers is not None and headers["set-cookie"] == "a=1, b=2"


def test_head_response_has_no_body_despite_its_length() -> None:
    parser, got = parser_for(mode=FULL, head=True)
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
    assert got.responses == [(200, {"content-length": "1234"}, b"", True)]
    parser.expect(FULL)
    parser.feed(RESPONSE)
    assert got.responses[1][2] == b"hello"


def test_head_response_in_pieces() -> None:
    parser, got = parser_for(head=True)
    parser.feed(b"HTTP/1.1 404 Not Found\r\nConn")
    assert not got.responses
    parser.feed(b"ection: close\r\n\r\n")
    assert got.responses == [(404, {"connection": "close"}, b"", False)]


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_and_not_modified_have_no_body(status: int) -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(f"HTTP/1.1 {status} X\r\nETag: \"1\"\r\n\r\n".encode() + RESPONSE)
    assert [r[0] for r in got.responses] == [status, 200]
    assert got.responses[0][2] == b""


def test_interim_continue_is_skipped() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(b"HTTP/1.1 100 Continue\r\n\r\n" + RESPONSE)
    assert [r[0] for r in got.responses] == [200]


def test_connection_close_ends_keep_alive() -> None:
    parser, got = parser_for(mode=LEAN)
    parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert got.responses[0][3] is False


def test_http_1_0_is_not_kept_alive_by_default() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert got.responses[0][3] is False


def test_body_that_runs_to_the_close_completes_at_eof() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
    parser.feed(b"part two")
    assert not got.responses
    assert parser.eof() is True
    assert got.responses == [(200, {"connection": "close"}, b"part one, part two", False)]


def test_body_that_runs_to_the_close_in_lean_mode() -> None:
    parser, got = parser_for(mode=LEAN)
    parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc")
    assert parser.eof() is True
    assert got.responses == [(200, None, None, False)]


def test_a_response_cut_short_is_not_a_response() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert parser.eof() is False
    assert not got.responses


def test_eof_between_responses_completes_nothing() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(RESPONSE)
    assert parser.eof() is False
    assert len(got.responses) == 1


def test_garbage_is_a_protocol_error() -> None:
    parser, _ = parser_for(mode=FULL)
    with pytest.raises(HttpProtocolError):
        parser.feed(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_malformed_head_for_head_request() -> None:
    parser, _ = parser_for(head=True)
    with pytest.raises(HttpProtocolError, match="status line"):
        parser.feed(b"HELLO\r\n\r\n")


def test_modes_change_between_responses_on_one_connection() -> None:
    parser, got = parser_for(mode=LEAN)
    parser.feed(RESPONSE)
    parser.expect(FULL)
    parser.feed(RESPONSE)
    parser.expect(BODY)
    parser.feed(RESPONSE)
    parser.expect(LEAN)
    parser.feed(RESPONSE)
    assert [(r[1], r[2]) for r in got.responses] == [
        (None, None), ({"content-type": "text/plain", "content-length": "5"}, b"hello"), (None, b"hello"), (None, None)]


def test_body_mode_in_pieces_and_chunked() -> None:
    parser, got = parser_for(mode=BODY)
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    for index in range(0, len(wire), 7):
        parser.feed(wire[index:index + 7])
    assert got.responses == [(200, None, b"abcde", True)]


def test_body_that_runs_to_the_close_in_body_mode() -> None:
    parser, got = parser_for(mode=BODY)
    parser.feed(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
    assert parser.eof() is True
    assert got.responses == [(200, {}, b"until the end", False)]


def test_interim_headers_do_not_leak_into_the_final_response() -> None:
    parser, got = parser_for(mode=FULL)
    parser.feed(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + RESPONSE)
    assert got.responses == [(200, {"content-type": "text/plain", "content-length": "5"}, b"hello", True)]
