"""Which WebSocket endpoint an upgrade request reaches, and whether it may (auth, device_id).

Answers with a ready listener or an HTTP error response, so the front protocol only has to either
hand the connection to picows or write the refusal.
"""

from __future__ import annotations

from picows import WSUpgradeResponseWithListener

from ..auth.jwt import InvalidToken, verify_token
from . import graphql_ws
from .context import TargetContext
from .http_types import Request, Response
from .ws_listeners import MobileSyncListener, ProtocolListener, SessionListener

__all__ = ["WS_PATHS", "authorize", "is_ws_path", "resolve_ws"]

WS_PATHS = ("/ws", "/ws/mobile/sync", "/graphql")


def _normal(path: str) -> str:
    return path.rstrip("/") or "/"


def is_ws_path(path: str) -> bool:
    return _normal(path) in WS_PATHS


def authorize(request: Request, ctx: TargetContext) -> Response | None:
    """None if the request may proceed; a 401 saying why when --auth is on and the token is bad."""
    if not ctx.config.auth:
        return None
    token = request.bearer_token()
    if not token:
        return Response.error(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        verify_token(token, ctx.config.jwt_secret)
    except InvalidToken as exc:
        return Response.error(401, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return None


def resolve_ws(request: Request, ctx: TargetContext) -> SessionListener | WSUpgradeResponseWithListener | Response:
    """The listener for an upgrade to ``request.path``, or the response refusing it."""
    path = _normal(request.path)
    if path not in WS_PATHS:
        return Response.error(404, f"no WebSocket endpoint at {request.path}")
    if request.method != "GET":
        return Response.error(405, "WebSocket upgrades must use GET", {"Allow": "GET"})
    refusal = authorize(request, ctx)
    if refusal is not None:
        return refusal
    if path == "/ws/mobile/sync":
        device_id = request.query_value("device_id")
        if not device_id:
            return Response.error(400, "device_id query parameter is required")
        return MobileSyncListener(ctx, device_id)
    if path == "/graphql":
        return graphql_ws.upgrade(request, ctx)
    return ProtocolListener(ctx)
