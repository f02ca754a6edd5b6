from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from streamtestbench.flows.checks import CompiledChecks
from streamtestbench.protocols.http_types import HttpResponse
from streamtestbench.scenario.flow import Capture, Check
from streamtestbench.templating import RenderContext

BODY = {"data": {"id": 42, "users": [{"name": "ann"}], "active": True, "none": None},
        "tokens": {"accessToken": "jwt-1"}}


def response(status: int = 200, body: Any = BODY, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return HttpResponse(status=status, headers=headers or {"content-type": "application/json",
                                                            "x-request-id": "r-1"}, body=raw)


def checks(*raw: dict[str, Any]) -> list[Check]:
    return [Check.model_validate(item) for item in raw]


def captures(*raw: dict[str, Any]) -> list[Capture]:
    return [Capture.model_validate(item) for item in raw]


def test_status_only_needs_no_body() -> None:
    compiled = CompiledChecks(checks({"status": 200}, {"header": "x-request-id"}), [])
    assert not compiled.needs_body
    assert compiled.evaluate(response()) == (None, {})
    assert compiled.evaluate(response(status=500)) == ("check failed: status", {})


def test_status_list() -> None:
    compiled = CompiledChecks(checks({"status": [200, 201]}), [])
    assert compiled.evaluate(response(status=201))[0] is None
    assert compiled.evaluate(response(status=204))[0] == "check failed: status"


@pytest.mark.parametrize("check, failure", [
    ({"jsonPath": "data.id"}, None),
    ({"jsonPath": "data.id", "exists": True}, None),
    ({"jsonPath": "data.missing"}, "check failed: jsonPath data.missing"),
    ({"jsonPath": "errors", "exists": False}, None),
    ({"jsonPath": "data.id", "exists": False}, "check failed: jsonPath data.id"),
    ({"jsonPath": "$.data.id", "equals": 42}, None),
    ({"jsonPath": "data.id", "equals": 42.0}, None),
    ({"jsonPath": "data.id", "equals": "42"}, "check failed: jsonPath data.id"),
    ({"jsonPath": "data.active", "equals": 1}, "check failed: jsonPath data.active"),
    ({"jsonPath": "data.active", "equals": True}, None),
    ({"jsonPath": "data.none", "equals": None}, None),
    ({"jsonPath": "data.missing", "equals": None}, "check failed: jsonPath data.missing"),
    ({"jsonPath": "data.users[0]", "equals": {"name": "ann"}}, None),
])
def test_json_path_checks(check: dict[str, Any], failure: str | None) -> None:
    compiled = CompiledChecks(checks(check), [])
    assert compiled.needs_body
    assert compiled.evaluate(response())[0] == failure


def test_json_check_on_a_body_that_is_not_json() -> None:
    compiled = CompiledChecks(checks({"jsonPath": "data.id"}), [])
    assert compiled.evaluate(response(body=b"<html>oops</html>"))[0] == "check failed: body is not JSON"
    assert compiled.evaluate(response(body=b""))[0] == "check failed: body is not JSON"


def test_equals_renders_templates_with_a_context() -> None:
    compiled = CompiledChecks(checks({"jsonPath": "data.id", "equals": "${vu}"}), [])
    ctx = RenderContext(vu=42, iteration=0, rng=random.Random(0))
    assert compiled.evaluate(response(), ctx)[0] is None
    assert compiled.evaluate(response())[0] == "check failed: jsonPath data.id"


def test_contains_searches_the_body_text() -> None:
    compiled = CompiledChecks(checks({"contains": "jwt-1"}), [])
    assert compiled.needs_body
    assert compiled.evaluate(response())[0] is None
    assert compiled.evaluate(response(body=b"nothing here"))[0] == "check failed: contains"


def test_contains_renders_templates_with_a_context() -> None:
    compiled = CompiledChecks(checks({"contains": "user-${vu}"}), [])
    ctx = RenderContext(vu=5, iteration=0, rng=random.Random(0))
    assert compiled.evaluate(response(body=b"hello user-5"), ctx)[0] is None
    assert compiled.evaluate(response(body=b"hello user-6"), ctx)[0] == "check failed: contains"


@pytest.mark.parametrize("check, failure", [
    ({"header": "X-Request-Id"}, None),
    ({"header": "x-request-id", "exists": True}, None),
    ({"header": "x-absent"}, "check failed: header x-absent"),
    ({"header": "x-absent", "exists": False}, None),
    ({"header": "x-request-id", "exists": False}, "check failed: header x-request-id"),
    ({"header": "content-type", "equals": "application/json"}, None),
    ({"header": "content-type", "equals": "text/plain"}, "check failed: header content-type"),
])
def test_header_checks(check: dict[str, Any], failure: str | None) -> None:
    assert CompiledChecks(checks(check), []).evaluate(response())[0] == failure


def test_first_failure_in_order_wins() -> None:
    compiled = CompiledChecks(checks({"status": 200}, {"jsonPath": "nope"}, {"contains": "zzz"}), [])
    assert compiled.evaluate(response())[0] == "check failed: jsonPath nope"
    assert compiled.evaluate(response(status=404))[0] == "check failed: status"


def test_captures_json_and_headers_with_their_types() -> None:
    compiled = CompiledChecks([], captures({"json": "tokens.accessToken", "as": "token"},
                                           {"json": "data.id", "as": "id"},
                                           {"json": "data.users", "as": "users"},
                                           {"header": "X-Request-Id", "as": "request"}))
    assert compiled.needs_body
    assert compiled.evaluate(response()) == (None, {"token": "jwt-1", "id": 42, "users": [{"name": "ann"}],
                                                    "request": "r-1"})


def test_header_capture_alone_needs_no_body() -> None:
    assert not CompiledChecks([], captures({"header": "x-request-id", "as": "rid"})).needs_body


def test_failed_capture_names_the_variable_and_keeps_the_others() -> None:
    compiled = CompiledChecks([], captures({"json": "nope", "as": "token"}, {"json": "data.id", "as": "id"}))
    assert compiled.evaluate(response()) == ("capture failed: token", {"id": 42})


def test_a_failed_check_comes_before_a_failed_capture() -> None:
    compiled = CompiledChecks(checks({"status": 200}), captures({"json": "nope", "as": "token"}))
    assert compiled.evaluate(response(status=500)) == ("check failed: status", {})


def test_capture_from_a_body_that_is_not_json() -> None:
    compiled = CompiledChecks([], captures({"json": "data.id", "as": "id"}))
    assert compiled.evaluate(response(body=b"not json")) == ("check failed: body is not JSON", {})


def test_no_checks_no_captures() -> None:
    compiled = CompiledChecks([], [])
    assert compiled.empty
    assert not compiled.needs_body
    assert compiled.evaluate(response(status=500)) == (None, {})


@pytest.mark.parametrize("raw_checks, raw_captures, status, body", [
    ([{"jsonPath": "data.id", "exists": True}], [{"json": "tokens.accessToken", "as": "token"}], 200, BODY),
    ([{"jsonPath": "data.id", "exists": True}], [{"json": "nope", "as": "token"}], 200, BODY),
    ([{"jsonPath": "data", "exists": True}], [{"json": "tokens", "as": "tokens"}], 200, BODY),
    ([{"jsonPath": "nope"}], [{"json": "data", "as": "data"}], 200, BODY),
    ([{"jsonPath": "$.data"}], [{"json": "nope", "as": "n"}, {"json": "tokens", "as": "t"}], 200, BODY),
    ([], [{"json": "tokens", "as": "t"}], 200, b"[1]"),
    ([{"jsonPath": "0"}], [{"json": "0", "as": "first"}], 200, [{"a": 1}]),
    ([{"status": 201}, {"contains": "jwt"}], [{"json": "data.id", "as": "id"}], 500, BODY),
    ([{"jsonPath": "data.id", "equals": "${vu}"}], [], 200, BODY),
    ([{"jsonPath": "data.id"}], [{"json": "data.id", "as": "id"}], 200, b"not json"),
    ([{"header": "x-request-id"}], [{"header": "x-request-id", "as": "rid"}], 200, BODY),
])
def test_apply_agrees_with_evaluate_and_stores_captures_in_the_variables(
        raw_checks: list[dict[str, Any]], raw_captures: list[dict[str, Any]], status: int, body: Any) -> None:
    compiled = CompiledChecks(checks(*raw_checks), captures(*raw_captures))
    answer = response(status=status, body=body)
    ctx = RenderContext(vu=42, iteration=0, rng=random.Random(0), variables={"kept": 1})
    failure, captured = compiled.evaluate(answer, ctx)
    assert compiled.apply(answer.status, answer.headers, answer.body, ctx) == failure
    assert ctx.variables == {"kept": 1, **captured}
