"""Compiling HTTP flows: refused steps and templates, request bytes (static, target-only, general) and what each
step reads of its response. No network: the ops are built and encoded directly."""

from __future__ import annotations

import random
from typing import Any

import pytest

from streamtestbench.flows import http
from streamtestbench.flows.http_auth import StaticAuth
from streamtestbench.flows.http_steps import USER_AGENT, RequestOp, check_flow, compile_flow, flatten, http_endpoint
from streamtestbench.flows.websocket import UnsupportedStep
from streamtestbench.protocols.http_codec import BODY, FULL, LEAN
from streamtestbench.scenario.loader import scenario_from_data
from streamtestbench.scenario.model import Scenario
from streamtestbench.templating import RenderContext

ENDPOINT = "http://127.0.0.1:8080"


def make_scenario(endpoint: str, flow: list[Any], **extra: Any) -> Scenario:
    data = {"name": "http test", "protocol": "HTTP", "endpoint": endpoint, "connections": 1,
            "duration_seconds": 5, "flow": flow, **extra}
    return scenario_from_data(data)


def request_op(step: dict[str, Any], **extra: Any) -> RequestOp:
    scenario = make_scenario(ENDPOINT, [step], **extra)
    op = compile_flow(scenario.flow, ENDPOINT, frozenset(scenario.variables))[0]
    assert isinstance(op, RequestOp)
    return op


def context(vu: int = 3, **variables: Any) -> RenderContext:
    return RenderContext(vu=vu, iteration=0, rng=random.Random(0), variables=dict(variables))


def test_the_behaviour_module_still_offers_check_flow() -> None:
    """The coordinator's protocol table imports ``flows.http`` and calls ``check_flow`` and ``HttpBehaviour``."""
    assert http.check_flow is check_flow
    assert callable(http.HttpBehaviour)


def test_websocket_steps_are_refused_before_the_run() -> None:
    scenario = make_scenario("http://127.0.0.1:1", [{"get": {"url": "/"}}])
    check_flow(scenario)
    bad = Scenario.model_validate({"name": "t", "protocol": "HTTP", "endpoint": "http://127.0.0.1:1",
                                   "duration_seconds": 1, "connections": 1, "flow": [{"send": "hello"}]})
    with pytest.raises(UnsupportedStep, match="not an HTTP step"):
        check_flow(bad)


def test_a_malformed_template_is_refused_before_the_run() -> None:
    scenario = make_scenario("http://127.0.0.1:1", [{"get": {"url": "/x?{{ $noSuchFunction() }}"}}])
    with pytest.raises(UnsupportedStep, match="step 1"):
        check_flow(scenario)


def test_a_templated_host_is_refused() -> None:
    scenario = make_scenario("http://127.0.0.1:1", [{"get": {"url": "http://${vu}.example/x"}}])
    with pytest.raises(UnsupportedStep, match="host"):
        check_flow(scenario)


def test_http_endpoint_forms() -> None:
    assert http_endpoint("127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert http_endpoint("ws://127.0.0.1:8000/graphql") == "http://127.0.0.1:8000/graphql"
    assert http_endpoint("wss://h/graphql") == "https://h/graphql"


def test_static_request_bytes_are_exact() -> None:
    scenario = make_scenario("http://127.0.0.1:8080", [
        {"post": {"url": "/api/v1/users", "json": {"name": "a"}, "headers": {"X-Tag": "t"}}},
    ])
    op = compile_flow(scenario.flow, "http://127.0.0.1:8080")[0]
    assert isinstance(op, RequestOp) and op.static and op.name == "http.POST /api/v1/users"
    data = op.build(RenderContext(vu=0, iteration=0, rng=random.Random(0)), StaticAuth())
    assert data.startswith(b"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
    assert b"Content-Type: application/json\r\nX-Tag: t\r\n" in data
    assert data.endswith(b'Content-Length: 12\r\n\r\n{"name":"a"}')


def test_metric_names_drop_the_query_and_keep_the_template() -> None:
    scenario = make_scenario("http://127.0.0.1:8080", [
        {"get": {"url": "/api/v1/users?limit=10"}}, {"get": {"url": "/api/v1/users/${vu}"}},
        {"get": {"url": "http://127.0.0.2:9000/other"}},
    ])
    names = [op.name for op in compile_flow(scenario.flow, "http://127.0.0.1:8080") if isinstance(op, RequestOp)]
    assert names == ["http.GET /api/v1/users", "http.GET /api/v1/users/${vu}", "http.GET /other"]


def test_a_target_only_request_renders_the_target_and_reuses_the_rest() -> None:
    op = request_op({"get": {"url": "/json?vu=${vu}&r={{ $randomInt(5, 5) }}", "headers": {"X-Tag": "t"}}})
    assert op.target_only and not op.static
    auth = StaticAuth({"Authorization": "Bearer abc"})
    expected = (b"GET /json?vu=3&r=5 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: " + USER_AGENT.encode()
                + b"\r\nConnection: keep-alive\r\nX-Tag: t\r\nAuthorization: Bearer abc\r\n\r\n")
    assert op.build(context(), auth) == expected
    assert op.format_key in auth.cache  # every value an int: the request came from one bytes %-format
    assert op.build(context(vu=4), auth) == expected.replace(b"vu=3", b"vu=4")


def test_a_target_only_request_with_a_text_value_renders_and_reuses_the_rest() -> None:
    op = request_op({"get": {"url": "/u/${vu}?n=${name}"}}, variables={"name": ""})
    auth = StaticAuth()
    assert op.build(context(name="ann"), auth).startswith(b"GET /u/3?n=ann HTTP/1.1\r\n")
    assert op.suffix_key in auth.cache and op.format_key not in auth.cache
    assert op.build(context(name=7), auth).startswith(b"GET /u/3?n=7 HTTP/1.1\r\n")
    assert op.format_key in auth.cache


def test_a_literal_percent_in_a_target_keeps_the_escaping_path() -> None:
    op = request_op({"get": {"url": "/p%2Fq/${vu}"}})
    assert op.target_only and op.int_target is None
    assert op.build(context(), StaticAuth()).startswith(b"GET /p%2Fq/3 HTTP/1.1\r\n")


def test_a_target_only_request_escapes_its_rendered_target_and_carries_a_query_key() -> None:
    op = request_op({"get": {"url": "/find?q=${term}"}}, variables={"term": ""})
    assert op.target_only
    assert op.build(context(term="a b%"), StaticAuth()).startswith(b"GET /find?q=a%20b%25 HTTP/1.1\r\n")
    with_key = op.build(context(term="x"), StaticAuth(query="api_key=k"))
    assert with_key.startswith(b"GET /find?q=x&api_key=k HTTP/1.1\r\n")


def test_templated_headers_and_bodies_take_the_general_build() -> None:
    header = request_op({"get": {"url": "/u/${vu}", "headers": {"X-Vu": "${vu}"}}})
    body = request_op({"post": {"url": "/u/${vu}", "json": {"vu": "${vu}"}}})
    assert not header.target_only and not body.target_only
    assert b"GET /u/3 HTTP/1.1\r\n" in header.build(context(), StaticAuth())
    assert header.build(context(), StaticAuth()).endswith(b"X-Vu: 3\r\n\r\n")
    assert body.build(context(), StaticAuth()).endswith(b"Content-Length: 8\r\n\r\n{\"vu\":3}")


@pytest.mark.parametrize(("step", "mode", "quick", "applies"), [
    ({"get": {"url": "/"}}, LEAN, True, False),
    ({"get": {"url": "/", "check": [{"status": 200}]}}, LEAN, True, False),
    ({"get": {"url": "/", "check": [{"jsonPath": "id", "exists": True}]}}, BODY, True, True),
    ({"get": {"url": "/", "capture": [{"json": "id", "as": "id"}]}}, BODY, True, True),
    ({"get": {"url": "/", "check": [{"contains": "ok"}]}}, BODY, True, True),
    ({"get": {"url": "/", "check": [{"header": "x-id"}]}}, FULL, False, True),
    ({"get": {"url": "/", "followRedirects": True}}, FULL, False, False),
])
def test_what_each_step_reads_of_its_response(step: dict[str, Any], mode: int, quick: bool, applies: bool) -> None:
    op = request_op(step)
    assert (op.mode, op.quick, op.apply_checks is not None) == (mode, quick, applies)


def test_loops_unroll_into_one_pass_unless_too_long() -> None:
    short = make_scenario(ENDPOINT, [{"loop": {"count": 3, "steps": [{"get": {"url": "/"}}]}}])
    long = make_scenario(ENDPOINT, [{"loop": {"count": 20_000, "steps": [{"get": {"url": "/"}}]}}])
    flat = flatten(compile_flow(short.flow, ENDPOINT))
    assert flat is not None and len(flat) == 3
    assert flatten(compile_flow(long.flow, ENDPOINT)) is None
