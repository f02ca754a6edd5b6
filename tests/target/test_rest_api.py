"""The REST handlers through the real router, without sockets: status codes, bodies, headers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamtestbench.target.config import TargetConfig
from streamtestbench.target.context import TargetContext
from streamtestbench.target.http_routes import default_router
from streamtestbench.target.http_types import Request, Response

ROUTER = default_router()


@pytest.fixture
def ctx() -> TargetContext:
    return TargetContext(TargetConfig(jwt_secret="rest-unit-test-secret-long-enough-for-hs256"))


def call(
    ctx: TargetContext, method: str, target: str, body: Any = None, content_type: str = "application/json"
) -> Response:
    raw = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    request = Request(method, target, {"content-type": content_type} if raw else {}, raw)
    match = ROUTER.resolve(method, request.path)
    assert match.route is not None, (method, target, match.status)
    request.path_params = match.params
    return match.route.handler(request, ctx)


def test_get_one_user(ctx: TargetContext) -> None:
    response = call(ctx, "GET", "/api/v1/users/7")
    assert response.status == 200 and response.content_type == "application/json"
    assert orjson.loads(response.body)["email"] == "user7@example.test"


@pytest.mark.parametrize("path", ["/api/v1/users/1001", "/api/v1/users/0", "/api/v1/posts/abc"])
def test_get_absent_is_404(ctx: TargetContext, path: str) -> None:
    response = call(ctx, "GET", path)
    assert response.status == 404 and orjson.loads(response.body)["status"] == 404


def test_list_defaults_and_pagination(ctx: TargetContext) -> None:
    body = orjson.loads(call(ctx, "GET", "/api/v1/users").body)
    assert [u["id"] for u in body["data"]] == list(range(1, 21))
    assert body["pagination"] == {"page": 1, "limit": 20, "offset": 0, "total": 1000, "totalPages": 50,
                                  "hasMore": True}
    page = orjson.loads(call(ctx, "GET", "/api/v1/posts?page=3&limit=10").body)
    assert [p["id"] for p in page["data"]] == list(range(21, 31)) and page["pagination"]["offset"] == 20
    tail = orjson.loads(call(ctx, "GET", "/api/v1/posts?offset=995&limit=10").body)
    assert [p["id"] for p in tail["data"]] == list(range(996, 1001))
    assert tail["pagination"]["hasMore"] is False and tail["pagination"]["page"] == 100


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "page=0", "offset=-1"])
def test_bad_pagination_is_400_naming_the_parameter(ctx: TargetContext, query: str) -> None:
    response = call(ctx, "GET", f"/api/v1/users?{query}")
    assert response.status == 400
    assert orjson.loads(response.body)["field"] == query.split("=")[0]


def test_create_is_201_with_location(ctx: TargetContext) -> None:
    response = call(ctx, "POST", "/api/v1/users", {"name": "Load Test User 1", "email": "lt+1-0@example.test"})
    assert response.status == 201
    created = orjson.loads(response.body)
    assert created["id"] == 1001 and response.headers["Location"] == "/api/v1/users/1001"
    assert orjson.loads(call(ctx, "GET", "/api/v1/users/1001").body) == created
    post = call(ctx, "POST", "/api/v1/posts", {"title": "Load test post 1", "body": "b", "authorId": "1"})
    assert post.status == 201 and post.headers["Location"] == "/api/v1/posts/1001"


def test_create_validation_is_422_naming_the_fields(ctx: TargetContext) -> None:
    response = call(ctx, "POST", "/api/v1/users", {"name": "only a name"})
    assert response.status == 422
    assert orjson.loads(response.body) == {
        "error": "validation failed",
        "status": 422,
        "fields": [{"field": "email", "message": "is required"}],
    }


@pytest.mark.parametrize(("body", "status"), [(b"not json", 400), (b"[1, 2]", 400), (b"", 400)])
def test_create_needs_a_json_object(ctx: TargetContext, body: bytes, status: int) -> None:
    assert call(ctx, "POST", "/api/v1/posts", body).status == status


def test_create_refuses_a_non_json_content_type(ctx: TargetContext) -> None:
    response = call(ctx, "POST", "/api/v1/posts", b"title=x", content_type="application/x-www-form-urlencoded")
    assert response.status == 415


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_update_the_given_fields(ctx: TargetContext, method: str) -> None:
    response = call(ctx, method, "/api/v1/users/3", {"name": "Updated User 3"})
    assert response.status == 200
    body = orjson.loads(response.body)
    assert body["name"] == "Updated User 3" and body["email"] == "user3@example.test"
    assert call(ctx, method, "/api/v1/users/5000", {"name": "x"}).status == 404
    assert call(ctx, method, "/api/v1/users/3", {"email": "nope"}).status == 422


def test_delete_is_204_then_404(ctx: TargetContext) -> None:
    first = call(ctx, "DELETE", "/api/v1/posts/9")
    assert first.status == 204 and first.body == b""
    assert call(ctx, "DELETE", "/api/v1/posts/9").status == 404
    assert call(ctx, "GET", "/api/v1/posts/9").status == 404


def test_routes_are_protected_and_not_ops() -> None:
    routes = [r for r in ROUTER.routes() if r.pattern.startswith("/api/v1/")]
    assert {(r.pattern, m) for r in routes for m in r.methods} == {
        (f"/api/v1/{kind}{suffix}", method)
        for kind in ("users", "posts")
        for suffix, methods in (("", ("GET", "POST")), ("/{id}", ("GET", "PUT", "PATCH", "DELETE")))
        for method in methods
    }
    assert not any(r.public or r.ops for r in routes)
