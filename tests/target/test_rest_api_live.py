"""The REST API over real sockets with --auth on: seed 004's CRUD flow, with the login token."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest
from _target_client import SECRET, http_json, http_request, raw_exchange

from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def auth_target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth", "--jwt-secret", SECRET, "--broadcast-rate", "0") as process:
        yield process


@pytest.fixture(scope="module")
def bearer(auth_target: TargetProcess) -> dict[str, str]:
    login = http_json(auth_target.port, "POST", "/auth/login", {"username": "loadtest", "password": "loadtestpassword"})
    return {"Authorization": f"Bearer {login['tokens']['accessToken']}"}


def test_endpoints_need_the_token(auth_target: TargetProcess) -> None:
    for method, path in (("GET", "/api/v1/users"), ("GET", "/api/v1/users/1"), ("POST", "/api/v1/posts"),
                         ("DELETE", "/api/v1/posts/1")):
        status, headers, _ = http_request(auth_target.port, method, path)
        assert status == 401 and headers["www-authenticate"].startswith("Bearer"), (method, path)


def test_seed_004_crud_flow(auth_target: TargetProcess, bearer: dict[str, str]) -> None:
    port = auth_target.port
    for vu in (1, 2, 3):
        status, headers, body = http_request(
            port, "POST", "/api/v1/users",
            {"name": f"Load Test User {vu}", "email": f"loadtest+{vu}-0@example.test"}, bearer)
        assert status == 201 and headers["content-type"] == "application/json"
        created = json.loads(body)
        assert headers["location"] == f"/api/v1/users/{created['id']}"
        status, _, body = http_request(port, "GET", "/api/v1/users?limit=10", headers=bearer)
        assert status == 200 and len(json.loads(body)["data"]) == 10
        status, _, body = http_request(port, "GET", f"/api/v1/users/{vu}", headers=bearer)
        assert status == 200 and json.loads(body)["id"] == vu
        status, _, body = http_request(port, "PUT", f"/api/v1/users/{vu}", {"name": f"Updated User {vu}"}, bearer)
        assert status == 200 and json.loads(body)["name"] == f"Updated User {vu}"
        status, _, _ = http_request(port, "POST", "/api/v1/posts",
                                    {"title": f"Load test post {vu}", "body": "b", "authorId": str(vu)}, bearer)
        assert status == 201
        status, _, body = http_request(port, "PATCH", f"/api/v1/posts/{vu}", {"title": f"Edited post {vu}"}, bearer)
        assert status == 200 and json.loads(body)["title"] == f"Edited post {vu}"
        status, headers, body = http_request(port, "DELETE", f"/api/v1/posts/{vu}", headers=bearer)
        assert status == 204 and body == b"" and "content-length" not in headers
        assert http_request(port, "DELETE", f"/api/v1/posts/{vu}", headers=bearer)[0] == 404


def test_requests_are_counted_in_stats(auth_target: TargetProcess, bearer: dict[str, str]) -> None:
    before = http_json(auth_target.port, "GET", "/stats")["api"]
    for _ in range(3):
        assert http_request(auth_target.port, "GET", "/api/v1/posts/20", headers=bearer)[0] == 200
    batch = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}])
    status, _, _ = http_request(auth_target.port, "POST", "/mcp", batch,
                                {**bearer, "Content-Type": "application/json"})
    assert status == 200
    after = http_json(auth_target.port, "GET", "/stats")["api"]
    assert (after["rest"] - before["rest"], after["mcp"] - before["mcp"]) == (3, 2)


def test_validation_error_over_the_wire(auth_target: TargetProcess, bearer: dict[str, str]) -> None:
    status, headers, body = http_request(auth_target.port, "POST", "/api/v1/posts", {"body": "no title"}, bearer)
    assert status == 422 and headers["content-type"] == "application/json"
    assert json.loads(body)["fields"] == [{"field": "title", "message": "is required"}]


def test_keep_alive_reads_of_one_user(auth_target: TargetProcess, bearer: dict[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", auth_target.port, timeout=5)
    try:
        for _ in range(50):
            conn.request("GET", "/api/v1/users/10", headers=bearer)
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())["id"] == 10
    finally:
        conn.close()


def test_chunked_endpoint_uses_chunked_transfer_encoding(auth_target: TargetProcess, bearer: dict[str, str]) -> None:
    token = bearer["Authorization"].split()[1]
    request = f"GET /chunked?n=3&size=5&token={token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = raw_exchange(auth_target.port, request.encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert body == b"5\r\naaaaa\r\n5\r\nbbbbb\r\n5\r\nccccc\r\n0\r\n\r\n"
    status, _, data = http_request(auth_target.port, "GET", "/chunked?n=40&size=1000", headers=bearer)
    assert status == 200 and len(data) == 40_000 and data[:1000] == b"a" * 1000
    assert http_request(auth_target.port, "GET", "/chunked?n=0", headers=bearer)[0] == 400
