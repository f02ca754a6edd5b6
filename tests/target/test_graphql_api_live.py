"""``/graphql`` over real sockets with --auth: seed 004's GetUsers and CreatePost with the login token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from _target_client import SECRET, http_json, http_request

from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration

GET_USERS = "query GetUsers($first: Int) { users(pagination: { first: $first }) { edges { node { id name email } } } }"
CREATE_POST = "mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id title } }"


@pytest.fixture(scope="module")
def auth_target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--jwt-secret", SECRET, "--broadcast-rate", "0") as process:
        yield process


def test_seed_004_operations_with_the_login_token(auth_target: TargetProcess) -> None:
    port = auth_target.port
    login = http_json(port, "POST", "/auth/login", {"username": "loadtest", "password": "loadtestpassword"})
    bearer = {"Authorization": f"Bearer {login['tokens']['accessToken']}"}
    status, headers, body = http_request(port, "POST", "/graphql", {"query": GET_USERS, "operationName": "GetUsers",
                                                                    "variables": {"first": 10}}, bearer)
    assert status == 200 and headers["content-type"] == "application/json"
    result = json.loads(body)
    assert "errors" not in result and len(result["data"]["users"]["edges"]) == 10
    for i in range(3):
        status, _, body = http_request(port, "POST", "/graphql", {
            "query": CREATE_POST, "operationName": "CreatePost",
            "variables": {"input": {"title": f"Load test post 1-{i}", "body": "GraphQL load"}}}, bearer)
        created = json.loads(body)["data"]["createPost"]
        assert status == 200 and created["title"] == f"Load test post 1-{i}"
        status, _, body = http_request(port, "GET", f"/api/v1/posts/{created['id']}", headers=bearer)
        assert status == 200 and json.loads(body)["body"] == "GraphQL load"


def test_graphql_needs_the_token(auth_target: TargetProcess) -> None:
    status, headers, _ = http_request(auth_target.port, "POST", "/graphql", {"query": GET_USERS})
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")


def test_errors_come_back_as_graphql_errors(auth_target: TargetProcess) -> None:
    token = {"Authorization": f"Bearer {_token(auth_target)}"}
    status, _, body = http_request(auth_target.port, "POST", "/graphql", {"query": "{ users { bogus } }"}, token)
    assert status == 200
    assert json.loads(body) == {"errors": [{"message": 'Cannot query field "bogus" on type "UserConnection".',
                                            "locations": [{"line": 1, "column": 11}]}]}
    status, _, body = http_request(auth_target.port, "POST", "/graphql", b"{oops", token)
    assert status == 400 and json.loads(body)["errors"]


def _token(target: TargetProcess) -> str:
    login = http_json(target.port, "POST", "/auth/login", {"username": "loadtest", "password": "loadtestpassword"})
    return str(login["tokens"]["accessToken"])
