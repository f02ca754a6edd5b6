"""Seed 004's REST API: CRUD on ``/api/v1/users`` and ``/api/v1/posts`` over the in-memory store.

Formats (JSON everywhere, ``Content-Type: application/json``):

* ``GET /api/v1/<kind>?page=P&limit=L`` or ``?offset=O&limit=L`` (limit 1..100, default 20;
  offset wins over page) -> 200 ``{"data": [record...], "pagination": {"page", "limit", "offset",
  "total", "totalPages", "hasMore"}}``.
* ``GET /api/v1/<kind>/{id}`` -> 200 record, 404 ``{"error", "status"}`` when absent.
* ``POST /api/v1/<kind>`` -> 201 record + ``Location``; 400 when the body is not a JSON object,
  415 for a non-JSON Content-Type, 422 ``{"error": "validation failed", "status": 422,
  "fields": [{"field", "message"}]}``.
* ``PUT`` / ``PATCH /api/v1/<kind>/{id}`` -> 200 record (both change only the fields given).
* ``DELETE /api/v1/<kind>/{id}`` -> 204, 404 when absent.

Users: ``id, name, email, username, createdAt, updatedAt`` (name and email required).
Posts: ``id, title, body, authorId, createdAt, updatedAt`` (title required; authorId an existing user).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from .context import TargetContext
from .datastore import Collection, DataStore, ValidationFailed, parse_id
from .http_routes import Router
from .http_types import Request, Response

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PREFIX", "register"]

PREFIX = "/api/v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_JSON = "application/json"


def _bad_query(name: str, message: str) -> Response:
    return Response.json({"error": f"query parameter {name!r} {message}", "status": 400, "field": name}, 400)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | Response:
    raw = request.query_value(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        return _bad_query(name, f"must be an integer from {low} to {high}")
    return int(raw)


def _list(collection: Collection, request: Request) -> Response:
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if isinstance(limit, Response):
        return limit
    page = _int_param(request, "page", 1, 1, 10**9)
    if isinstance(page, Response):
        return page
    offset = _int_param(request, "offset", (page - 1) * limit, 0, 10**12)
    if isinstance(offset, Response):
        return offset
    total = len(collection)
    ids = collection.page(offset, limit)
    items = [collection.encoded(record_id) or b"null" for record_id in ids]
    pagination = {
        "page": offset // limit + 1,
        "limit": limit,
        "offset": offset,
        "total": total,
        "totalPages": (total + limit - 1) // limit,
        "hasMore": offset + len(ids) < total,
    }
    body = b'{"data":[' + b",".join(items) + b'],"pagination":' + orjson.dumps(pagination) + b"}"
    return Response(200, body, _JSON)


def _not_found(collection: Collection, raw_id: str) -> Response:
    return Response.error(404, f"{collection.kind} {raw_id} not found")


def _get(collection: Collection, request: Request) -> Response:
    raw_id = request.path_params["id"]
    record_id = parse_id(raw_id)
    data = collection.encoded(record_id) if record_id is not None else None
    if data is None:
        return _not_found(collection, raw_id)
    return Response(200, data, _JSON)


def _body(request: Request) -> dict[str, Any] | Response:
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type.lower():
        return Response.error(415, f"expected Content-Type: application/json, got {content_type!r}")
    try:
        body = request.json()
    except ValueError:
        return Response.error(400, "request body must be a JSON object")
    if not isinstance(body, dict):
        return Response.error(400, "request body must be a JSON object")
    return body


def _invalid(exc: ValidationFailed) -> Response:
    fields = [{"field": e.field, "message": e.message} for e in exc.errors]
    return Response.json({"error": "validation failed", "status": 422, "fields": fields}, 422)


def _create(collection: Collection, request: Request) -> Response:
    body = _body(request)
    if isinstance(body, Response):
        return body
    try:
        record = collection.create(body, int(time.time()))
    except ValidationFailed as exc:
        return _invalid(exc)
    location = f"{PREFIX}/{collection.kind}s/{record['id']}"
    return Response(201, collection.encoded(record["id"]) or b"", _JSON, {"Location": location})


def _update(collection: Collection, request: Request) -> Response:
    raw_id = request.path_params["id"]
    record_id = parse_id(raw_id)
    if record_id is None or collection.get(record_id) is None:
        return _not_found(collection, raw_id)
    body = _body(request)
    if isinstance(body, Response):
        return body
    try:
        collection.update(record_id, body, int(time.time()))
    except ValidationFailed as exc:
        return _invalid(exc)
    return Response(200, collection.encoded(record_id) or b"", _JSON)


def _delete(collection: Collection, request: Request) -> Response:
    raw_id = request.path_params["id"]
    record_id = parse_id(raw_id)
    if record_id is None or not collection.delete(record_id):
        return _not_found(collection, raw_id)
    return Response(204)


_Action = Callable[[Collection, Request], Response]


def _bind(pick: Callable[[DataStore], Collection], action: _Action) -> Callable[[Request, TargetContext], Response]:
    def handler(request: Request, ctx: TargetContext) -> Response:
        ctx.stats.rest_requests += 1
        return action(pick(ctx.data), request)

    handler.__name__ = action.__name__.lstrip("_")
    return handler


def register(router: Router) -> None:
    """Add the users and posts routes (token-protected when --auth is on)."""
    for kind, pick in (("users", _users), ("posts", _posts)):
        base = f"{PREFIX}/{kind}"
        router.add("GET", base, _bind(pick, _list))
        router.add("POST", base, _bind(pick, _create))
        router.add("GET", base + "/{id}", _bind(pick, _get))
        router.add(("PUT", "PATCH"), base + "/{id}", _bind(pick, _update))
        router.add("DELETE", base + "/{id}", _bind(pick, _delete))


def _users(store: DataStore) -> Collection:
    return store.users


def _posts(store: DataStore) -> Collection:
    return store.posts
