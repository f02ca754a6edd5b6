"""The scenario models: spellings, aliases, durations, shorthands and cross-field rules."""

from __future__ import annotations

from typing import Any

import pytest

from streamtestbench.scenario.auth import LoginStep
from streamtestbench.scenario.base import parse_duration
from streamtestbench.scenario.enums import AuthType, ExecutorType, PayloadType, Protocol
from streamtestbench.scenario.flow import (
    ConnectStep,
    DisconnectStep,
    LoopStep,
    RequestStep,
    SendStep,
    SubscribeStep,
    ThinkStep,
    count_sends,
    step_kind,
    think_seconds,
)
from streamtestbench.scenario.load import Executor

from ._support import base, data_problems, load

# --- spellings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, protocol", [
    ("WEBSOCKET", Protocol.WEBSOCKET), ("websocket", Protocol.WEBSOCKET), ("ws", Protocol.WEBSOCKET),
    ("mqtt", Protocol.MQTT), ("Http", Protocol.HTTP), ("graphql", Protocol.GRAPHQL),
    ("MCP", Protocol.JSONRPC), ("json-rpc", Protocol.JSONRPC), ("jsonrpc", Protocol.JSONRPC),
])
def test_protocol_spellings(written: str, protocol: Protocol) -> None:
    endpoint = {"WEBSOCKET": "ws://127.0.0.1/ws", "MQTT": "127.0.0.1:1883"}.get(protocol.value,
                                                                             "http://127.0.0.1:8000/x")
    assert load(base(protocol=written, endpoint=endpoint)).protocol is protocol


def test_lower_case_enums_everywhere() -> None:
    s = load(base(payloads=["voice_data", "Metrics"], authentication={"type": "bearer",
                                                                       "credentials": {"token": "t"}}))
    assert s.payloads == [PayloadType.VOICE_DATA, PayloadType.METRICS]
    assert s.authentication is not None and s.authentication.type is AuthType.BEARER_TOKEN


def test_file_spelling_and_python_spelling_load_the_same() -> None:
    camel = load(base(rates={"messagesPerSecond": 2, "burstMultiplier": 2}, failureInjection={
        "connectionDrops": {"probability": 0.1, "reconnectDelayMs": 5}}))
    snake = load(base(rates={"messages_per_second": 2, "burst_multiplier": 2}, failure_injection={
        "connection_drops": {"probability": 0.1, "reconnect_delay_ms": 5}}))
    assert camel == snake


def test_to_data_writes_the_file_spelling_and_only_what_was_set() -> None:
    s = load(base(rates=None, executor={"type": "constant-arrival-rate", "rate": 5, "duration": "1m",
                                        "preAllocatedVUs": 2, "maxVUs": 4}))
    data = s.to_data()
    assert data["executor"] == {"type": "constant-arrival-rate", "rate": 5.0, "duration": 60.0,
                                "preAllocatedVUs": 2, "maxVUs": 4}
    assert "duration_seconds" in data and "durationSeconds" not in data
    assert "flow" not in data and "description" not in data


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("2.5s", 2.5), (" 1m 30s ", 90.0),
    ("30", 30.0), ("1h1m1s", 3661.0), ("0s", 0.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("value", ["1x", "m", "", "s1", "1m30", "1d", "-5s", "1.s"])
def test_bad_durations_are_passed_on_for_validation(value: str) -> None:
    assert parse_duration(value) == value


def test_numbers_are_not_durations_to_parse() -> None:
    assert parse_duration(5) == 5 and parse_duration(None) is None


def test_duration_fields_accept_k6_strings() -> None:
    s = load(base(duration_seconds="2m", rates={"messagesPerSecond": 1, "rampUpSeconds": "15s",
                                                 "burstIntervalSeconds": "1m", "burstDurationSeconds": "500ms"}))
    assert s.duration_seconds == 120
    assert s.rates is not None
    assert (s.rates.ramp_up_seconds, s.rates.burst_interval_seconds, s.rates.burst_duration_seconds) == (
        15, 60, 0.5)


# --- endpoints --------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol, endpoint", [
    ("WEBSOCKET", "wss://localhost/ws"), ("WEBSOCKET", "localhost:8000/ws/mobile/sync/"),
    ("MQTT", "mqtt://127.0.0.1:1883"), ("MQTT", "tcp://127.0.0.1:1883"), ("MQTT", "mqtts://localhost:8883"),
    ("HTTP", "https://127.0.0.1"), ("GRAPHQL", "ws://127.0.0.1/graphql"), ("JSONRPC", "http://127.0.0.1/mcp"),
])
def test_endpoint_schemes_that_fit(protocol: str, endpoint: str) -> None:
    assert load(base(protocol=protocol, endpoint=endpoint)).endpoint == endpoint


@pytest.mark.parametrize("protocol, endpoint, allowed", [
    ("MQTT", "ws://127.0.0.1/ws", "mqtt:// or mqtts:// or tcp:// or ssl://"),
    ("HTTP", "ws://127.0.0.1/ws", "http:// or https://"),
    ("WEBSOCKET", "mqtt://127.0.0.1", "ws:// or wss://"),
])
def test_endpoint_schemes_that_do_not(protocol: str, endpoint: str, allowed: str) -> None:
    (problem,) = data_problems(base(protocol=protocol, endpoint=endpoint))
    assert problem.message.endswith(f"does not fit {protocol}; use {allowed}")


def test_endpoint_is_trimmed() -> None:
    assert load(base(endpoint="  ws://127.0.0.1/ws ")).endpoint == "ws://127.0.0.1/ws"


def test_mixed_needs_no_endpoint_but_each_group_does() -> None:
    s = load(base(protocol="MIXED", endpoint=None, groups=[
        {"name": "a", "protocol": "MQTT", "endpoint": "127.0.0.1:1883"}]))
    assert s.endpoint is None and s.groups[0].weight == 1.0


# --- load shapes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, shape", [
    ({"rates": None}, "constant"),
    ({}, "rates"),
    ({"phases": [{"duration": 5, "arrivalRate": 1}]}, "phases"),
    ({"executor": {"type": "constant-vus", "vus": 1, "duration": 5}}, "executor"),
    ({"ladder": {"steps": [{"connections": 1, "sustainSeconds": 5}]}}, "ladder"),
])
def test_load_shape(changes: dict[str, Any], shape: str) -> None:
    assert load(base(**changes)).load_shape == shape


def test_shaped_scenarios_need_no_duration_or_connections() -> None:
    s = load(base(duration_seconds=None, connections=None, rates=None,
                  phases=[{"duration": 5, "arrivalCount": 3}]))
    assert s.duration_seconds is None and s.connections is None


@pytest.mark.parametrize("executor, needs", [
    ({"type": "constant-vus"}, "vus, duration"),
    ({"type": "ramping-vus"}, "stages"),
    ({"type": "constant-arrival-rate"}, "rate, duration, preAllocatedVUs"),
    ({"type": "ramping-arrival-rate"}, "stages, preAllocatedVUs"),
])
def test_each_executor_names_what_it_needs(executor: dict[str, Any], needs: str) -> None:
    (problem,) = data_problems(base(rates=None, executor=executor))
    assert problem.message == f"executor type {executor['type']} needs {needs}"


def test_executor_total_seconds() -> None:
    assert Executor(type=ExecutorType.CONSTANT_VUS, vus=1, duration=30).total_seconds == 30
    ramping = Executor.model_validate({"type": "ramping-vus", "stages": [{"duration": "10s", "target": 1},
                                                                         {"duration": "1m", "target": 0}]})
    assert ramping.total_seconds == 70


def test_pause_phase() -> None:
    s = load(base(rates=None, phases=[{"duration": 5, "pause": True}, {"duration": 5, "arrivalRate": 1}]))
    assert s.phases[0].pause and s.phases[0].arrival_rate is None


# --- flow steps and shorthands ----------------------------------------------------------------------


def test_step_shorthands() -> None:
    s = load(base(flow=[
        {"connect": "/ws"}, {"connect": None}, {"send": "hello"}, {"subscribe": "agents"},
        {"unsubscribe": "agents"}, {"think": 2}, {"think": "1m"}, {"disconnect": True}, {"disconnect": None},
        {"get": {"url": "/a"}}, {"delete": {"url": "/b"}},
    ]))
    connect, bare, send, sub, _unsub, think, think_text, disc, disc_none, get, delete = s.flow
    assert isinstance(connect, ConnectStep) and connect.connect.url == "/ws"
    assert isinstance(bare, ConnectStep) and bare.connect.url is None
    assert isinstance(send, SendStep) and send.send.text == "hello"
    assert isinstance(sub, SubscribeStep) and sub.subscribe.channel == "agents"
    assert isinstance(think, ThinkStep) and think.think.seconds == 2
    assert isinstance(think_text, ThinkStep) and think_text.think.seconds == 60
    assert isinstance(disc, DisconnectStep) and disc.disconnect.code == 1000
    assert isinstance(disc_none, DisconnectStep)
    assert isinstance(get, RequestStep) and (get.request.method, get.request.url) == ("GET", "/a")
    assert isinstance(delete, RequestStep) and delete.request.method == "DELETE"
    assert [step_kind(step) for step in s.flow] == ["connect", "connect", "send", "subscribe", "unsubscribe",
                                                    "think", "think", "disconnect", "disconnect", "request",
                                                    "request"]


def test_shorthands_inside_loops() -> None:
    s = load(base(flow=[{"loop": {"count": 2, "steps": [{"post": {"url": "/x", "json": {"a": 1}}},
                                                        {"loop": {"count": 3, "steps": [{"send": "x"}]}}]}}]))
    (outer,) = s.flow
    assert isinstance(outer, LoopStep)
    inner_request, inner_loop = outer.loop.steps
    assert isinstance(inner_request, RequestStep) and inner_request.request.json_body == {"a": 1}
    assert isinstance(inner_loop, LoopStep)


def test_request_method_is_upper_cased() -> None:
    s = load(base(flow=[{"request": {"method": "patch", "url": "/x"}}]))
    assert isinstance(s.flow[0], RequestStep) and s.flow[0].request.method == "PATCH"


def test_count_sends_and_think_seconds() -> None:
    s = load(base(flow=[
        {"connect": {}}, {"subscribe": "a"},
        {"loop": {"count": 4, "steps": [{"send": "x"}, {"think": {"min": 1, "max": 2}},
                                        {"loop": {"count": 2, "steps": [{"request": {"url": "/"}},
                                                                        {"think": 0.5}]}}]}},
        {"publish": {"topic": "t", "text": "x", "count": 7}}, {"graphql": {"query": "{ a }"}},
        {"rpc": {"method": "m"}}, {"mcp": {"tool": "echo"}}, {"expect": {"contains": "x"}},
        {"unsubscribe": "a"}, {"disconnect": True},
    ]))
    # subscribe 1 + 4 x (1 + 2 x 1) + publish 7 + graphql + rpc + mcp + unsubscribe
    assert count_sends(s.flow) == 1 + 12 + 7 + 1 + 1 + 1 + 1
    assert think_seconds(s.flow) == 4 * (1.5 + 2 * 0.5)


def test_step_kind_of_raw_values() -> None:
    assert step_kind({"send": "x"}) == "send"
    assert step_kind({"send": "x", "think": 1}) is None
    assert step_kind({"nope": 1}) is None
    assert step_kind("send") is None


# --- authentication, MQTT, injection ---------------------------------------------------------------


@pytest.mark.parametrize("auth", [
    {"type": "BEARER_TOKEN", "credentials": {"token": "t"}},
    {"type": "BASIC_AUTH", "credentials": {"username": "u", "password": "p"}},
    {"type": "API_KEY", "credentials": {"key": "k"}},
    {"type": "API_KEY", "credentials": {"key": "k", "in": "query", "name": "api_key"}},
    {"type": "JWT", "credentials": {"secret": "s"}},
    {"type": "NONE"},
    {"type": "BEARER_TOKEN", "login": {"url": "/auth/login"}},
    {"login": {"url": "/auth/login"}},
])
def test_authentication_kinds(auth: dict[str, Any]) -> None:
    assert load(base(authentication=auth)).authentication is not None


def test_login_defaults_follow_seed_004() -> None:
    login = LoginStep(url="/auth/login")
    assert (login.method, login.token_path, login.relogin_on_401) == ("POST", "tokens.accessToken", True)
    s = load(base(authentication={"type": "BEARER_TOKEN", "login": {"url": "/l", "reloginOn401": False}}))
    assert s.authentication is not None and s.authentication.login is not None
    assert s.authentication.login.relogin_on_401 is False


def test_mqtt_options() -> None:
    s = load(base(protocol="MQTT", endpoint="127.0.0.1:1883", mqtt={"qos": 2, "version": "5", "retain": True}))
    assert s.mqtt is not None and (s.mqtt.qos, s.mqtt.version, s.mqtt.retain) == (2, "5", True)
    assert (s.mqtt.clean_session, s.mqtt.keepalive_seconds, s.mqtt.max_inflight) == (True, 60, 16)


def test_failure_injection_defaults() -> None:
    s = load(base(failureInjection={"duplicateMessages": {"probability": 0.5},
                                    "schemaDrift": {"probability": 0.1, "mutations": [
                                        {"type": "RENAME_FIELD", "fieldPath": "a.b", "newName": "c"},
                                        {"type": "remove_field", "fieldPath": "x"}]}}))
    fi = s.failure_injection
    assert fi is not None and fi.enabled
    assert fi.duplicate_messages is not None and fi.duplicate_messages.max_duplicates == 1
    assert fi.schema_drift is not None and len(fi.schema_drift.mutations) == 2


def test_validation_block() -> None:
    s = load(base(validation={"maxErrorRate": 0.01, "thresholds": ["p99 < 250"], "abortOnFail": True,
                              "abortDelay": "10s"}))
    assert s.validation is not None
    assert (s.validation.abort_on_fail, s.validation.abort_delay) == (True, 10)


def test_variables_and_seed_are_kept() -> None:
    s = load(base(variables={"n": 3, "list": [1, 2]}, seed=42))
    assert (s.variables, s.seed) == ({"n": 3, "list": [1, 2]}, 42)
