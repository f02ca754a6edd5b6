"""The fixture scenario end to end without sockets: load, feed rows, render requests, check responses."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from streamtestbench.flows.checks import CompiledChecks
from streamtestbench.protocols.http_types import HttpResponse
from streamtestbench.scenario.flow import RequestStep
from streamtestbench.scenario.loader import load_scenario
from streamtestbench.templating import CsvFeeder, RenderContext, compile_json_body, compile_text

FIXTURES = Path(__file__).parent / "fixtures"


def test_rows_templates_captures_and_checks_work_together() -> None:
    scenario = load_scenario(FIXTURES / "http_users.yaml", env={})
    assert scenario.data is not None
    feeder = CsvFeeder.load(scenario.data, FIXTURES, stride=scenario.connections or 1)
    login, profile = (step.request for step in scenario.flow if isinstance(step, RequestStep))
    login_body = compile_json_body(login.json_body)
    login_checks = CompiledChecks(login.check, login.capture)
    profile_url = compile_text(profile.url)
    authorization = compile_text(profile.headers["Authorization"])
    profile_checks = CompiledChecks(profile.check, profile.capture)
    assert not profile_checks.needs_body

    sent = []
    for vu in range(3):
        ctx = RenderContext(vu=vu, iteration=1, rng=random.Random(vu))
        ctx.variables.update(feeder.row(vu, ctx.iteration, ctx.rng))
        body = orjson.loads(login_body.render_bytes(ctx))
        reply = HttpResponse(200, {"content-type": "application/json"},
                             orjson.dumps({"tokens": {"accessToken": f"jwt-{body['username']}"}}))
        failure, captured = login_checks.evaluate(reply, ctx)
        assert failure is None
        ctx.variables.update(captured)
        sent.append((body["username"], body["password"], body["attempt"], profile_url.render(ctx),
                     authorization.render(ctx)))
        assert isinstance(body["attempt"], int) and 1 <= body["attempt"] <= 3
        assert profile_checks.evaluate(HttpResponse(404, {"content-type": "text/plain"}, b""), ctx)[0] is None
        assert not ctx.missing

    assert [(name, password, url, auth) for name, password, _, url, auth in sent] == [
        ("ann", "secret-1", "/api/v1/users/0?role=admin", "Bearer jwt-ann"),
        ("bob", "pass,with,commas", "/api/v1/users/1?role=user", "Bearer jwt-bob"),
        ("cid", "secret-3", "/api/v1/users/2?role=user", "Bearer jwt-cid"),
    ]


def test_a_failed_login_is_reported_by_kind() -> None:
    scenario = load_scenario(FIXTURES / "http_users.yaml", env={})
    login = scenario.flow[0].request  # type: ignore[union-attr]
    checks = CompiledChecks(login.check, login.capture)
    failure, captured = checks.evaluate(HttpResponse(401, {}, b'{"error": "bad credentials"}'))
    assert (failure, captured) == ("check failed: status", {})
    failure, _ = checks.evaluate(HttpResponse(200, {}, b'{"tokens": {}}'))
    assert failure == "check failed: jsonPath tokens.accessToken"
