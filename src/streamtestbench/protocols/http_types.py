"""What an HTTP exchange returns, shared by the HTTP client and the steps built on it.

GraphQL, JSON-RPC and MCP steps only need "post these bytes, give me the response";
they depend on this small contract, not on the client's internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson


class HttpError(Exception):
    """An exchange that produced no response; ``kind`` is the low-cardinality error name recorded."""

    kind = "connection error"


class HttpTimeout(HttpError):
    kind = "timeout"


class HttpConnectionError(HttpError):
    kind = "connection error"


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    """Lower-cased names; repeated headers joined with ", "."""
    body: bytes
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    def json(self) -> Any:
        """The body parsed as JSON once (raises ``orjson.JSONDecodeError`` when it is not JSON)."""
        if not self._parsed:
            self._json = orjson.loads(self.body)
            self._parsed = True
        return self._json


class HttpTransport(Protocol):
    async def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                      body: bytes | None = None, timeout_s: float = 30.0) -> HttpResponse:
        """Send one request on a kept-alive connection; raise ``HttpError`` when no response came."""
        ...
