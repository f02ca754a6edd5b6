"""The HTTP behaviour end to end on loopback: flows, checks, captures, templates, errors, the three
load models, redirects and JSON-RPC/MCP calls. Servers: nginx, the reference target, and a small
echo server that answers each request with what it received."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import orjson
import pytest

from streamtestbench.engine.stopping import StopSignal
from streamtestbench.flows.http import HttpBehaviour
from streamtestbench.flows.http_steps import RequestOp, compile_flow
from streamtestbench.protocols.http_client import split_url
from streamtestbench.scenario.loader import scenario_from_data
from streamtestbench.scenario.model import Scenario
from tests.protocols.test_http_client import ListRecorder, NginxServer, Silent, free_port, nginx

__all__ = ["EchoServer", "make_scenario", "nginx", "one_pass"]

pytestmark = pytest.mark.integration


class EchoServer:
    """Answers with what it received as JSON; ``/rpc`` speaks JSON-RPC and ``/mcp`` a little MCP;
    ``/status/N`` answers status N; ``/token`` hands out a token in a header and the body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def targets(self) -> list[str]:
        return [target for _, target, _, _ in self.requests]

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str],
                                                                                               bytes]:
        if target.startswith("/status/"):
            return int(target.split("/")[2]), {}, b"{}"
        if target == "/token":
            return 200, {"X-Token": "from-header"}, b'{"data": {"token": "from-body", "id": 7}}'
        if target == "/graphql":
            query = orjson.loads(body)
            if "Broken" in query["query"]:
                return 200, {}, b'{"errors": [{"message": "no such field"}]}'
            return 200, {}, orjson.dumps({"data": {"users": [{"id": "u1"}], "echo": query.get("variables")}})
        if target == "/rpc":
            request = orjson.loads(body)
            return 200, {}, orjson.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {"ok": True}})
        if target == "/mcp":
            request = orjson.loads(body)
            if request["method"] == "initialize":
                result = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "echo"}}
                return 200, {"Mcp-Session-Id": "session-1"}, orjson.dumps(
                    {"jsonrpc": "2.0", "id": request["id"], "result": result})
            if "id" not in request:
                return 202, {}, b""
            return 200, {}, orjson.dumps({"jsonrpc": "2.0", "id": request["id"],
                                          "result": {"content": [{"type": "text", "text": "hi"}]}})
        document = {"method": method, "target": target, "headers": headers, "body": body.decode()}
        return 200, {}, orjson.dumps(document)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ")
                headers = {name.strip().lower(): value.strip()
                           for name, _, value in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((method, target, headers, body))
                status, extra, payload = self.answer(method, target, headers, body)
                lines_out = [f"HTTP/1.1 {status} X", "Content-Type: application/json",
                             f"Content-Length: {len(payload)}", *(f"{k}: {v}" for k, v in extra.items())]
                writer.write(("\r\n".join(lines_out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def make_scenario(endpoint: str, flow: list[Any], **extra: Any) -> Scenario:
    data = {"name": "http test", "protocol": "HTTP", "endpoint": endpoint, "connections": 1,
            "duration_seconds": 5, "flow": flow, **extra}
    return scenario_from_data(data)


async def one_pass(scenario: Scenario, recorder: ListRecorder, unit: int = 0,
                   behaviour: HttpBehaviour | None = None) -> HttpBehaviour:
    behaviour = behaviour or HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
    await behaviour.run_iteration(unit, time.monotonic_ns(), StopSignal())
    return behaviour


def errors(recorder: ListRecorder) -> list[tuple[str, str | None]]:
    return [(name, error) for name, _, _, _, _, error in recorder.messages]


def run(factory: Callable[[], Any]) -> Any:
    return asyncio.run(factory())


# -- templates, checks and captures -----------------------------------------------------------
def test_templates_render_per_virtual_user_and_captures_feed_later_steps() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [
                {"get": {"url": "/token", "capture": [{"json": "data.token", "as": "token"},
                                                       {"header": "x-token", "as": "fromHeader"}]}},
                {"get": {"url": "/users/${vu}?it=${iteration}&t=${token}",
                         "headers": {"X-From": "${fromHeader}", "X-Number": "{{ $randomInt(1, 5) }}"}}},
                {"post": {"url": "/items", "json": {"owner": "${vu}", "token": "${token}"}}},
            ])
            await one_pass(scenario, recorder, unit=7)
            assert errors(recorder) == [("http.GET /token", None), ("http.GET /users/${vu}", None),
                                        ("http.POST /items", None)]
            _, target, headers, _ = server.requests[1]
            assert target == "/users/7?it=0&t=from-body"
            assert headers["x-from"] == "from-header"
            assert 1 <= int(headers["x-number"]) <= 5
            assert orjson.loads(server.requests[2][3]) == {"owner": 7, "token": "from-body"}

    run(go)


def test_a_closed_loop_of_templated_checked_requests_stays_on_the_callback_path() -> None:
    flow = [{"get": {"url": "/echo?i=${iteration}&prev=${token}&m={{ unset }}",
                     "capture": [{"json": "method", "as": "token"}],
                     "check": [{"jsonPath": "headers.host", "exists": True}]}}]

    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, flow, variables={"token": "none"})
            behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
            assert behaviour.fast
            stop = StopSignal()
            task = asyncio.ensure_future(behaviour.run_connection(0, stop, None))
            while len(recorder.messages) < 5:
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(task, 5)
            assert server.targets()[:3] == ["/echo?i=0&prev=none&m=", "/echo?i=1&prev=GET&m=",
                                            "/echo?i=2&prev=GET&m="]
            assert all(error is None for _, error in errors(recorder))
            assert recorder.errors == ["template variable not set: unset"]
            assert len(recorder.kinds("open")) == 1

    run(go)


@pytest.mark.parametrize(("check", "failure"), [
    ([], "HTTP 4xx"), ([{"status": 404}], "capture failed: x"), ([{"status": 200}], "check failed: status"),
])
def test_an_error_status_skips_captures_unless_the_status_is_checked(check: list[Any], failure: str) -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [{"get": {"url": "/status/404", "check": check,
                                                            "capture": [{"json": "x", "as": "x"}]}}])
            behaviour = await one_pass(scenario, recorder)
            assert behaviour.fast
            assert errors(recorder) == [("http.GET /status/404", failure)]

    run(go)


def test_every_check_kind_passes_and_fails(nginx: NginxServer) -> None:
    flow = [
        {"get": {"url": "/json", "check": [{"status": 200}, {"jsonPath": "id", "equals": 42},
                                           {"jsonPath": "user.name", "exists": True},
                                           {"jsonPath": "missing", "exists": False},
                                           {"contains": "tok-1"}, {"header": "content-type",
                                                                   "equals": "application/json"}]}},
        {"get": {"url": "/json", "check": [{"status": 201}]}},
        {"get": {"url": "/json", "check": [{"jsonPath": "id", "equals": 43}]}},
        {"get": {"url": "/json", "check": [{"contains": "nowhere"}]}},
        {"get": {"url": "/json", "check": [{"header": "x-absent"}]}},
        {"get": {"url": "/", "check": [{"jsonPath": "id", "exists": True}]}},
        {"get": {"url": "/json", "capture": [{"json": "nothing.here", "as": "x"}]}},
    ]

    async def go() -> None:
        recorder = ListRecorder()
        await one_pass(make_scenario(nginx.url, flow), recorder)
        assert [error for _, error in errors(recorder)] == [
            None, "check failed: status", "check failed: jsonPath id", "check failed: contains",
            "check failed: header x-absent", "check failed: body is not JSON", "capture failed: x"]

    run(go)


def test_status_errors_and_status_classes(nginx: NginxServer) -> None:
    flow = [{"get": {"url": "/gone"}}, {"get": {"url": "/broken"}}, {"get": {"url": "/gone", "check": [
        {"status": [200, 404]}]}}, {"get": {"url": "/old"}}, {"get": {"url": "/"}}]

    async def go() -> None:
        recorder = ListRecorder()
        behaviour = await one_pass(make_scenario(nginx.url, flow), recorder)
        await behaviour.close()
        assert [error for _, error in errors(recorder)] == ["HTTP 4xx", "HTTP 5xx", None, None, None]
        assert recorder.counts == {"http.status.2xx": 1, "http.status.3xx": 1, "http.status.4xx": 2,
                                   "http.status.5xx": 1}
        assert recorder.sent_count == recorder.received_count == 5

    run(go)


def test_redirects_followed_when_asked(nginx: NginxServer) -> None:
    flow = [{"get": {"url": "/old", "followRedirects": True, "check": [{"status": 200}, {"contains": "new"}]}},
            {"get": {"url": "/loop", "followRedirects": True}}]

    async def go() -> None:
        recorder = ListRecorder()
        await one_pass(make_scenario(nginx.url, flow), recorder)
        assert errors(recorder) == [("http.GET /old", None), ("http.GET /loop", None)]

    run(go)


# -- failures ---------------------------------------------------------------------------------
def test_read_timeout_is_recorded_and_counted() -> None:
    silent = Silent()

    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(f"http://127.0.0.1:{silent.port}", [{"get": {"url": "/", "timeout_ms": 200}}])
        await one_pass(scenario, recorder)
        assert errors(recorder) == [("http.GET /", "timeout")]
        assert recorder.counts["http.timeout"] == 1

    try:
        run(go)
    finally:
        silent.close()


def test_connection_refused_is_a_connection_error() -> None:
    port = free_port()

    async def go() -> None:
        recorder = ListRecorder()
        await one_pass(make_scenario(f"http://127.0.0.1:{port}", [{"get": {"url": "/"}}]), recorder)
        assert errors(recorder) == [("http.GET /", "connection error")]
        assert recorder.counts["http.connection_error"] == 1
        assert recorder.kinds("failed") == ["Connection refused"]

    run(go)


def test_an_invalid_rendered_header_fails_only_that_request() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [
                {"get": {"url": "/token", "capture": [{"json": "data", "as": "obj"}]}},
                {"get": {"url": "/a", "headers": {"X-Bad": "line\r\nbreak ${vu}"}}},
                {"get": {"url": "/b"}},
            ])
            await one_pass(scenario, recorder)
            assert [e for _, e in errors(recorder)] == [None, "invalid request", None]

    run(go)


# -- load models ------------------------------------------------------------------------------
def test_closed_model_loops_on_one_kept_alive_connection(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(nginx.url, [{"get": {"url": "/"}}, {"get": {"url": "/json",
                                                                             "check": [{"status": 200}]}}])
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
        stop = StopSignal()
        task = asyncio.ensure_future(behaviour.run_connection(0, stop, None))
        while len(recorder.messages) < 200:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)
        await behaviour.close()
        assert all(error is None for _, error in errors(recorder))
        assert len(recorder.kinds("open")) == 1
        assert recorder.kinds("closed") == [None]
        assert recorder.received_count == len(recorder.messages)

    run(go)


def test_rate_model_sends_one_pass_per_due_time(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        behaviour = HttpBehaviour(make_scenario(nginx.url, [{"get": {"url": "/"}}]), recorder, random.Random(1),
                                  grace_s=1.0)
        origin = time.monotonic_ns() + 10_000_000
        dues = [origin + index * 20_000_000 for index in range(5)]
        await behaviour.run_connection(0, StopSignal(), lambda i: dues[i] if i < len(dues) else None)
        assert [intended for _, intended, _, _, _, _ in recorder.messages] == dues
        assert all(start >= intended for _, intended, start, _, _, _ in recorder.messages)

    run(go)


def test_an_arrival_reusing_a_user_starts_with_its_own_number_and_no_earlier_captures() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [
                {"get": {"url": "/u/${vu}?t=${token}"}},
                {"get": {"url": "/token", "capture": [{"json": "data.token", "as": "token"}]}},
            ])
            behaviour = await one_pass(scenario, recorder, unit=3)
            reused = behaviour.idle_users[0]
            await one_pass(scenario, recorder, unit=4, behaviour=behaviour)
            assert behaviour.idle_users == [reused]  # the same user served the second arrival
            assert [request[1] for request in server.requests[::2]] == ["/u/3?t=", "/u/4?t="]
            await behaviour.close()

    run(go)


def test_open_model_arrivals_reuse_idle_connections(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(nginx.url, [{"get": {"url": "/"}}])
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
        scheduled = time.monotonic_ns()
        for unit in range(3):
            await behaviour.run_iteration(unit, scheduled, StopSignal())
        assert len(recorder.messages) == 3
        assert recorder.messages[0][1] == scheduled
        assert len(recorder.kinds("open")) == 1
        await behaviour.close()
        await asyncio.sleep(0.05)
        assert recorder.kinds("closed") == [None]

    run(go)


def test_start_iteration_passes_reuse_one_connection_and_one_idle_user(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        behaviour = HttpBehaviour(make_scenario(nginx.url, [{"get": {"url": "/"}}]), recorder, random.Random(1),
                                  grace_s=1.0)
        stop = StopSignal()
        scheduled = time.monotonic_ns()
        for unit in range(3):
            await asyncio.wait_for(behaviour.start_iteration(unit, scheduled, stop), 5)
            assert not stop._callbacks  # the pass's stop hook was removed when it ended
        assert errors(recorder) == [("http.GET /", None)] * 3
        assert recorder.messages[0][1] == scheduled
        assert len(recorder.kinds("open")) == 1
        assert len(behaviour.idle_users) == 1
        await behaviour.close()

    run(go)


def test_prepared_arrivals_have_their_users_and_connections_ready(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        behaviour = HttpBehaviour(make_scenario(nginx.url, [{"get": {"url": "/"}}]), recorder, random.Random(1),
                                  grace_s=1.0)
        await behaviour.prepare_arrivals(4)
        assert len(behaviour.idle_users) == 4
        assert len(behaviour.idle) == 4
        assert len(recorder.kinds("open")) == 4
        stop = StopSignal()
        scheduled = time.monotonic_ns()
        arrivals = [behaviour.start_iteration(unit, scheduled, stop) for unit in range(4)]
        await asyncio.wait_for(asyncio.gather(*arrivals), 5)
        await asyncio.wait_for(behaviour.start_iteration(4, scheduled, stop), 5)
        assert errors(recorder) == [("http.GET /", None)] * 5
        assert len(recorder.kinds("open")) == 4  # every arrival found a connection ready
        assert len(behaviour.idle_users) == 4
        await behaviour.close()

    run(go)


def test_stop_gives_a_started_iteration_in_flight_the_grace_period_then_a_timeout() -> None:
    silent = Silent()

    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(f"http://127.0.0.1:{silent.port}", [{"get": {"url": "/"}}])
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=0.2)
        stop = StopSignal()
        done = behaviour.start_iteration(0, time.monotonic_ns(), stop)
        while not recorder.kinds("open"):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert not done.done()
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(done, 3)
        took = time.monotonic() - started
        assert 0.15 <= took < 2.0  # the request in flight had the grace period, then was dropped
        assert errors(recorder) == [("http.GET /", "timeout")]
        assert not stop._callbacks
        await asyncio.sleep(0)
        assert len(behaviour.idle_users) == 1
        assert behaviour.idle_users[0].grace is None
        await behaviour.close()

    try:
        run(go)
    finally:
        silent.close()


def test_stop_interrupts_a_think(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(nginx.url, [{"get": {"url": "/"}}, {"think": 30}])
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
        stop = StopSignal()
        task = asyncio.ensure_future(behaviour.run_connection(0, stop, None))
        while not recorder.messages:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 2)
        assert len(recorder.messages) == 1

    run(go)


def test_grace_period_then_a_request_in_flight_times_out() -> None:
    silent = Silent()

    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(f"http://127.0.0.1:{silent.port}", [{"get": {"url": "/"}}])
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=0.1)
        stop = StopSignal()
        task = asyncio.ensure_future(behaviour.run_connection(0, stop, None))
        while not recorder.kinds("open"):
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 3)
        assert errors(recorder) == [("http.GET /", "timeout")]

    try:
        run(go)
    finally:
        silent.close()


# -- JSON-RPC and MCP -------------------------------------------------------------------------
def test_rpc_and_mcp_calls_with_one_initialize_per_session() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = scenario_from_data({
                "name": "mcp", "protocol": "JSONRPC", "endpoint": f"{server.url}/mcp", "connections": 1,
                "duration_seconds": 5,
                "flow": [{"rpc": {"method": "tools/list", "url": "/rpc"}},
                         {"mcp": {"tool": "echo", "arguments": {"text": "hi ${vu}"}}},
                         {"mcp": {"tool": "get_time"}}]})
            behaviour = await one_pass(scenario, recorder)
            await one_pass(scenario, recorder, behaviour=behaviour)
            assert errors(recorder) == [("rpc.tools/list", None), ("mcp.echo", None), ("mcp.get_time", None)] * 2
            methods = [orjson.loads(body)["method"] for _, target, _, body in server.requests if target == "/mcp"]
            assert methods.count("initialize") == 1
            calls = [headers for _, target, headers, body in server.requests
                     if target == "/mcp" and orjson.loads(body)["method"] == "tools/call"]
            assert all(headers.get("mcp-session-id") == "session-1" for headers in calls) and len(calls) == 4

    run(go)


def test_origin_of_an_absolute_request_url() -> None:
    base = split_url("http://127.0.0.1:8080")[0]
    scenario = make_scenario("http://127.0.0.1:8080", [{"get": {"url": "http://127.0.0.1:8080/x"}},
                                                       {"get": {"url": "http://127.0.0.2:8080/y"}}])
    first, second = compile_flow(scenario.flow, "http://127.0.0.1:8080")
    assert isinstance(first, RequestOp) and isinstance(second, RequestOp)
    assert first.origin == base and second.origin.host == "127.0.0.2"


def test_graphql_queries_with_checks_and_errors() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = scenario_from_data({
                "name": "gql", "protocol": "GRAPHQL", "endpoint": f"{server.url}/graphql", "connections": 1,
                "duration_seconds": 5,
                "flow": [{"graphql": {"query": "query Users($n: Int) { users(first: $n) { id } }",
                                      "operationName": "Users", "variables": {"n": "${vu}"},
                                      "check": [{"jsonPath": "data.users[0].id", "equals": "u1"}]}},
                         {"graphql": {"query": "query Broken { nothing }", "operationName": "Broken"}}]})
            await one_pass(scenario, recorder, unit=3)
            assert errors(recorder) == [("graphql.Users", None), ("graphql.Broken", "graphql errors")]
            assert orjson.loads(server.requests[0][3])["variables"] == {"n": 3}

    run(go)


def test_data_rows_feed_each_iteration(tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text("username,team\nada,red\nbob,blue\ncy,green\n")

    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [{"get": {"url": "/users/${username}?team=${team}"}}],
                                     data={"file": str(users), "order": "sequence"})
            behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
            for unit in (0, 1, 2, 3):
                await one_pass(scenario, recorder, unit=unit, behaviour=behaviour)
            assert server.targets() == ["/users/ada?team=red", "/users/bob?team=blue", "/users/cy?team=green",
                                        "/users/ada?team=red"]

    run(go)


def test_head_requests_in_a_closed_loop(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(nginx.url, [{"head": {"url": "/"}}, {"get": {"url": "/"}}])
        behaviour = HttpBehaviour(scenario, recorder, random.Random(1), grace_s=1.0)
        stop = StopSignal()
        task = asyncio.ensure_future(behaviour.run_connection(0, stop, None))
        while len(recorder.messages) < 50:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)
        assert all(error is None for _, error in errors(recorder))
        assert {name for name, _ in errors(recorder)} == {"http.HEAD /", "http.GET /"}
        assert len(recorder.kinds("open")) == 1

    run(go)


class OneShotServer(EchoServer):
    """Answers the first request on each connection, then hangs up on the next one unanswered (as a server
    does when its keep-alive timer fires just as a request arrives)."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests.append(("GET", "/", {}, b""))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def test_a_stale_keep_alive_connection_is_retried_once_on_a_new_one() -> None:
    async def go() -> None:
        async with OneShotServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [{"get": {"url": "/"}}, {"get": {"url": "/"}},
                                                  {"get": {"url": "/"}}])
            await one_pass(scenario, recorder)
            assert errors(recorder) == [("http.GET /", None)] * 3
            assert server.connections == 3
            assert "http.connection_error" not in recorder.counts

    run(go)


def test_https_endpoint_trusting_a_certificate_from_the_environment(nginx: NginxServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The default TLS context verifies; SSL_CERT_FILE (read by OpenSSL) names a private CA, as for curl."""
    monkeypatch.setenv("SSL_CERT_FILE", str(nginx.cert))

    async def go() -> None:
        recorder = ListRecorder()
        scenario = make_scenario(nginx.tls_url, [{"get": {"url": "/json", "check": [{"jsonPath": "id",
                                                                                      "equals": 42}]}}])
        await one_pass(scenario, recorder)
        assert errors(recorder) == [("http.GET /json", None)]

    run(go)
