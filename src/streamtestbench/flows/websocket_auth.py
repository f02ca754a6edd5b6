"""Credentials for WebSocket upgrades, from the same auth states HTTP virtual users use.

Static kinds and minted JWTs come ready; a login step (seed 004) posts the credentials over
HTTP before the first upgrade and again before the token expires. One state serves a whole
worker: the token is the load-test user's, and logging in once per connection would load
the login endpoint instead of the WebSocket server.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit, urlunsplit

from ..engine.recording import NullRecorder, Recorder
from ..protocols.http_client import ConnectionPool, Connector, split_url
from ..scenario.auth import Authentication
from .http_auth import AuthProvider, AuthState

LOGIN_FAILED = "login failed"


def http_base(websocket_url: str) -> str:
    """``ws://host:port/ws`` -> ``http://host:port``: where a relative login URL is posted."""
    parts = urlsplit(websocket_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "", "", ""))


class UpgradeCredentials:
    """Headers (and an API key's query parameter) for each upgrade, renewed when they fall due."""

    def __init__(self, auth: Authentication | None, websocket_url: str, recorder: Recorder) -> None:
        self.state: AuthState = AuthProvider(auth, recorder).state()
        self._base = split_url(http_base(websocket_url))[0]
        self._pool: ConnectionPool | None = None
        self._lock: asyncio.Lock | None = None

    async def headers(self) -> dict[str, str] | None:
        """The current auth headers, after a login if one is due; None when the login failed."""
        state = self.state
        if state.due(time.monotonic_ns()):
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if state.due(time.monotonic_ns()):
                    if self._pool is None:  # the login's own connection is not one of the run's connections
                        self._pool = ConnectionPool(Connector(NullRecorder()), self._base)
                    if await state.refresh(self._pool) is not None:
                        return None
        return state.headers

    def url(self, url: str) -> str:
        """``url`` with an API key added to its query when the key goes in the query."""
        if not self.state.query:
            return url
        return url + ("&" if "?" in url else "?") + self.state.query
