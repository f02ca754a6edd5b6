"""Authentication for HTTP virtual users: seed 000's auth types and seed 004's login step.

Each kind gives an :class:`AuthState`: the header lines every request carries (encoded once), an
optional query parameter, and the monotonic time after which it must be renewed. Static kinds
(bearer, basic, API key) are shared by all users and never renew. A minted JWT is shared and
re-minted shortly before it expires. A login is per virtual user: it posts the credentials,
takes the token at ``tokenPath``, logs in again shortly before the token's ``exp`` and, when a
request comes back 401, once more before that request is retried.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson

from ..auth.jwt import mint_token
from ..engine.recording import Recorder
from ..protocols.http_client import split_url
from ..protocols.http_codec import header_lines
from ..protocols.http_types import HttpError, HttpTransport
from ..scenario.auth import Authentication, LoginStep
from ..scenario.enums import AuthType

__all__ = ["NEVER", "AuthProvider", "AuthState", "JwtAuth", "LoginAuth", "StaticAuth", "refresh_margin_s",
           "token_expiry"]

NEVER = 1 << 62
"""A monotonic time in nanoseconds that never comes: static credentials are never renewed."""


def refresh_margin_s(lifetime_s: float) -> float:
    """Renew this long before expiry: a tenth of the lifetime, between 1 s and 30 s (never past half)."""
    return min(max(1.0, min(30.0, lifetime_s * 0.1)), lifetime_s / 2)


def token_expiry(token: str) -> tuple[float, float | None] | None:
    """(exp, iat) read from a JWT's payload without verifying it, or None when it has no ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int | float):
        return None
    issued = claims.get("iat")
    return float(claims["exp"]), float(issued) if isinstance(issued, int | float) else None


class AuthState:
    """What a virtual user's requests carry to authenticate, and until when it is good."""

    can_relogin = False

    def __init__(self, headers: dict[str, str] | None = None, query: str = "") -> None:
        self.headers: dict[str, str] = {}
        self.block = b""
        self.query = query
        """``name=value`` to append to every request target (API key in the query), or ""."""
        self.refresh_at_ns = NEVER
        self.version = 0
        self.cache: dict[int, bytes] = {}
        """Encoded requests that depend on nothing but these credentials, by request step."""
        self._set_headers(headers or {})

    def _set_headers(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.block = header_lines(headers.items())
        self.version += 1
        self.cache = {}

    def due(self, now_ns: int) -> bool:
        return now_ns >= self.refresh_at_ns

    async def refresh(self, transport: HttpTransport) -> str | None:
        """Renew the credentials; an error kind when that failed."""
        return None

    async def relogin(self, transport: HttpTransport) -> str | None:
        """After a 401: log in again (only logins can)."""
        return "HTTP 4xx"


class StaticAuth(AuthState):
    """Bearer token, basic auth or API key: computed once, never renewed."""


class JwtAuth(AuthState):
    """A token minted from a secret and claims, re-minted before ``expiresInSeconds`` runs out."""

    def __init__(self, secret: str, claims: dict[str, Any], ttl_s: int,
                 clock: Callable[[], float] = time.time, monotonic_ns: Callable[[], int] = time.monotonic_ns) -> None:
        super().__init__()
        self.secret = secret
        self.claims = claims
        self.ttl_s = ttl_s
        self.clock = clock
        self.monotonic_ns = monotonic_ns
        self.mint()

    def mint(self) -> None:
        token = mint_token(self.secret, self.claims, self.ttl_s, now=self.clock())
        self._set_headers({"Authorization": f"Bearer {token}"})
        self.refresh_at_ns = self.monotonic_ns() + int((self.ttl_s - refresh_margin_s(self.ttl_s)) * 1e9)

    async def refresh(self, transport: HttpTransport) -> str | None:
        self.mint()
        return None


class LoginAuth(AuthState):
    """Seed 004: POST credentials once per virtual user, send the token as a bearer."""

    def __init__(self, login: LoginStep, recorder: Recorder, clock: Callable[[], float] = time.time,
                 monotonic_ns: Callable[[], int] = time.monotonic_ns) -> None:
        super().__init__()
        from .jsonpath import MISSING, compile_path

        self.login = login
        self.recorder = recorder
        self.clock = clock
        self.monotonic_ns = monotonic_ns
        self.can_relogin = login.relogin_on_401
        self.refresh_at_ns = 0  # log in before the first request
        self._token_at = compile_path(login.token_path)
        self._missing = MISSING
        self._body = orjson.dumps(login.json_body) if login.method != "GET" else None
        self._headers = {"Content-Type": "application/json", **login.headers} if self._body else dict(login.headers)
        path = split_url(login.url)[1] if "://" in login.url else login.url
        self.metric = f"http.{login.method} {path.split('?', 1)[0]}"
        self.logins = 0

    async def refresh(self, transport: HttpTransport) -> str | None:
        start = self.monotonic_ns()
        error: str | None = None
        nbytes = 0
        try:
            response = await transport.request(self.login.method, self.login.url, self._headers, self._body, 30.0)
        except HttpError as failure:
            error = failure.kind
            self.recorder.count("http.timeout" if error == "timeout" else "http.connection_error")
        else:
            nbytes = len(response.body)
            self.recorder.count(f"http.status.{min(max(response.status // 100, 1), 5)}xx")
            if response.status >= 400:
                error = "HTTP 4xx" if response.status < 500 else "HTTP 5xx"
            else:
                error = self._take_token(response.body)
        self.recorder.message(self.metric, start, start, self.monotonic_ns(), nbytes, error)
        if error is not None:
            self.refresh_at_ns = 0
        return error

    def _take_token(self, body: bytes) -> str | None:
        try:
            token = self._token_at(orjson.loads(body))
        except orjson.JSONDecodeError:
            return f"capture failed: {self.login.token_path}"
        if token is self._missing or not isinstance(token, str) or not token:
            return f"capture failed: {self.login.token_path}"
        self._set_headers({"Authorization": f"Bearer {token}"})
        self.logins += 1
        expiry = token_expiry(token)
        if expiry is None:
            self.refresh_at_ns = NEVER
        else:
            exp, issued = expiry
            now = self.clock()
            lifetime = exp - (issued if issued is not None else now)
            self.refresh_at_ns = self.monotonic_ns() + int((exp - now - refresh_margin_s(max(lifetime, 0.0))) * 1e9)
        return None

    async def relogin(self, transport: HttpTransport) -> str | None:
        self.recorder.count("auth.relogin")
        return await self.refresh(transport)


def _static_headers(auth: Authentication) -> tuple[dict[str, str], str]:
    creds = auth.credentials
    if auth.type is AuthType.BEARER_TOKEN:
        return {"Authorization": f"Bearer {creds['token']}"}, ""
    if auth.type is AuthType.BASIC_AUTH:
        raw = f"{creds['username']}:{creds['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}, ""
    if auth.type is AuthType.API_KEY:
        if creds.get("in") == "query":
            name = str(creds.get("name", "api_key"))
            return {}, f"{quote(name, safe='')}={quote(str(creds['key']), safe='')}"
        return {str(creds.get("header", creds.get("name", "X-API-Key"))): str(creds["key"])}, ""
    return {}, ""


class AuthProvider:
    """Hands each virtual user its AuthState: shared for static credentials and JWTs, own for logins."""

    def __init__(self, auth: Authentication | None, recorder: Recorder) -> None:
        self.auth = auth
        self.recorder = recorder
        self._shared: AuthState | None = None
        if auth is None or (auth.type is AuthType.NONE and auth.login is None):
            self._shared = StaticAuth()
        elif auth.login is None and auth.type is AuthType.JWT:
            creds = auth.credentials
            claims = dict(creds.get("claims", {"sub": "streamtestbench"}))
            self._shared = JwtAuth(str(creds["secret"]), claims, int(creds.get("expiresInSeconds", 3600)))
        elif auth.login is None:
            headers, query = _static_headers(auth)
            self._shared = StaticAuth(headers, query)

    @property
    def per_user(self) -> bool:
        return self._shared is None

    def state(self) -> AuthState:
        if self._shared is not None:
            return self._shared
        assert self.auth is not None and self.auth.login is not None
        return LoginAuth(self.auth.login, self.recorder)
