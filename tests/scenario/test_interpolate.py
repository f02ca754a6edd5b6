"""``${VAR}``, ``${VAR:-default}``, the ``$${`` escape and names the engine fills at run time."""

from __future__ import annotations

import pytest
import yaml

from streamtestbench.scenario.interpolate import RUNTIME_NAMES, MissingVariable, interpolate
from streamtestbench.scenario.loader import load_scenario_text

from ._support import as_json, base, data_problems, line_of, load, problems_of


@pytest.mark.parametrize("text, env, expected", [
    ("${WS_URL}", {"WS_URL": "ws://127.0.0.1:9/ws"}, "ws://127.0.0.1:9/ws"),
    ("${WS_URL:-ws://127.0.0.1:8000/ws}", {}, "ws://127.0.0.1:8000/ws"),
    ("${WS_URL:-ws://127.0.0.1:8000/ws}", {"WS_URL": "ws://localhost:1/x"}, "ws://localhost:1/x"),
    ("Bearer ${AUTH_TOKEN:-dev}", {}, "Bearer dev"),
    ("${A}-${B:-2}-${A}", {"A": "1"}, "1-2-1"),
    ("${EMPTY_DEFAULT:-}", {}, ""),
    ("${X:-a:-b}", {}, "a:-b"),
    ("$${HOME}", {"HOME": "/root"}, "${HOME}"),
    ("cost: $${PRICE} or ${PRICE}", {"PRICE": "5"}, "cost: ${PRICE} or 5"),
    ("$HOME $ {X} ${1X} ${X", {"X": "v"}, "$HOME $ {X} ${1X} ${X"),
    ("${X}", {"X": "${Y}"}, "${Y}"),
    ("no references", {}, "no references"),
])
def test_substitution(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


@pytest.mark.parametrize("name", sorted(RUNTIME_NAMES))
def test_runtime_names_are_kept_for_the_engine(name: str) -> None:
    reference = f"${{{name}}}"
    assert interpolate(f"stb-{reference}", {}) == f"stb-{reference}"
    assert interpolate(reference, {name: "from-env"}) == reference


def test_runtime_names_survive_loading() -> None:
    scenario = load(base(protocol="MQTT", endpoint="mqtt://127.0.0.1:1883",
                         mqtt={"topic": "t/${clientId}", "clientId": "c-${vu}-${worker}"},
                         flow=[{"send": {"text": "${iteration}"}}]))
    assert scenario.mqtt is not None
    assert (scenario.mqtt.topic, scenario.mqtt.client_id) == ("t/${clientId}", "c-${vu}-${worker}")


def test_defaults_of_mqtt_options_use_runtime_names() -> None:
    scenario = load(base(protocol="MQTT", endpoint="127.0.0.1:1883", mqtt={}))
    assert scenario.mqtt is not None
    assert scenario.mqtt.topic == "streamtestbench/${clientId}"
    assert scenario.mqtt.client_id == "stb-${vu}"


def test_interpolation_walks_nested_values_not_keys() -> None:
    data = {"${K}": ["${A}", {"b": "${A:-x}"}, 3, None, True]}
    assert interpolate(data, {"A": "1", "K": "k"}) == {"${K}": ["1", {"b": "1"}, 3, None, True]}


def test_missing_variable_names_variable_and_path() -> None:
    with pytest.raises(MissingVariable) as caught:
        interpolate({"groups": [{"endpoint": "${MQTT_URL}"}]}, {})
    assert (caught.value.name, caught.value.path) == ("MQTT_URL", ("groups", 0, "endpoint"))
    assert str(caught.value) == "environment variable MQTT_URL is not set"


def test_missing_variable_in_a_file_names_line_path_and_fix() -> None:
    text = as_json(base(authentication={"type": "BEARER_TOKEN", "credentials": {"token": "${AUTH_TOKEN}"}}))
    (problem,) = problems_of(text)
    assert problem.path == "authentication.credentials.token"
    assert problem.line == line_of(text, '"token"')
    assert problem.message == "environment variable AUTH_TOKEN is not set"
    assert problem.hint == "export AUTH_TOKEN=... or write ${AUTH_TOKEN:-default}"


def test_missing_variable_in_yaml_is_located() -> None:
    text = "name: T\nprotocol: WEBSOCKET\nendpoint: ${WS_URL}\nduration_seconds: 5\nconnections: 1\n"
    (problem,) = problems_of(text, "s.yaml")
    assert (problem.path, problem.line) == ("endpoint", 3)


def test_env_values_fill_numbers_and_durations() -> None:
    data = base(connections="${CONNECTIONS:-100}", duration_seconds="${DURATION:-2m}")
    assert (load(data).connections, load(data).duration_seconds) == (100, 120.0)
    scenario = load(data, env={"CONNECTIONS": "250", "DURATION": "90s"})
    assert (scenario.connections, scenario.duration_seconds) == (250, 90.0)


def test_env_value_that_is_not_a_number_is_reported_at_the_field() -> None:
    (problem,) = data_problems(base(connections="${CONNECTIONS}"), env={"CONNECTIONS": "lots"})
    assert problem.path == "connections"
    assert problem.message.endswith('got "lots"')


def test_env_value_cannot_break_the_file_syntax() -> None:
    """Substitution happens on parsed values, so quotes and braces in a value stay text."""
    scenario = load(base(description="${EVIL}"), env={"EVIL": '", "connections": 0, "x": "{'})
    assert scenario.description == '", "connections": 0, "x": "{'
    assert scenario.connections == 10


def test_escape_survives_yaml() -> None:
    text = "name: 'price $${PRICE}'\nprotocol: WEBSOCKET\nendpoint: ws://127.0.0.1/ws\n" \
           "duration_seconds: 5\nconnections: 1\n"
    assert load_scenario_text(text, "s.yaml", {"PRICE": "9"}).name == "price ${PRICE}"


def test_default_applies_when_variable_is_empty() -> None:
    """As in POSIX shells and docker compose: ':-' replaces an unset or empty value (was: kept empty)."""
    assert interpolate("${AUTH_TOKEN:-dev}", {"AUTH_TOKEN": ""}) == "dev"
    assert interpolate("${AUTH_TOKEN:-dev}", {"AUTH_TOKEN": " "}) == " "


def test_empty_variable_without_default_is_empty() -> None:
    assert interpolate("[${AUTH_TOKEN}]", {"AUTH_TOKEN": ""}) == "[]"


def test_missing_variable_path_uses_the_common_format() -> None:
    """Was 'flow.0.loop.steps.0.send.text'; every other problem writes list indexes in brackets."""
    text = as_json(base(flow=[{"loop": {"count": 2, "steps": [{"send": {"text": "${NOPE}"}}]}}]))
    (problem,) = problems_of(text)
    assert problem.path == "flow[0].loop.steps[0].send.text"
    assert problem.line == line_of(text, '"text"')


# --- model bugs ------------------------------------------------------------------------------------


def test_model_bug_captured_variable_can_be_referenced() -> None:
    scenario = load(base(protocol="HTTP", endpoint="http://127.0.0.1:8000", rates=None, flow=[
        {"post": {"url": "/api/v1/posts", "capture": [{"json": "id", "as": "postId"}]}},
        {"delete": {"url": "/api/v1/posts/${postId}"}},
    ]))
    assert scenario.flow


def test_model_bug_escaped_reference_survives_a_round_trip() -> None:
    first = load(base(description="literal $${HOME}"))
    again = load(yaml.safe_load(yaml.safe_dump(first.to_data())), env={"HOME": "/root"})
    assert again.description == "literal ${HOME}"
