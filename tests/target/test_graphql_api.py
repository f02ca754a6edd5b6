"""``/graphql`` over HTTP, called through the router: request shapes, statuses, caching."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from streamtestbench.target import graphql_api
from streamtestbench.target.config import TargetConfig
from streamtestbench.target.context import TargetContext
from streamtestbench.target.graphql_parse import parse
from streamtestbench.target.http_routes import default_router
from streamtestbench.target.http_types import Request, Response

ROUTER = default_router()
GET_USERS = "query GetUsers($first: Int) { users(pagination: { first: $first }) { edges { node { id name email } } } }"


@pytest.fixture
def ctx() -> TargetContext:
    return TargetContext(TargetConfig(jwt_secret="graphql-unit-test-secret-long-enough-for-hs256"))


def call(ctx: TargetContext, method: str, target: str, body: Any = None,
         content_type: str = "application/json") -> tuple[int, Any, Response]:
    raw = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    request = Request(method, target, {"content-type": content_type}, raw)
    match = ROUTER.resolve(method, request.path)
    assert match.route is not None
    response = match.route.handler(request, ctx)
    assert response.content_type == "application/json"
    return response.status, orjson.loads(response.body), response


def test_post_query_with_variables(ctx: TargetContext) -> None:
    status, body, _ = call(ctx, "POST", "/graphql", {"query": GET_USERS, "operationName": "GetUsers",
                                                     "variables": {"first": 3}})
    assert status == 200 and "errors" not in body
    assert [e["node"]["id"] for e in body["data"]["users"]["edges"]] == ["1", "2", "3"]


def test_get_query(ctx: TargetContext) -> None:
    target = "/graphql?" + urlencode({"query": GET_USERS, "variables": '{"first": 1}'})
    status, body, _ = call(ctx, "GET", target)
    assert status == 200 and body["data"]["users"]["edges"][0]["node"]["name"] == "User 1"


def test_mutation_over_get_is_405(ctx: TargetContext) -> None:
    target = "/graphql?" + urlencode({"query": 'mutation { deletePost(id: 1) }'})
    status, body, response = call(ctx, "GET", target)
    assert status == 405 and response.headers["Allow"] == "POST" and body["errors"][0]["message"]
    assert ctx.data.posts.get(1) is not None


def test_application_graphql_body(ctx: TargetContext) -> None:
    status, body, _ = call(ctx, "POST", "/graphql", b'{ post(id: 2) { title } }', "application/graphql")
    assert (status, body) == (200, {"data": {"post": {"title": "Post 2"}}})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ users { edges { node { id nope } } } }", 'Cannot query field "nope" on type "User".'),
        ("{ users { ", "Syntax Error: Expected Name, found <EOF>."),
    ],
)
def test_graphql_errors_are_200_with_locations(ctx: TargetContext, query: str, message: str) -> None:
    status, body, _ = call(ctx, "POST", "/graphql", {"query": query})
    assert status == 200 and "data" not in body
    (error,) = body["errors"]
    assert error["message"] == message and error["locations"][0]["line"] == 1


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", {"query": ""}, {"query": 1}, {"query": "{ a }", "variables": [1]},
     {"query": "{ a }", "operationName": 3}],
)
def test_unusable_requests_are_400(ctx: TargetContext, body: Any) -> None:
    status, data, _ = call(ctx, "POST", "/graphql", body)
    assert status == 400 and data["errors"][0]["message"]


def test_subscription_over_http_is_refused(ctx: TargetContext) -> None:
    status, body, _ = call(ctx, "POST", "/graphql", {"query": "subscription { postCreated { id } }"})
    assert status == 400 and "WebSocket" in body["errors"][0]["message"]


def test_prepared_operations_are_cached(ctx: TargetContext, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []

    def counting_parse(source: str) -> Any:
        parsed.append(source)
        return parse(source)

    monkeypatch.setattr(graphql_api, "parse", counting_parse)
    monkeypatch.setattr(graphql_api, "_cache", {})
    for first in (1, 2, 3):
        assert call(ctx, "POST", "/graphql", {"query": GET_USERS, "variables": {"first": first}})[0] == 200
    for _ in range(2):
        assert "errors" in call(ctx, "POST", "/graphql", {"query": "{ broken"})[1]
    assert parsed == [GET_USERS, "{ broken"]
