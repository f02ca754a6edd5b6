"""Method + path routing for the target's HTTP side, with ``{name}`` path parameters.

Adding an endpoint is one ``router.add(...)`` call next to the others in :func:`default_router`.
Each route says whether it needs a token (``public``) and whether it is an operations endpoint
(``ops``: exempt from injected faults and the rate limit, so a test can always read /stats or clear
a fault even while every reply is being dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .context import TargetContext
from .http_types import Request, Response

__all__ = ["MEMO_SIZE", "Handler", "Route", "RouteMatch", "Router", "default_router"]

MEMO_SIZE = 4096

Handler = Callable[[Request, TargetContext], Response]


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str]
    pattern: str
    handler: Handler
    public: bool = False
    ops: bool = False
    constant: Response | None = None


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """Either a route with its path parameters, or the status to answer (404, 405) and ``allowed``."""

    route: Route | None
    params: Mapping[str, str]
    status: int = 200
    allowed: tuple[str, ...] = ()


def _split(path: str) -> tuple[str, ...]:
    stripped = path.strip("/")
    return tuple(stripped.split("/")) if stripped else ()


def _match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    if len(pattern) != len(parts):
        return None
    params: dict[str, str] = {}
    for want, got in zip(pattern, parts, strict=True):
        if want.startswith("{") and want.endswith("}"):
            if not got:
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


class Router:
    """Exact paths resolve in one dict lookup; parameterised ones are tried in registration order.
    A trailing slash is ignored, so ``/health`` and ``/health/`` are the same route."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, ...], list[Route]] = {}
        self._patterns: list[tuple[tuple[str, ...], Route]] = []
        # (method, path as written) -> match, for exact routes: the common case costs one lookup.
        self._fast: dict[tuple[str, str], RouteMatch] = {}
        # (method, raw target bytes) -> the fixed response of a ``constant`` route, so the HTTP
        # protocol can answer benchmark endpoints without building a Request at all.
        self.constants: dict[tuple[bytes, bytes], Response] = {}
        # (method, path) -> match for parameterised paths already seen (``GET /api/v1/users/1`` in a
        # benchmark resolves once); bounded by clearing it when full.
        self._memo: dict[tuple[str, str], RouteMatch] = {}

    def add(
        self,
        methods: str | Iterable[str],
        pattern: str,
        handler: Handler,
        *,
        public: bool = False,
        ops: bool = False,
        constant: Response | None = None,
    ) -> Route:
        """Register ``handler``; ``constant`` declares that it always returns that very response
        (no side effects), which lets the protocol skip routing for it when nothing else applies."""
        self._memo.clear()
        names = [methods] if isinstance(methods, str) else list(methods)
        route = Route(frozenset(m.upper() for m in names), pattern, handler, public, ops, constant)
        parts = _split(pattern)
        if any(p.startswith("{") for p in parts):
            self._patterns.append((parts, route))
        else:
            self._exact.setdefault(parts, []).append(route)
            path = "/" + "/".join(parts)
            for method in route.methods:
                match = RouteMatch(route, {})
                self._fast.setdefault((method, path), match)
                self._fast.setdefault((method, path + "/"), match)
                if constant is not None:
                    for spelling in (path, path + "/"):
                        self.constants.setdefault((method.encode(), spelling.encode()), constant)
        return route

    def resolve(self, method: str, path: str) -> RouteMatch:
        fast = self._fast.get((method, path)) or self._memo.get((method, path))
        if fast is not None:
            return fast
        match = self._resolve_slowly(method, path)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[(method, path)] = match
        return match

    def _resolve_slowly(self, method: str, path: str) -> RouteMatch:
        parts = _split(path)
        candidates: list[tuple[Route, dict[str, str]]] = [
            (route, {}) for route in self._exact.get(parts, ())
        ]
        for pattern, route in self._patterns:
            params = _match(pattern, parts)
            if params is not None:
                candidates.append((route, params))
        if not candidates:
            return RouteMatch(None, {}, 404)
        for route, params in candidates:
            if method in route.methods:
                return RouteMatch(route, params)
        allowed = sorted({m for route, _ in candidates for m in route.methods})
        return RouteMatch(None, {}, 405, tuple(allowed))

    def routes(self) -> list[Route]:
        exact = [route for routes in self._exact.values() for route in routes]
        return exact + [route for _, route in self._patterns]


def default_router() -> Router:
    """The target's endpoints. WebSocket paths are not here: upgrades are routed in ws_routes."""
    from . import graphql_api, mcp_api, rest_api
    from . import http_handlers as h

    router = Router()
    router.add("GET", "/health", h.health, public=True, ops=True)
    router.add("GET", "/metrics", h.metrics, public=True, ops=True)
    router.add("GET", "/stats", h.stats, public=True, ops=True)
    router.add("POST", "/stats/reset", h.stats_reset, ops=True)
    router.add("POST", "/auth/login", h.login, public=True)
    router.add(("GET", "POST"), "/echo", h.echo, constant=h.ECHO_RESPONSE)
    router.add(("GET", "POST"), "/admin/faults", h.admin_faults, ops=True)
    router.add("GET", "/chunked", h.chunked)
    router.add(("GET", "POST"), "/graphql", graphql_api.graphql_http)
    router.add("POST", "/mcp", mcp_api.mcp_http)
    rest_api.register(router)
    return router
