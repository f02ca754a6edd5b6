"""The generated examples: they cover the seeds, aim at loopback, validate and give a plan."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from streamtestbench.scenario.enums import ExecutorType, Protocol
from streamtestbench.scenario.examples import (
    EXAMPLE_KINDS,
    EXAMPLES,
    KEY_ORDER,
    Example,
    examples_for,
    ordered,
    render_example,
    write_examples,
)
from streamtestbench.scenario.flow import LoopStep
from streamtestbench.scenario.loader import load_scenario
from streamtestbench.scenario.model import Scenario
from streamtestbench.scenario.plan import build_plan

from ._support import load

ALL = examples_for("all")
KINDS = ["websocket", "mqtt", "http", "graphql", "mcp", "mixed"]

SEED_SCALE = {
    "mobile_sync_stress.json", "basic_structure.json", "mqtt_graphql_load.json",  # seed 000 as written
    "websocket_medium.json", "websocket_stress.json", "websocket_progressive.json", "fanout_nats.json",  # seed 001
    "artillery_staging.json", "agents_communication_flow.json",  # seed 003
    "http_basic_load.json",  # seed 004: "100 req/s for 2 minutes"
}
"""Examples whose size the seeds fix; every other one is a short local run."""


def example(file_name: str) -> Example:
    (found,) = [e for e in ALL if e.file_name == file_name]
    return found


def scenario(file_name: str, env: dict[str, str] | None = None) -> Scenario:
    return load(example(file_name).data, env)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def steps_of(s: Scenario) -> list[Any]:
    return [step.model_dump(by_alias=True, exclude_unset=True, mode="json") for step in s.flow]


# --- the catalogue --------------------------------------------------------------------------------


def test_kinds() -> None:
    assert list(EXAMPLES) == KINDS
    assert (*KINDS, "all") == EXAMPLE_KINDS
    assert all(EXAMPLES[kind] for kind in KINDS)


def test_example_is_a_frozen_dataclass() -> None:
    first = ALL[0]
    assert [f.name for f in dataclasses.fields(Example)] == ["file_name", "data"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.file_name = "x.json"  # type: ignore[misc]


def test_file_names_and_scenario_names_are_unique() -> None:
    names = [e.file_name for e in ALL]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9_]+\.json", name) for name in names)
    assert len({e.name for e in ALL}) == len(ALL)


def test_examples_for() -> None:
    assert examples_for("MQTT") == EXAMPLES["mqtt"]
    assert examples_for(" all ") == ALL
    assert len(ALL) == sum(len(group) for group in EXAMPLES.values())
    with pytest.raises(ValueError, match="unknown example type 'ftp'; choose one of websocket, mqtt"):
        examples_for("ftp")


@pytest.mark.parametrize("kind", KINDS)
def test_examples_of_a_kind_use_its_protocol(kind: str) -> None:
    expected = {"websocket": Protocol.WEBSOCKET, "mqtt": Protocol.MQTT, "http": Protocol.HTTP,
                "graphql": Protocol.GRAPHQL, "mcp": Protocol.JSONRPC, "mixed": Protocol.MIXED}[kind]
    assert {load(e.data).protocol for e in EXAMPLES[kind]} == {expected}


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.file_name)
def test_example_validates_and_plans(ex: Example) -> None:
    s = load(ex.data)
    plan = build_plan(s)
    assert plan.stages and plan.total_seconds > 0
    assert s.name == ex.name


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.file_name)
def test_example_aims_at_loopback_only(ex: Example) -> None:
    s = load(ex.data)
    endpoints = [g.endpoint for g in s.groups] if s.protocol is Protocol.MIXED else [s.endpoint]
    assert endpoints and all(endpoints)
    urls = [text for text in strings(s.to_data()) if "://" in text]
    for url in [e for e in endpoints if e] + urls:
        host = urlsplit(url if "://" in url else f"tcp://{url}").hostname
        assert host in ("127.0.0.1", "localhost", "::1"), url


@pytest.mark.parametrize("ex", [e for e in ALL if e.file_name not in SEED_SCALE], ids=lambda e: e.file_name)
def test_local_examples_are_short(ex: Example) -> None:
    plan = build_plan(load(ex.data))
    assert plan.total_seconds <= 120
    assert plan.peak_connections <= 200


def test_env_overrides_the_endpoint(clean_env: pytest.MonkeyPatch) -> None:
    assert scenario("websocket_quick.json").endpoint == "ws://127.0.0.1:8000/ws"
    assert scenario("websocket_quick.json", {"WS_URL": "ws://[::1]:9000/ws"}).endpoint == "ws://[::1]:9000/ws"


def captured_names(data: object) -> set[str]:
    """Variables an example's own capture steps set (``{"capture": [{"as": NAME}]}``)."""
    if isinstance(data, dict):
        names = {str(c["as"]) for c in data.get("capture", []) if isinstance(c, dict) and "as" in c}
        return names.union(*(captured_names(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(captured_names(item) for item in data))
    return set()


def test_every_env_reference_has_a_default() -> None:
    for ex in ALL:
        run_time = {"vu", "clientId", "iteration", "worker"} | captured_names(ex.data)
        for text in strings(ex.data):
            for name, default in re.findall(r"\$\{([A-Za-z_]\w*)(:-[^}]*)?\}", text):
                assert default or name in run_time, (ex.file_name, text)


# --- seed 000 -------------------------------------------------------------------------------------


def test_basic_structure_has_every_block_filled() -> None:
    s = scenario("basic_structure.json")
    assert s.failure_injection and s.authentication and s.validation
    fi = s.failure_injection
    assert fi.network_delays and fi.duplicate_messages and fi.schema_drift and fi.connection_drops


def test_seed000_quick_start_file_name() -> None:
    """The seed's Quick Start runs scenarios/mobile_sync_stress.json after 'generate --type all'."""
    assert example("mobile_sync_stress.json").name == "Mobile Sync Test"


# --- seed 001 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name, connections, ramp, sustain, every", [
    ("websocket_quick.json", 100, 10, 30, 5),
    ("websocket_medium.json", 1000, 30, 120, 10),
    ("websocket_stress.json", 5000, 60, 300, 15),
])
def test_seed001_tests(file_name: str, connections: int, ramp: int, sustain: int, every: int) -> None:
    s = scenario(file_name)
    assert s.rates is not None
    assert (s.connections, s.rates.ramp_up_seconds, s.duration_seconds) == (connections, ramp, ramp + sustain)
    assert s.rates.messages_per_second == pytest.approx(1 / every)
    assert example(file_name).data["endpoint"] == "${WS_URL:-ws://127.0.0.1:8000/ws}"
    assert example(file_name).data["authentication"]["credentials"]["token"].startswith("${AUTH_TOKEN:-")


def test_seed001_progressive_ladder() -> None:
    s = scenario("websocket_progressive.json")
    assert s.ladder is not None and s.ladder.cooldown_seconds > 0
    assert [(st.connections, st.ramp_up_seconds, st.sustain_seconds, st.message_interval_seconds)
            for st in s.ladder.steps] == [(100, 10, 30, 5), (1000, 30, 120, 10), (5000, 60, 300, 15)]


# --- seed 003 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name, connections, messages", [
    ("agents_quick.json", 100, 10), ("agents_medium.json", 500, 20), ("agents_heavy.json", 1000, 50)])
def test_seed003_stress_tests_read_connections_and_messages(file_name: str, connections: int,
                                                           messages: int) -> None:
    data = example(file_name).data
    assert data["phases"][0]["arrivalCount"] == f"${{CONNECTIONS:-{connections}}}"
    assert data["flow"][1]["loop"]["count"] == f"${{MESSAGES:-{messages}}}"
    s = scenario(file_name)
    assert s.phases[0].arrival_count == connections
    assert isinstance(s.flow[1], LoopStep) and s.flow[1].loop.count == messages
    custom = scenario(file_name, {"CONNECTIONS": "250", "MESSAGES": "30"})
    assert custom.phases[0].arrival_count == 250


def test_seed003_communication_flow() -> None:
    steps = steps_of(scenario("agents_communication_flow.json"))
    assert steps[0] == {"connect": {}}
    assert steps[1] == {"subscribe": {"channel": "agents"}}
    assert steps[2] == {"subscribe": {"channel": "metrics"}}
    loop = steps[3]["loop"]
    assert loop["count"] == 20
    ping, think5, agent, think3 = loop["steps"]
    assert ping["send"]["json"] == {"type": "ping"}
    assert ping["send"]["expect"]["match"] == {"type": "pong"}
    assert think5 == {"think": {"seconds": 5}}
    assert agent["send"]["json"]["type"] == "agent_message"
    assert agent["send"]["expect"]["match"] == {"type": "agent_response"}
    assert think3 == {"think": {"seconds": 3}}
    assert steps[4] == {"unsubscribe": {"channel": "agents"}}
    assert steps[5]["send"]["json"] == {"type": "disconnect"}
    assert steps[5]["send"]["expect"]["match"] == {"type": "disconnect_ack"}
    assert steps[6] == {"disconnect": {}}


def test_seed003_artillery_quick_is_short_and_local() -> None:
    s = scenario("artillery_quick.json")
    ((phase),) = s.phases
    assert (phase.duration, phase.arrival_rate, phase.ramp_to) == (10, 5, 20)
    assert build_plan(s).workloads[0].think_seconds <= 10
    assert [next(iter(step)) for step in steps_of(s)] == [next(iter(step)) for step in
                                                     steps_of(scenario("agents_communication_flow.json"))]


def test_seed003_artillery_staging_is_the_seed() -> None:
    s = scenario("artillery_staging.json")
    assert [(p.name, p.duration, p.arrival_rate, p.ramp_to) for p in s.phases] == [
        ("Warm-up", 60, 10, 100), ("Ramp-up", 300, 100, 1000), ("Sustained load", 1800, 1000, None),
        ("Peak load", 300, 1000, 2000), ("Ramp-down", 180, 2000, 100)]
    assert steps_of(s) == steps_of(scenario("agents_communication_flow.json"))


# --- seed 004 -------------------------------------------------------------------------------------


def test_seed004_basic_load() -> None:
    s = scenario("http_basic_load.json")
    assert s.executor is not None and s.executor.type is ExecutorType.CONSTANT_ARRIVAL_RATE
    assert (s.executor.rate, s.executor.time_unit, s.executor.duration) == (100, 1, 120)
    assert s.authentication is not None and s.authentication.login is not None
    assert s.authentication.login.url == "/auth/login"
    assert s.authentication.login.token_path == "tokens.accessToken"
    assert s.authentication.login.json_body == {"username": "loadtest", "password": "loadtestpassword"}


def test_seed004_rest_crud() -> None:
    requests = [step["request"] for step in steps_of(scenario("rest_crud.json"))]
    assert {r["method"] for r in requests} == {"GET", "POST", "PUT", "PATCH", "DELETE"}
    collections = {re.sub(r"/(\$\{\w+\}|\{\{.*\}\})$", "", r["url"].split("?")[0]) for r in requests}
    assert collections == {"/api/v1/users", "/api/v1/posts"}
    assert {c["as"] for r in requests for c in r.get("capture", [])} == {"userId", "postId"}


def test_seed004_graphql_query_and_mutation() -> None:
    s = scenario("graphql_query_mutation.json")
    assert s.endpoint is not None and s.endpoint.endswith("/graphql")
    queries = [step["graphql"]["query"] for step in steps_of(s)]
    assert [q.split()[0] for q in queries] == ["query", "mutation"]


def test_seed004_websocket_connect_subscribe_publish() -> None:
    s = scenario("websocket_subscribe_publish.json")
    assert s.endpoint is not None and s.endpoint.endswith("/ws")
    kinds = [next(iter(step)) for step in steps_of(s)]
    assert kinds[:3] == ["connect", "send", "subscribe"]
    assert "broadcast" in json.dumps(steps_of(s))
    assert s.executor is not None and s.executor.vus == 100


def test_seed004_mcp_tools() -> None:
    s = scenario("mcp_tools.json")
    assert s.endpoint is not None and s.endpoint.endswith("/mcp")
    assert [step["mcp"]["tool"] for step in steps_of(s) if "mcp" in step] == ["echo", "get_time", "get_user_info"]


# --- MQTT, MIXED, k6 --------------------------------------------------------------------------------


def test_mqtt_qos1() -> None:
    s = scenario("mqtt_qos1.json")
    assert s.mqtt is not None and s.mqtt.qos == 1
    assert "${clientId}" in s.mqtt.topic


def test_mixed_groups_and_weights() -> None:
    s = scenario("mixed_protocols.json")
    assert [(g.name, g.protocol, g.weight) for g in s.groups] == [
        ("websocket", Protocol.WEBSOCKET, 3), ("mqtt", Protocol.MQTT, 1), ("http", Protocol.HTTP, 1)]


@pytest.mark.parametrize("file_name, kind", [("k6_ramping_vus.json", ExecutorType.RAMPING_VUS),
                                             ("k6_ramping_arrival_rate.json", ExecutorType.RAMPING_ARRIVAL_RATE),
                                             ("mqtt_pubsub_flow.json", ExecutorType.CONSTANT_VUS),
                                             ("http_basic_load.json", ExecutorType.CONSTANT_ARRIVAL_RATE)])
def test_every_executor_type_has_an_example(file_name: str, kind: ExecutorType) -> None:
    s = scenario(file_name)
    assert s.executor is not None and s.executor.type is kind


def test_every_load_shape_and_step_kind_is_shown() -> None:
    shapes = {load(e.data).load_shape for e in ALL}
    assert shapes == {"rates", "constant", "phases", "executor", "ladder"}
    text = json.dumps([e.data for e in ALL])
    for key in ("connect", "send", "expect", "subscribe", "unsubscribe", "loop", "think", "disconnect",
                "get", "post", "put", "patch", "delete", "graphql", "rpc", "mcp", "publish"):
        assert f'"{key}"' in text, key


# --- rendering and writing -----------------------------------------------------------------------------


def test_ordered_puts_the_readable_keys_first() -> None:
    data = {"x": 1, "connections": 2, "endpoint": "e", "name": "n", "a": 3}
    assert list(ordered(data)) == ["name", "endpoint", "connections", "x", "a"]
    assert KEY_ORDER[:4] == ("name", "description", "protocol", "endpoint")


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.file_name)
def test_rendered_json_is_pretty_and_ordered(ex: Example) -> None:
    text = render_example(ex, "json")
    assert text.endswith("}\n")
    assert json.loads(text) == ex.data
    assert text.splitlines()[1].startswith('  "name": ')
    assert all((len(line) - len(line.lstrip(" "))) % 2 == 0 for line in text.splitlines())
    keys = list(json.loads(text))
    head = [key for key in ("name", "description", "protocol", "endpoint") if key in keys]
    assert keys[:len(head)] == head


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.file_name)
def test_rendered_yaml_is_the_same_data(ex: Example) -> None:
    text = render_example(ex, "yaml")
    assert yaml.safe_load(text) == ex.data
    assert text.startswith("name: ")
    assert "&id" not in text and "*id" not in text


def test_render_rejects_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'toml'"):
        render_example(ALL[0], "toml")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_write_all_examples_and_load_them_back(fmt: str, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    target = tmp_path / "nested" / "scenarios"
    written = write_examples("all", target, fmt)
    assert [p.name for p in written] == [e.file_name.replace(".json", f".{fmt}") for e in ALL]
    assert sorted(target.iterdir()) == sorted(written)
    for path, ex in zip(written, ALL, strict=True):
        s = load_scenario(path)
        assert s == load(ex.data)
        assert build_plan(s).stages


def test_write_one_kind_and_overwrite(tmp_path: Path) -> None:
    first = write_examples("graphql", tmp_path)
    (first[0]).write_text("garbage")
    again = write_examples("graphql", tmp_path)
    assert first == again == [tmp_path / "graphql_query_mutation.json"]
    assert json.loads(again[0].read_text()) == EXAMPLES["graphql"][0].data


def test_write_rejects_unknown_kind_and_format_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        write_examples("all", tmp_path / "a", "xml")
    with pytest.raises(ValueError, match="unknown example type"):
        write_examples("smtp", tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_writing_does_not_change_the_examples(tmp_path: Path) -> None:
    before = copy.deepcopy([e.data for e in ALL])
    write_examples("all", tmp_path, "yaml")
    write_examples("all", tmp_path, "json")
    for ex in ALL:
        load(ex.data, {"CONNECTIONS": "7"})
    assert [e.data for e in ALL] == before
