"""Routing, request/response values and the HTTP handlers, called directly (no sockets)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamtestbench.auth.jwt import mint_token, verify_token
from streamtestbench.target.config import TargetConfig
from streamtestbench.target.context import TargetContext
from streamtestbench.target.http_routes import Router, default_router
from streamtestbench.target.http_types import Request, Response, encode_response
from streamtestbench.target.ws_routes import authorize, resolve_ws

SECRET = "http-unit-test-secret-long-enough-for-hs256"


def ctx(**overrides: Any) -> TargetContext:
    return TargetContext(TargetConfig(jwt_secret=SECRET, **overrides))


def request(method: str, target: str, body: bytes = b"", **headers: str) -> Request:
    return Request(method, target, {k.replace("_", "-").lower(): v for k, v in headers.items()}, body)


def call(method: str, target: str, body: bytes = b"", context: TargetContext | None = None, **headers: str) -> Response:
    context = context or ctx()
    req = request(method, target, body, **headers)
    match = default_router().resolve(method, req.path)
    assert match.route is not None, match
    return match.route.handler(req, context)


def noop(request: Request, context: TargetContext) -> Response:
    return Response.text("ok")


def test_router_exact_params_404_and_405() -> None:
    router = Router()
    router.add("GET", "/api/v1/users", noop)
    router.add(("PUT", "DELETE"), "/api/v1/users/{id}", noop)
    assert router.resolve("GET", "/api/v1/users").route is not None
    assert router.resolve("GET", "/api/v1/users/").route is not None  # trailing slash ignored
    match = router.resolve("DELETE", "/api/v1/users/42")
    assert match.route is not None and match.params == {"id": "42"}
    assert router.resolve("GET", "/api/v1/nothing").status == 404
    not_allowed = router.resolve("POST", "/api/v1/users/42")
    assert not_allowed.status == 405 and not_allowed.allowed == ("DELETE", "PUT")


def test_router_memo_follows_new_routes_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamtestbench.target import http_routes

    monkeypatch.setattr(http_routes, "MEMO_SIZE", 4)
    router = Router()
    router.add("GET", "/items/{id}", noop)
    assert router.resolve("GET", "/items/1") is router.resolve("GET", "/items/1")
    assert router.resolve("GET", "/things/1").status == 404
    router.add("GET", "/things/{id}", noop)  # a route added later is not hidden by a remembered 404
    assert router.resolve("GET", "/things/1").params == {"id": "1"}
    for i in range(20):
        assert router.resolve("GET", f"/items/{i}").params == {"id": str(i)}
    assert len(router._memo) <= 4


def test_default_routes_are_flagged_for_auth_and_ops() -> None:
    routes = {(r.pattern, m): r for r in default_router().routes() for m in r.methods}
    public = {p for (p, _), r in routes.items() if r.public}
    assert public == {"/health", "/metrics", "/stats", "/auth/login"}
    assert routes[("/admin/faults", "POST")].ops and routes[("/stats/reset", "POST")].ops
    assert not routes[("/echo", "GET")].ops and not routes[("/auth/login", "POST")].ops


def test_request_helpers() -> None:
    req = request("GET", "/ws?device_id=d1&token=abc&x=", authorization="Bearer  tok ")
    assert req.path == "/ws" and req.query_value("device_id") == "d1" and req.query_value("x") == ""
    assert req.bearer_token() == "tok"
    assert request("GET", "/ws?token=abc").bearer_token() == "abc"
    assert request("GET", "/ws", authorization="Basic xyz").bearer_token() is None


def test_encode_response() -> None:
    wire = encode_response(Response.json({"a": 1}, 201, {"X-Test": "1"}), keep_alive=True)
    head, body = wire.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"Content-Length: 7" in head and b"X-Test: 1" in head and b"Connection" not in head
    assert body == b'{"a":1}'
    closing = encode_response(Response.text("x"), keep_alive=False, head=True)
    assert b"Connection: close" in closing and closing.endswith(b"\r\n\r\n")


def test_encode_chunked_and_no_content() -> None:
    chunked = Response(200, b"", "text/event-stream", {"Cache-Control": "no-cache"}, chunks=(b"ab", b"", b"c" * 17))
    wire = encode_response(chunked, keep_alive=True)
    head, _, body = wire.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert body == b"2\r\nab\r\n11\r\n" + b"c" * 17 + b"\r\n0\r\n\r\n"  # empty chunks are skipped
    assert encode_response(chunked, keep_alive=True, head=True) == head + b"\r\n\r\n"
    no_content = encode_response(Response(204), keep_alive=True)
    assert no_content == b"HTTP/1.1 204 No Content\r\n\r\n"


def test_chunked_handler() -> None:
    response = call("GET", "/chunked?n=28&size=2")
    assert response.status == 200 and response.chunks is not None and len(response.chunks) == 28
    assert response.chunks[0] == b"aa" and response.chunks[25] == b"zz" and response.chunks[26] == b"aa"
    assert call("GET", "/chunked").chunks == tuple(bytes([97 + i]) * 64 for i in range(10))
    for bad in ("n=0", "n=10001", "size=65537", "size=x"):
        assert call("GET", f"/chunked?{bad}").status == 400, bad


def test_health_and_stats_handlers() -> None:
    context = ctx()
    health = orjson.loads(call("GET", "/health", context=context).body)
    assert health["status"] == "ok" and health["uptimeSeconds"] >= 0
    context.stats.frames_in += 5
    stats = orjson.loads(call("GET", "/stats", context=context).body)
    assert stats["frames"] == {"in": 5, "out": 0}
    call("POST", "/stats/reset", context=context)
    assert orjson.loads(call("GET", "/stats", context=context).body)["frames"]["in"] == 0
    metrics = call("GET", "/metrics", context=context)
    assert metrics.content_type.startswith("text/plain") and b"stb_target_uptime_seconds" in metrics.body


def test_login_json_form_and_failures() -> None:
    ok = call("POST", "/auth/login", b'{"username":"loadtest","password":"loadtestpassword"}')
    assert ok.status == 200
    body = orjson.loads(ok.body)
    assert body["tokens"]["expiresIn"] == 86400 and body["user"]["username"] == "loadtest"
    assert verify_token(body["tokens"]["accessToken"], SECRET)["sub"] == "loadtest"
    form = call("POST", "/auth/login", b"username=loadtest&password=loadtestpassword",
                content_type="application/x-www-form-urlencoded")
    assert form.status == 200
    assert call("POST", "/auth/login", b'{"username":"loadtest","password":"nope"}').status == 401
    assert call("POST", "/auth/login", b'{"username":"loadtest"}').status == 401
    assert call("POST", "/auth/login", b"not json").status == 400


def test_admin_faults_switches_and_validates() -> None:
    context = ctx()
    set_slow = call("POST", "/admin/faults", b'{"fault":"slow:5"}', context=context)
    assert orjson.loads(set_slow.body) == {"faults": ["slow:5"]} and context.faults.active
    several = call("POST", "/admin/faults", b'{"faults":["drop:0.5","stall:1@2"]}', context=context)
    assert orjson.loads(several.body) == {"faults": ["drop:0.5", "stall:1@2"]}
    assert orjson.loads(call("GET", "/admin/faults", context=context).body)["faults"] == ["drop:0.5", "stall:1@2"]
    bad = call("POST", "/admin/faults", b'{"fault":"explode:1"}', context=context)
    assert bad.status == 400 and b"allowed forms" in bad.body
    assert context.faults.specs() == ["drop:0.5", "stall:1@2"]  # unchanged by a bad request
    assert call("POST", "/admin/faults", b'{"nothing":1}', context=context).status == 400
    call("POST", "/admin/faults", b'{"clear":true}', context=context)
    assert not context.faults.active


def test_authorize_only_when_auth_is_on() -> None:
    assert authorize(request("GET", "/echo"), ctx()) is None
    secured = ctx(auth=True)
    missing = authorize(request("GET", "/echo"), secured)
    assert missing is not None and missing.status == 401
    bad = authorize(request("GET", "/echo", authorization="Bearer nonsense"), secured)
    assert bad is not None and bad.status == 401
    good = mint_token(SECRET, {"sub": "t"})
    assert authorize(request("GET", f"/echo?token={good}"), secured) is None


@pytest.mark.parametrize(
    ("target", "status"),
    [("/nope", 404), ("/ws/mobile/sync/", 400), ("/ws/mobile/sync?device_id=", 400)],
)
def test_ws_routes_refusals(target: str, status: int) -> None:
    result = resolve_ws(request("GET", target), ctx())
    assert isinstance(result, Response) and result.status == status


def test_constant_routes_are_indexed_by_raw_method_and_target() -> None:
    router = default_router()
    from streamtestbench.target.http_handlers import ECHO_RESPONSE

    assert router.constants[(b"GET", b"/echo")] is ECHO_RESPONSE
    assert router.constants[(b"POST", b"/echo/")] is ECHO_RESPONSE
    assert (b"GET", b"/health") not in router.constants  # its body changes (uptime)
    assert (b"GET", b"/echo?x=1") not in router.constants  # anything unusual takes the full path
