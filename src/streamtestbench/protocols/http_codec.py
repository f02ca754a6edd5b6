"""HTTP/1.1 without I/O: request bytes out, response events in (httptools/llhttp underneath).

The client keeps one request in flight per connection, so the parser is always at a message
boundary when the next request is sent. That lets it choose, per response, how much to collect:

- ``LEAN``: status and keep-alive only. llhttp still walks the headers and body in C, but no Python
  callback runs for them; one callback per response. For responses nobody inspects.
- ``BODY``: the body too, for checks and captures that read it; no Python call per header.
- ``FULL``: lower-cased headers and the body, for header checks, redirects, logins and RPC calls.
- *head*: the response to a HEAD request, whose Content-Length describes a body that never comes
  (llhttp cannot be told, so the short head is parsed here).

204, 304 and 1xx responses carry no body; llhttp knows. Interim 1xx responses are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

import httptools

__all__ = [
    "BODY",
    "BODY_METHODS",
    "FULL",
    "LEAN",
    "HttpProtocolError",
    "ResponseHandler",
    "ResponseParser",
    "encode_request",
    "header_lines",
    "safe_target",
]

ResponseHandler = Callable[[int, "dict[str, str] | None", "bytes | None", bool], None]
"""Called once per final response: (status, headers, body, keep_alive); headers and body are None when LEAN,
headers ``{}`` when BODY."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods that always say how long their body is, even when it is empty."""

_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNSAFE_TARGET = re.compile(r"[^!-~]|%(?![0-9A-Fa-f]{2})")
_TARGET_SAFE_CHARS = "/?&=:+,;@!$'()*~[]-._%"
_BAD_HEADER = re.compile(r"[\r\n\x00]")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class HttpProtocolError(ValueError):
    """The peer sent something that is not a valid HTTP/1.1 response (or one nobody asked for)."""


# -- requests ---------------------------------------------------------------------------------
def safe_target(target: str) -> str:
    """Percent-encode what may not appear raw in a request target (spaces, non-ASCII, stray %)."""
    if target.isascii() and target.isprintable() and " " not in target and "%" not in target:
        return target  # the usual case, decided without a regular expression
    if _UNSAFE_TARGET.search(target) is None:
        return target
    return quote(_STRAY_PERCENT.sub("%25", target), safe=_TARGET_SAFE_CHARS)


def header_lines(headers: Iterable[tuple[str, str]]) -> bytes:
    """``Name: value\\r\\n`` lines; refuses names that are not tokens and values that would split lines."""
    out = []
    for name, value in headers:
        if not _TOKEN.match(name):
            raise ValueError(f"invalid HTTP header name {name!r}")
        if _BAD_HEADER.search(value):
            raise ValueError(f"HTTP header {name} has a line break or NUL in its value")
        out.append(f"{name}: {value}\r\n")
    return "".join(out).encode()


def encode_request(method: str, target: str, host: str, headers: Iterable[tuple[str, str]] = (),
                   body: bytes | None = None, *, extra: bytes = b"", keep_alive: bool = True) -> bytes:
    """One complete request. ``extra`` is header lines already encoded (an auth header, say)."""
    head = [f"{method} {safe_target(target)} HTTP/1.1\r\n".encode(), header_lines((("Host", host),)),
            header_lines(headers), extra]
    if keep_alive:
        head.append(b"Connection: keep-alive\r\n")
    if body is not None or method in BODY_METHODS:
        head.append(b"Content-Length: %d\r\n" % (len(body) if body else 0))
    head.append(b"\r\n")
    if body:
        head.append(body)
    return b"".join(head)


# -- responses --------------------------------------------------------------------------------
LEAN, BODY, FULL = 0, 1, 2
"""How much of a response to collect: status only, status and body, or status, headers and body."""


class _Lean:
    """httptools callbacks that collect nothing: one Python call per response."""

    __slots__ = ("body", "headers", "owner", "parser")

    def __init__(self, owner: ResponseParser) -> None:
        self.owner = owner
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.parser = httptools.HttpResponseParser(self)

    def on_message_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        if status >= 200:  # interim 1xx responses are skipped; the final one follows
            owner = self.owner
            owner._pending = False
            owner.on_response(status, None, None, parser.should_keep_alive())

    def reads_until_close(self) -> bool | None:
        """Whether the response in progress ends when the peer closes (None: not known without headers)."""
        return None


class _Body(_Lean):
    """Collects the body (checks and captures that read it); headers are skipped (None).

    State is reset when a message completes rather than when one begins: one Python call fewer per response.
    The chunk list is emptied in place, not replaced: nothing is allocated per response but the body.
    """

    __slots__ = ()

    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        chunks = self.body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if status >= 200:
            owner = self.owner
            owner._pending = False
            owner.on_response(status, None, body, parser.should_keep_alive())


class _Full(_Body):
    """Also keeps lower-cased headers, repeats joined by ", "."""

    __slots__ = ()

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        known = self.headers.get(key)
        self.headers[key] = text if known is None else f"{known}, {text}"

    def on_message_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        headers, body = self.headers, self.body
        self.headers, self.body = {}, []
        if status >= 200:
            owner = self.owner
            owner._pending = False
            owner.on_response(status, headers, body[0] if len(body) == 1 else b"".join(body),
                              parser.should_keep_alive())

    def reads_until_close(self) -> bool | None:
        headers = self.headers
        return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "").lower()


def _parse_head(raw: bytes) -> tuple[int, dict[str, str], bool]:
    """Status, headers and keep-alive from a response head (status line + header lines)."""
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpProtocolError(f"malformed status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpProtocolError(f"malformed header line {line[:80]!r}")
        key = name.strip().lower()
        known = headers.get(key)
        headers[key] = value.strip() if known is None else f"{known}, {value.strip()}"
    connection = headers.get("connection", "").lower()
    keep_alive = "keep-alive" in connection if parts[0] == "HTTP/1.0" else "close" not in connection
    return int(parts[1]), headers, keep_alive


class ResponseParser:
    """Feed bytes as they arrive; each final response is handed to ``on_response``.

    Call :meth:`expect` before sending each request to say how the answer should be read.
    """

    __slots__ = ("_feed_data", "_head", "_head_buffer", "_mode", "_modes", "_pending", "on_response")

    def __init__(self, on_response: ResponseHandler, mode: int = FULL) -> None:
        self.on_response = on_response
        self._modes: list[_Lean | None] = [None, None, None]
        """One llhttp parser per mode, made when first needed (most connections only ever use one)."""
        self._mode = self._made(mode)
        self._feed_data = self._mode.parser.feed_data
        self._head = False
        self._head_buffer = bytearray()
        self._pending = False
        """Bytes were fed since the last complete response: a response is in progress."""

    def _made(self, mode: int) -> _Lean:
        made = self._modes[mode]
        if made is None:
            made = self._modes[mode] = (_Lean, _Body, _Full)[mode](self)
        return made

    def expect(self, mode: int = FULL, head: bool = False) -> None:
        """How to read the next response: ``LEAN``, ``BODY`` or ``FULL``; ``head`` for the answer to a HEAD."""
        self._mode = self._made(mode)
        self._feed_data = self._mode.parser.feed_data
        self._head = head

    def feed(self, data: bytes) -> None:
        """Parse ``data``; raises :class:`HttpProtocolError` when it is not HTTP."""
        self._pending = True
        if self._head:
            self._feed_head(data)
            return
        try:
            self._feed_data(data)
        except httptools.HttpParserUpgrade:
            raise HttpProtocolError("the server switched protocols unasked") from None
        except httptools.HttpParserError as error:
            raise HttpProtocolError(f"malformed HTTP response: {error}") from None

    def _feed_head(self, data: bytes) -> None:
        buffer = self._head_buffer
        buffer += data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > 1 << 20:
                raise HttpProtocolError("response head larger than 1 MiB")
            return
        raw, rest = bytes(buffer[:end]), bytes(buffer[end + 4:])
        buffer.clear()
        status, headers, keep_alive = _parse_head(raw)
        if 100 <= status < 200:
            if rest:
                self._feed_head(rest)
            return
        self._head = False
        self._complete(status, headers, b"", keep_alive)
        if rest:
            self.feed(rest)

    def _complete(self, status: int, headers: dict[str, str] | None, body: bytes | None, keep_alive: bool) -> None:
        if status < 200:  # interim (100 Continue, 103 Early Hints): the final response follows
            return
        self._pending = False
        self.on_response(status, headers, body, keep_alive)

    @property
    def in_progress(self) -> bool:
        return self._pending

    def eof(self) -> bool:
        """The peer closed. True when that ended a response whose body runs to the close (delivered)."""
        if not self._pending or self._head:
            return False
        mode = self._mode
        parser = mode.parser
        status = parser.get_status_code()
        if not status:
            return False
        until_close = mode.reads_until_close()
        if until_close is None:  # no headers kept: llhttp reports no keep-alive for a body that runs to the close
            until_close = not parser.should_keep_alive()
        if not until_close:
            return False
        kept = isinstance(mode, _Body)
        self._complete(status, mode.headers if kept else None, b"".join(mode.body) if kept else None, False)
        return True
