"""A sans-IO ``text/event-stream`` parser (the WHATWG server-sent events format).

MCP servers may answer a POST with an event stream instead of one JSON body, and a response can
arrive in any number of chunks, split mid-line or between a CR and its LF. The parser keeps
only the unfinished line and the event being built, so it can be fed straight from the socket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"
_END_OF_LINE = re.compile(rb"\r\n|\r|\n")
MAX_LINE_BYTES = 16 * 1024 * 1024
"""A line longer than this without a terminator is a broken stream, not a big event."""


class SseProtocolError(ValueError):
    """The stream cannot be an event stream (an unterminated line past ``MAX_LINE_BYTES``)."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    """The ``event:`` field, or "message" when the event named none."""
    data: str
    """Every ``data:`` line of the event joined with newlines."""
    id: str | None
    """The last event id seen on the stream so far (ids persist across events), None before any."""
    retry: int | None = None
    """The reconnection time in milliseconds this event's block set, if it set one."""


class SseParser:
    """Feed bytes as they arrive; complete events come back in order."""

    __slots__ = ("_buffer", "_data", "_event", "_last_id", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False
        self._skip_lf = False
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        return self._last_id

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Parse ``chunk``; return the events it completed (an event ends at an empty line)."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM):]
        position = 0
        if self._skip_lf and buffer:
            self._skip_lf = False
            if buffer[:1] == b"\n":
                position = 1
        events: list[SseEvent] = []
        size = len(buffer)
        while position < size:
            match = _END_OF_LINE.search(buffer, position)
            if match is None:
                break
            line = buffer[position:match.start()]
            position = match.end()
            if match.group() == b"\r" and position == size:
                self._skip_lf = True  # the LF of a CRLF may come in the next chunk
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = buffer[position:]
        if len(self._buffer) > MAX_LINE_BYTES:
            raise SseProtocolError(f"an event-stream line exceeds {MAX_LINE_BYTES} bytes without a line end")
        return events

    def _line(self, raw: bytes) -> SseEvent | None:
        if not raw:
            return self._dispatch()
        if raw[:1] == b":":
            return None  # a comment (servers send them as keep-alives)
        line = raw.decode("utf-8", errors="replace")
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return SseEvent(event or "message", "\n".join(data), self._last_id, retry)


def parse_event_stream(body: bytes) -> list[SseEvent]:
    """Every complete event of a whole response body (a trailing unfinished event is dropped)."""
    return SseParser().feed(body)
