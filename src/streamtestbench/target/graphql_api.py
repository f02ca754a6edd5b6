"""``/graphql`` over HTTP: GraphQL-over-HTTP requests in, JSON results out (schema: graphql_schema.py).

* ``POST /graphql`` with ``{"query", "operationName"?, "variables"?}`` (``Content-Type:
  application/json``; ``application/graphql`` bodies are the query text itself), or
  ``GET /graphql?query=..&operationName=..&variables=<json>`` for queries.
* 200 ``{"data": ...}`` on success; 200 ``{"data": ..., "errors": [...]}`` when fields failed;
  200 ``{"errors": [...]}`` for syntax, validation and variable errors (each error has
  ``message`` and ``locations``), as GraphQL servers answer ``application/json`` requests.
* 400 ``{"errors": [{"message"}]}`` when the body is not JSON or has no ``query``; 405 for a
  mutation over GET. Subscriptions go over WebSocket (graphql_ws.py); over HTTP they get an error.

Parsing and validation are cached per (query, operationName), so a load test's repeated
operation is parsed once.
"""

from __future__ import annotations

from typing import Any

import orjson

from .context import TargetContext
from .graphql_exec import GraphQLRequestError, Prepared, execute, prepare
from .graphql_parse import SyntaxErrorGQL, parse
from .graphql_schema import SCHEMA
from .http_types import Request, Response

__all__ = ["CACHE_SIZE", "GraphQLHttpError", "graphql_http", "prepare_query", "run_operation"]

CACHE_SIZE = 512
_cache: dict[tuple[str, str | None], Prepared | GraphQLRequestError] = {}


class GraphQLHttpError(ValueError):
    """The HTTP request itself is unusable (not JSON, no query): a 4xx, not a GraphQL result."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def prepare_query(query: str, operation_name: str | None) -> Prepared:
    """Parse and validate once per (query, operationName); raises GraphQLRequestError."""
    key = (query, operation_name)
    cached = _cache.get(key)
    if cached is None:
        try:
            cached = prepare(SCHEMA, parse(query), operation_name)
        except SyntaxErrorGQL as exc:
            cached = GraphQLRequestError([{"message": str(exc),
                                           "locations": [{"line": exc.line, "column": exc.column}]}])
        except GraphQLRequestError as exc:
            cached = exc
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        _cache[key] = cached
    if isinstance(cached, GraphQLRequestError):
        raise cached
    return cached


def run_operation(payload: Any, ctx: TargetContext, *, allow: frozenset[str]) -> dict[str, Any]:
    """Execute one ``{"query", "operationName", "variables"}`` payload; the GraphQL response document.

    ``allow`` names the operation kinds this transport runs. Raises GraphQLHttpError when the
    payload is not a request at all."""
    if not isinstance(payload, dict):
        raise GraphQLHttpError(400, "the request must be a JSON object with a 'query'")
    query = payload.get("query")
    operation_name = payload.get("operationName")
    variables = payload.get("variables")
    if not isinstance(query, str) or not query.strip():
        raise GraphQLHttpError(400, "'query' must be a non-empty string")
    if operation_name is not None and not isinstance(operation_name, str):
        raise GraphQLHttpError(400, "'operationName' must be a string")
    if variables is not None and not isinstance(variables, dict):
        raise GraphQLHttpError(400, "'variables' must be an object")
    try:
        prepared = prepare_query(query, operation_name)
        if prepared.kind not in allow:
            if prepared.kind == "subscription":
                raise GraphQLHttpError(400, "Subscriptions are served over WebSocket (graphql-transport-ws).")
            raise GraphQLHttpError(405, f"Can only perform a {prepared.kind} operation from a POST request.")
        return execute(SCHEMA, prepared, variables, ctx.data)
    except GraphQLRequestError as exc:
        return {"errors": exc.errors}


_POST_KINDS = frozenset({"query", "mutation"})
_GET_KINDS = frozenset({"query"})


def _payload(request: Request) -> Any:
    if request.method == "GET":
        raw_variables = request.query_value("variables")
        try:
            variables = orjson.loads(raw_variables) if raw_variables else None
        except orjson.JSONDecodeError:
            raise GraphQLHttpError(400, "'variables' must be JSON") from None
        return {"query": request.query_value("query"), "operationName": request.query_value("operationName"),
                "variables": variables}
    content_type = request.headers.get("content-type", "")
    if "application/graphql" in content_type:
        return {"query": request.body.decode("utf-8", "replace")}
    try:
        return request.json()
    except ValueError:
        raise GraphQLHttpError(400, "the request body must be JSON") from None


def graphql_http(request: Request, ctx: TargetContext) -> Response:
    """``GET`` / ``POST /graphql``."""
    ctx.stats.graphql_operations += 1
    kinds = _GET_KINDS if request.method == "GET" else _POST_KINDS
    try:
        result = run_operation(_payload(request), ctx, allow=kinds)
    except GraphQLHttpError as exc:
        headers = {"Allow": "POST"} if exc.status == 405 else None
        return Response.json({"errors": [{"message": str(exc)}]}, exc.status, headers)
    return Response.json(result)
