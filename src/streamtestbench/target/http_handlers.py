"""The HTTP endpoints: each takes a parsed request and the process context and returns a response.

They do no I/O themselves, so tests can call them with a hand-made :class:`Request`.
"""

from __future__ import annotations

import hmac
from typing import Any

from ..auth.jwt import mint_token
from .context import TargetContext
from .faults import FaultSpecError, parse_faults
from .http_types import Request, Response
from .stats import render_prometheus

__all__ = ["ECHO_RESPONSE", "admin_faults", "chunked", "echo", "health", "login", "metrics", "stats", "stats_reset"]

ECHO_RESPONSE = Response(200, b'{"ok":true}', "application/json", static=True)


def health(request: Request, ctx: TargetContext) -> Response:
    return Response.json({"status": "ok", "uptimeSeconds": round(ctx.uptime(), 3)})


def metrics(request: Request, ctx: TargetContext) -> Response:
    text = render_prometheus(ctx.totals(), uptime_seconds=ctx.uptime())
    return Response.text(text, content_type="text/plain; version=0.0.4; charset=utf-8")


def stats(request: Request, ctx: TargetContext) -> Response:
    return Response.json(ctx.stats_document())


def stats_reset(request: Request, ctx: TargetContext) -> Response:
    ctx.stats_source.reset()
    return Response.json({"status": "reset"})


def echo(request: Request, ctx: TargetContext) -> Response:
    """A fixed tiny body: the cheapest useful endpoint for HTTP throughput benchmarks."""
    return ECHO_RESPONSE


CHUNKED_MAX_N = 10_000
CHUNKED_MAX_SIZE = 65_536


def chunked(request: Request, ctx: TargetContext) -> Response:
    """``GET /chunked?n=10&size=64``: ``n`` HTTP chunks of ``size`` bytes each (chunk i is the
    letter ``"abc..z"[i % 26]`` repeated), to test clients' Transfer-Encoding: chunked handling."""
    limits = {"n": (10, CHUNKED_MAX_N), "size": (64, CHUNKED_MAX_SIZE)}
    values: dict[str, int] = {}
    for name, (default, most) in limits.items():
        raw = request.query_value(name)
        if raw is None or raw == "":
            values[name] = default
        elif raw.isascii() and raw.isdigit() and 1 <= int(raw) <= most:
            values[name] = int(raw)
        else:
            return Response.error(400, f"query parameter {name!r} must be an integer from 1 to {most}")
    size = values["size"]
    chunks = tuple(bytes([97 + i % 26]) * size for i in range(values["n"]))
    return Response(200, b"", "text/plain; charset=utf-8", chunks=chunks)


def login(request: Request, ctx: TargetContext) -> Response:
    """Seed 004's login: credentials in, ``tokens.accessToken`` out."""
    try:
        body = request.form_or_json()
    except ValueError:
        return Response.error(400, "expected a JSON object (or form) with username and password")
    username = body.get("username")
    password = body.get("password")
    config = ctx.config
    if (
        not isinstance(username, str)
        or not isinstance(password, str)
        or not hmac.compare_digest(username.encode(), config.username.encode())
        or not hmac.compare_digest(password.encode(), config.password.encode())
    ):
        return Response.error(401, "invalid username or password", {"WWW-Authenticate": "Bearer"})
    ttl = config.token_ttl_seconds
    token = mint_token(config.jwt_secret, {"sub": username, "name": username}, ttl)
    return Response.json(
        {
            "tokens": {"accessToken": token, "expiresIn": ttl, "tokenType": "Bearer"},
            "user": {"id": 1, "username": username},
        }
    )


def _requested_faults(body: Any) -> list[str] | None:
    if not isinstance(body, dict):
        return None
    if body.get("clear") is True:
        return []
    if isinstance(body.get("fault"), str):
        return [body["fault"]]
    faults = body.get("faults")
    if isinstance(faults, list) and all(isinstance(f, str) for f in faults):
        return list(faults)
    return None


def admin_faults(request: Request, ctx: TargetContext) -> Response:
    """GET shows the faults in force; POST replaces them ({"fault": S}, {"faults": [..]}, {"clear": true})."""
    if request.method == "POST":
        try:
            body = request.json()
        except ValueError:
            body = None
        specs = _requested_faults(body)
        if specs is None:
            return Response.error(400, 'expected {"fault": "SPEC"}, {"faults": ["SPEC", ...]} or {"clear": true}')
        try:
            faults = parse_faults(specs)
        except FaultSpecError as exc:
            return Response.error(400, str(exc))
        ctx.set_faults(faults)
    return Response.json({"faults": ctx.faults.specs()})
