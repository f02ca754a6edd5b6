"""Seed 000's failure injection applied to HTTP requests (issue 5: every injection, every protocol).

Per request, in this order: a connection drop closes the kept-alive connection (the request then
opens a new one after ``reconnectDelayMs``); a network delay holds the request back; schema drift
mutates its JSON body (``Content-Length`` follows); duplicates are sent as extra copies on
connections of their own, whose responses are read and discarded, never measured.
"""

from __future__ import annotations

import functools
import re
import time

from ..faults import Injector
from ..protocols.http_client import Connector, HttpConnection, Origin
from ..protocols.http_types import HttpError

_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*\d+")
DUPLICATE_TIMEOUT_NS = 10_000_000_000


def drift_request(injector: Injector, request: bytes) -> bytes:
    """The encoded request with schema drift applied to its JSON body (headers untouched otherwise)."""
    head, separator, body = request.partition(b"\r\n\r\n")
    if not separator or not body:
        return request
    mutated = injector.mutate_bytes(body)
    if mutated == body:
        return request
    head = _CONTENT_LENGTH.sub(b"Content-Length: %d" % len(mutated), head, count=1)
    return head + separator + mutated


async def send_duplicates(connector: Connector, origin: Origin, request: bytes, copies: int, mode: int,
                          head: bool) -> None:
    """Send ``copies`` extra copies of ``request``, each on a fresh connection, and drop the answers."""
    for _ in range(copies):
        try:
            connection = await connector.open(origin)
        except HttpError:
            return

        connection.send(request, functools.partial(_close_after, connection), time.monotonic_ns(),
                        DUPLICATE_TIMEOUT_NS, mode, head)


def _close_after(connection: HttpConnection, *_: object) -> None:
    """A duplicate's answer (or its failure): nothing to measure, the connection is done."""
    connection.close()
