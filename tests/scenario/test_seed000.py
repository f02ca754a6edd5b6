"""Seed 000's JSON blocks, kept verbatim in fixtures/seed000/, load as the specification shows them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamtestbench.scenario.enums import AuthType, MutationType, PayloadType, Protocol
from streamtestbench.scenario.examples import BASIC_STRUCTURE, MOBILE_SYNC_TEST, MQTT_GRAPHQL_LOAD
from streamtestbench.scenario.loader import load_scenario, load_scenario_text
from streamtestbench.scenario.model import Scenario
from streamtestbench.scenario.plan import build_plan

from ._support import SEED000, SEED000_TEXT, problems_of

VERBATIM = {
    "basic_structure.verbatim.txt": 0,
    "failure_injection.fragment.txt": 1,
    "authentication.fragment.txt": 2,
    "mobile_sync_test.json": 3,
    "mqtt_graphql_load.json": 4,
    "results_format.verbatim.txt": 5,
}
"""Each fixture and the index of the ```json block of seed 000 it copies."""

LOADABLE = ["mobile_sync_test.json", "mqtt_graphql_load.json", "basic_structure.filled.json"]

FRAME = """{
  "name": "Fragment host",
  "protocol": "WEBSOCKET",
  "endpoint": "localhost:8000/ws/mobile/sync/",
  "duration_seconds": 300,
  "connections": 50,
  "rates": {"messagesPerSecond": 10.0},
%s
}
"""


def _read(name: str) -> str:
    return (SEED000 / name).read_text(encoding="utf-8")


def _wrap(fragment: str) -> str:
    """A seed fragment (``"key": {...}``) inside a complete scenario, its own text untouched."""
    return FRAME % fragment.rstrip("\n")


def _round_trip(scenario: Scenario) -> Scenario:
    """model -> YAML text -> model."""
    text = yaml.safe_dump(scenario.to_data(), sort_keys=False)
    return load_scenario_text(text, "round-trip.yaml", {})


def test_every_seed_json_block_has_a_fixture() -> None:
    assert sorted(path.name for path in SEED000.iterdir()) == sorted([*VERBATIM, "basic_structure.filled.json"])


@pytest.mark.skipif(not SEED000_TEXT.exists(), reason="the seed text is not on this machine")
@pytest.mark.parametrize("name", list(VERBATIM))
def test_fixture_is_the_seed_block_verbatim(name: str) -> None:
    blocks = re.findall(r"```json\n(.*?)```", SEED000_TEXT.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == len(VERBATIM)
    assert _read(name) == blocks[VERBATIM[name]]


@pytest.mark.parametrize("name", LOADABLE)
def test_seed_scenario_loads_unchanged(name: str) -> None:
    scenario = load_scenario(SEED000 / name, env={})
    assert build_plan(scenario).stages


def test_mobile_sync_test_means_what_the_seed_says() -> None:
    scenario = load_scenario(SEED000 / "mobile_sync_test.json", env={})
    assert scenario.name == "Mobile Sync Test"
    assert scenario.protocol is Protocol.WEBSOCKET
    assert scenario.endpoint == "localhost:8000/ws/mobile/sync/"
    assert (scenario.duration_seconds, scenario.connections) == (300, 50)
    assert scenario.rates is not None
    assert (scenario.rates.messages_per_second, scenario.rates.burst_multiplier) == (15.0, 2.5)
    assert scenario.payloads == [PayloadType.VOICE_DATA, PayloadType.BEHAVIORAL_DATA, PayloadType.SESSION_DATA]
    assert scenario.load_shape == "rates"


def test_mqtt_graphql_load_means_what_the_seed_says() -> None:
    scenario = load_scenario(SEED000 / "mqtt_graphql_load.json", env={})
    assert scenario.protocol is Protocol.MQTT
    assert scenario.endpoint == "localhost:1883"
    assert (scenario.duration_seconds, scenario.connections) == (180, 20)
    assert scenario.rates is not None and scenario.rates.messages_per_second == 8.0
    assert scenario.payloads == [PayloadType.BEHAVIORAL_DATA, PayloadType.METRICS]


def test_basic_structure_verbatim_is_not_json_and_says_where() -> None:
    """The seed writes ``{ ... }`` placeholders: the loader points at the first one."""
    text = _read("basic_structure.verbatim.txt")
    (problem,) = problems_of(text, "basic_structure.json")
    assert problem.line == 15 == text.splitlines().index('  "failureInjection": { ... },') + 1
    assert problem.message == "invalid JSON: Expecting property name enclosed in double quotes (column 25)"


def test_basic_structure_without_its_placeholders_loads() -> None:
    lines = [line for line in _read("basic_structure.verbatim.txt").splitlines() if "{ ... }" not in line]
    text = "\n".join(lines).replace('"METRICS"],\n}', '"METRICS"]\n}')
    scenario = load_scenario_text(text, "basic.json", {})
    assert scenario.failure_injection is None and scenario.authentication is None
    assert scenario.rates is not None
    assert (scenario.rates.ramp_up_seconds, scenario.rates.ramp_down_seconds) == (30, 30)


def test_basic_structure_filled_is_the_verbatim_text_with_the_seed_blocks_in() -> None:
    filled = _read("basic_structure.filled.json")
    verbatim = _read("basic_structure.verbatim.txt")
    keep = [line for line in verbatim.splitlines() if "{ ... }" not in line and line != "}"]
    assert all(line in filled.splitlines() for line in keep)
    for fragment in ("failure_injection.fragment.txt", "authentication.fragment.txt"):
        indented = "\n".join("  " + line for line in _read(fragment).rstrip("\n").splitlines())
        assert indented in filled


def test_basic_structure_filled_loads_every_block() -> None:
    scenario = load_scenario(SEED000 / "basic_structure.filled.json", env={})
    injection = scenario.failure_injection
    assert injection is not None and injection.enabled
    assert injection.network_delays is not None
    assert (injection.network_delays.range_ms.start, injection.network_delays.range_ms.end_inclusive) == (50, 500)
    assert injection.network_delays.probability == 0.05
    assert injection.duplicate_messages is not None and injection.duplicate_messages.max_duplicates == 3
    assert injection.schema_drift is not None
    (mutation,) = injection.schema_drift.mutations
    assert (mutation.type, mutation.field_path, mutation.new_value) == (MutationType.ADD_FIELD, "extra_field",
                                                                        "test_value")
    assert injection.connection_drops is not None and injection.connection_drops.reconnect_delay_ms == 1000
    assert scenario.authentication is not None
    assert scenario.authentication.type is AuthType.BEARER_TOKEN
    assert scenario.authentication.credentials == {"token": "your_bearer_token"}
    assert scenario.validation is not None and scenario.validation.max_error_rate == 0.01


def test_basic_structure_filled_is_the_basic_structure_example() -> None:
    assert json.loads(_read("basic_structure.filled.json")) == BASIC_STRUCTURE


def test_verbatim_examples_are_the_generated_examples() -> None:
    assert json.loads(_read("mobile_sync_test.json")) == MOBILE_SYNC_TEST
    assert json.loads(_read("mqtt_graphql_load.json")) == MQTT_GRAPHQL_LOAD


@pytest.mark.parametrize("name", ["failure_injection.fragment.txt", "authentication.fragment.txt"])
def test_fragment_loads_inside_a_scenario(name: str) -> None:
    scenario = load_scenario_text(_wrap(_read(name)), name, {})
    assert build_plan(scenario).stages


def test_failure_injection_fragment_values() -> None:
    scenario = load_scenario_text(_wrap(_read("failure_injection.fragment.txt")), "fi.json", {})
    injection = scenario.failure_injection
    assert injection is not None and injection.network_delays is not None
    assert injection.network_delays.enabled
    assert injection.schema_drift is not None and injection.schema_drift.probability == 0.001


def test_authentication_fragment_values() -> None:
    scenario = load_scenario_text(_wrap(_read("authentication.fragment.txt")), "auth.json", {})
    assert scenario.authentication is not None
    assert scenario.authentication.type is AuthType.BEARER_TOKEN
    assert scenario.authentication.credentials["token"] == "your_bearer_token"


def test_fragments_together_with_the_basic_structure_lines() -> None:
    body = ",\n".join(_read(name).rstrip("\n") for name in ("failure_injection.fragment.txt",
                                                             "authentication.fragment.txt"))
    scenario = load_scenario_text(_wrap(body), "both.json", {})
    assert scenario.failure_injection is not None and scenario.authentication is not None


def test_results_format_is_not_a_scenario() -> None:
    """Seed 000's results JSON is output, not input: the loader says so instead of crashing."""
    (problem,) = problems_of(_read("results_format.verbatim.txt"), "results.json")
    assert problem.line == 14 and problem.message.startswith("invalid JSON")
    filled = _read("results_format.verbatim.txt").replace("{ ... }", "{}").replace("[ ... ]", "[]")
    problems = problems_of(filled, "results.json")
    assert problems[0].path == "name" and problems[0].message == "required field is missing"
    assert {p.path for p in problems[1:]} >= {"scenarioName", "totalMessages", "errorRate"}


def _seed_scenarios() -> list[tuple[str, str]]:
    texts = [(name, _read(name)) for name in LOADABLE]
    texts += [(name, _wrap(_read(name))) for name in ("failure_injection.fragment.txt",
                                                       "authentication.fragment.txt")]
    return texts


@pytest.mark.parametrize("name, text", _seed_scenarios(), ids=[n for n, _ in _seed_scenarios()])
def test_round_trip_json_model_yaml_model(name: str, text: str) -> None:
    first = load_scenario_text(text, name, {})
    second = _round_trip(first)
    assert second == first
    assert second.to_data() == first.to_data()
    assert build_plan(second) == build_plan(first)


@pytest.mark.parametrize("name", LOADABLE)
def test_round_trip_keeps_the_seed_spelling(name: str) -> None:
    """to_data() writes the file's keys (camelCase, duration_seconds) and only what was set."""
    original: dict[str, Any] = json.loads(_read(name))
    data = load_scenario(SEED000 / name, env={}).to_data()
    assert set(data) == set(original)
    assert data["rates"].keys() == original["rates"].keys()
    assert data["payloads"] == original["payloads"]
    yaml_text = yaml.safe_dump(data, sort_keys=False)
    assert "duration_seconds: 300" in yaml_text or "duration_seconds: 180" in yaml_text


def test_round_trip_through_json_text(tmp_path: Path) -> None:
    first = load_scenario(SEED000 / "basic_structure.filled.json", env={})
    path = tmp_path / "again.json"
    path.write_text(json.dumps(first.to_data(), indent=2))
    assert load_scenario(path, env={}) == first
