"""The NATS client protocol as a sans-IO codec; ``nats_client`` is the asyncio client on top of it.

The codec turns bytes into events (:class:`Info`, :class:`Msg`, :data:`PING`...) and commands into
bytes, with no sockets, so partial reads and error lines are tested with plain byte strings. Protocol
reference: docs.nats.io "Client Protocol" (text protocol, ``\\r\\n`` line endings, case-insensitive
operation names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import orjson

__all__ = [
    "DEFAULT_PORT",
    "OK",
    "PING",
    "PONG",
    "Err",
    "Info",
    "Msg",
    "NatsConnectionClosed",
    "NatsError",
    "NatsParser",
    "NatsPayloadTooLarge",
    "NatsProtocolError",
    "NatsServerError",
    "NatsUrl",
    "encode_connect",
    "encode_hpub",
    "encode_pub",
    "encode_sub",
    "encode_unsub",
    "parse_url",
]

DEFAULT_PORT: Final = 4222
CRLF: Final = b"\r\n"
MAX_CONTROL_LINE: Final = 64 * 1024
"""A control line longer than this without its CRLF is not NATS (the server's own limit is 4 KiB)."""
HEADER_LINE: Final = b"NATS/1.0"

# -- errors ---------------------------------------------------------------------------------
class NatsError(Exception):
    """Anything that went wrong talking NATS."""


class NatsProtocolError(NatsError):
    """The peer sent bytes that are not the NATS protocol; ``events`` are the good ones that came before."""

    events: list[Event]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.events = []


class NatsServerError(NatsError):
    """The server answered ``-ERR``; ``message`` is its text without the quotes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NatsPayloadTooLarge(NatsError):
    """A payload over the server's ``max_payload``: refused here, since the server would drop the connection."""


class NatsConnectionClosed(NatsError):
    """The connection is gone (closed by us, by the server, or never opened)."""


# -- events ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Info:
    """The server's INFO document (sent on connect, and again when the cluster changes)."""

    data: dict[str, Any]

    @property
    def max_payload(self) -> int:
        value = self.data.get("max_payload")
        return value if isinstance(value, int) else 1024 * 1024

    @property
    def headers(self) -> bool:
        return bool(self.data.get("headers"))


@dataclass(slots=True)
class Msg:
    """One delivered message; ``headers`` is None for MSG, a dict (possibly empty) for HMSG."""

    subject: str
    sid: int
    reply: str | None
    payload: bytes
    headers: dict[str, str] | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Err:
    message: str


class _Signal:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


PING: Final = _Signal("PING")
PONG: Final = _Signal("PONG")
OK: Final = _Signal("+OK")

Event = Info | Msg | Err | _Signal


# -- encoding -------------------------------------------------------------------------------
def _token(value: str, what: str) -> bytes:
    if not value or any(ch in value for ch in " \t\r\n"):
        raise ValueError(f"a NATS {what} must be non-empty without whitespace, got {value!r}")
    return value.encode()


def encode_connect(options: Mapping[str, Any]) -> bytes:
    return b"CONNECT " + orjson.dumps(dict(options)) + CRLF


def encode_pub(subject: str, payload: bytes, reply: str | None = None) -> bytes:
    head = _token(subject, "subject")
    if reply is not None:
        head += b" " + _token(reply, "reply subject")
    return b"PUB %b %d\r\n%b\r\n" % (head, len(payload), payload)


def encode_headers(headers: Mapping[str, str]) -> bytes:
    lines = [HEADER_LINE]
    for key, value in headers.items():
        if not key or any(ch in key for ch in ": \r\n") or any(ch in value for ch in "\r\n"):
            raise ValueError(f"bad NATS header {key!r}: {value!r}")
        lines.append(f"{key}: {value}".encode())
    return CRLF.join(lines) + CRLF + CRLF


def encode_hpub(subject: str, headers: Mapping[str, str], payload: bytes, reply: str | None = None) -> bytes:
    head = _token(subject, "subject")
    if reply is not None:
        head += b" " + _token(reply, "reply subject")
    block = encode_headers(headers)
    total = len(block) + len(payload)
    return b"HPUB %b %d %d\r\n%b%b\r\n" % (head, len(block), total, block, payload)


def encode_sub(subject: str, sid: int, queue: str | None = None) -> bytes:
    head = _token(subject, "subject")
    if queue is not None:
        head += b" " + _token(queue, "queue group")
    return b"SUB %b %d\r\n" % (head, sid)


def encode_unsub(sid: int, max_msgs: int | None = None) -> bytes:
    if max_msgs is None:
        return b"UNSUB %d\r\n" % sid
    return b"UNSUB %d %d\r\n" % (sid, max_msgs)


PING_BYTES: Final = b"PING\r\n"
PONG_BYTES: Final = b"PONG\r\n"


# -- decoding -------------------------------------------------------------------------------
def parse_headers(block: bytes) -> tuple[dict[str, str], int | None]:
    """An HMSG header block -> (headers, status code from ``NATS/1.0 503`` or None)."""
    lines = block.split(CRLF)
    first = lines[0]
    if not first.startswith(HEADER_LINE):
        raise NatsProtocolError(f"header block does not start with NATS/1.0: {first[:40]!r}")
    status: int | None = None
    rest = first[len(HEADER_LINE):].strip()
    if rest:
        code = rest.split(None, 1)[0]
        status = int(code) if code.isdigit() else None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition(b":")
        if not sep:
            raise NatsProtocolError(f"malformed header line {line[:40]!r}")
        headers[key.decode().strip()] = value.decode().strip()
    return headers, status


def _int(value: bytes, line: bytes) -> int:
    if not value.isdigit():
        raise NatsProtocolError(f"expected a number in {line[:80]!r}")
    return int(value)


class NatsParser:
    """Feed it whatever the socket gave; it returns every complete event and keeps the rest."""

    __slots__ = ("_buffer", "_pending")

    def __init__(self) -> None:
        self._buffer = bytearray()
        # A MSG/HMSG whose payload has not fully arrived: (subject, sid, reply, header_len, total_len).
        self._pending: tuple[str, int, str | None, int, int] | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        try:
            self._parse(data, events)
        except NatsProtocolError as exc:
            exc.events = events
            raise
        return events

    def _parse(self, data: bytes, events: list[Event]) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        size = len(buffer)
        while start < size:
            pending = self._pending
            if pending is not None:
                total = pending[4]
                end = start + total
                if size < end + 2:
                    break
                if buffer[end:end + 2] != CRLF:
                    raise NatsProtocolError("message payload is not followed by CRLF")
                events.append(self._message(pending, bytes(buffer[start:end])))
                self._pending = None
                start = end + 2
                continue
            eol = buffer.find(CRLF, start)
            if eol < 0:
                if size - start > MAX_CONTROL_LINE:
                    raise NatsProtocolError(f"control line longer than {MAX_CONTROL_LINE} bytes")
                break
            line = bytes(buffer[start:eol])
            start = eol + 2
            event = self._control(line)
            if event is not None:
                events.append(event)
        del buffer[:start]

    @staticmethod
    def _message(pending: tuple[str, int, str | None, int, int], body: bytes) -> Msg:
        subject, sid, reply, header_len, _ = pending
        if header_len < 0:
            return Msg(subject, sid, reply, body)
        headers, status = parse_headers(body[:header_len])
        return Msg(subject, sid, reply, body[header_len:], headers, status)

    def _control(self, line: bytes) -> Event | None:
        parts = line.split(None, 1)
        if not parts:
            raise NatsProtocolError("empty control line")
        name = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else b""
        if name == b"MSG":
            args = rest.split()
            if len(args) not in (3, 4):
                raise NatsProtocolError(f"malformed MSG line {line[:80]!r}")
            reply = args[2].decode() if len(args) == 4 else None
            self._pending = (args[0].decode(), _int(args[1], line), reply, -1, _int(args[-1], line))
            return None
        if name == b"HMSG":
            args = rest.split()
            if len(args) not in (4, 5):
                raise NatsProtocolError(f"malformed HMSG line {line[:80]!r}")
            reply = args[2].decode() if len(args) == 5 else None
            header_len, total = _int(args[-2], line), _int(args[-1], line)
            if header_len > total:
                raise NatsProtocolError(f"HMSG header length exceeds total in {line[:80]!r}")
            self._pending = (args[0].decode(), _int(args[1], line), reply, header_len, total)
            return None
        if name == b"PING":
            return PING
        if name == b"PONG":
            return PONG
        if name == b"+OK":
            return OK
        if name == b"-ERR":
            return Err(rest.strip().strip(b"'").decode(errors="replace"))
        if name == b"INFO":
            try:
                data = orjson.loads(rest)
            except orjson.JSONDecodeError as exc:
                raise NatsProtocolError(f"INFO is not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise NatsProtocolError("INFO is not a JSON object")
            return Info(data)
        raise NatsProtocolError(f"unknown operation {line[:40]!r}")


# -- URLs -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NatsUrl:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    token: str | None = None

    def auth_options(self) -> dict[str, str]:
        if self.token is not None:
            return {"auth_token": self.token}
        if self.user is not None:
            return {"user": self.user, "pass": self.password or ""}
        return {}


def parse_url(url: str) -> NatsUrl:
    """``nats://[user:pass@|token@]host[:port]`` (``host:port`` alone is accepted too)."""
    text = url.strip()
    if "://" not in text:
        text = "nats://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("nats", "tcp"):
        raise ValueError(f"not a NATS URL (want nats://host:port): {url!r}")
    if not parts.hostname:
        raise ValueError(f"NATS URL has no host: {url!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"NATS URL has a bad port: {url!r}") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if user is not None and password is None:
        return NatsUrl(parts.hostname, port, token=user)
    return NatsUrl(parts.hostname, port, user, password)


# -- asyncio client -------------------------------------------------------------------------
