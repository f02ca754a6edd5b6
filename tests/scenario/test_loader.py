"""The loader: every malformed scenario becomes a ScenarioError naming file, line, path and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamtestbench.scenario.errors import Problem, ScenarioError
from streamtestbench.scenario.loader import format_path, load_scenario, load_scenario_text, scenario_from_data

from ._support import as_json, base, data_problems, line_of, problems_of
from .malformed import ANY, CASES, Case


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_malformed_scenario_reports_the_precise_problem(case: Case) -> None:
    problems = problems_of(case.text, case.source, dict(case.env))
    assert len(problems) == case.count, "\n".join(map(str, problems))
    problem = problems[0]
    assert problem.source == case.source
    if case.path != ANY:
        assert problem.path == case.path
    if case.exact:
        assert problem.message == case.message
    else:
        assert problem.message.startswith(case.message)
    expected_line = case.expected_line()
    if expected_line != ANY:
        assert problem.line == expected_line
    assert problem.hint == case.hint


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_error_text_reads_file_line_path_message_hint(case: Case) -> None:
    problems = problems_of(case.text, case.source, dict(case.env))
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(case.text, case.source, dict(case.env))
    assert str(caught.value) == "\n".join(str(problem) for problem in problems)
    first = str(problems[0])
    where = case.source if problems[0].line is None else f"{case.source}:{problems[0].line}"
    assert first.startswith(f"{where}:")
    if problems[0].hint:
        assert first.endswith(f"\n    hint: {problems[0].hint}")


def test_seed_example_error_reads_as_documented() -> None:
    """The brief's own example: a misspelt rates key at line 8 of file.json."""
    text = Path(__file__).parent.joinpath("fixtures/seed000/mobile_sync_test.json").read_text()
    text = text.replace('"messagesPerSecond"', '"messagesPerSeconds"')
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "file.json", {})
    assert str(caught.value).startswith("file.json:8: rates.messagesPerSeconds: unknown field 'messagesPerSeconds'")
    assert str(caught.value).endswith("\n    hint: did you mean 'messagesPerSecond'?")


def test_misspelt_field_is_not_also_reported_missing() -> None:
    problems = problems_of(as_json(base(rates={"messagesPerSeconds": 10.0})))
    assert [p.path for p in problems] == ["rates.messagesPerSeconds"]


def test_several_problems_are_all_reported_in_file_order() -> None:
    text = as_json(base(connections=0, rates={"messagesPerSecond": 0, "burstMultiplier": 0.5},
                        payloads=["VOICE_DAT"]))
    problems = problems_of(text)
    assert [p.path for p in problems] == ["connections", "rates.messagesPerSecond", "rates.burstMultiplier",
                                          "payloads[0]"]
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)


def test_same_problem_twice_is_reported_once() -> None:
    problems = data_problems(base(groups=[{"name": "a", "protocol": "MIXED"}], protocol="MIXED",
                                  endpoint=None, rates=None))
    assert len(problems) == len({str(p) for p in problems})


def test_data_without_source_map_has_no_line() -> None:
    problems = data_problems(base(connections=0))
    assert problems == [Problem("<data>", "connections", "input should be greater than or equal to 1, got 0")]


def test_non_mapping_data_is_rejected_with_its_kind() -> None:
    for value, kind in ((None, "null"), (3, "a number"), (2.5, "a number"), (True, "true/false"),
                        ([], "a list"), ("x", "text")):
        problems = data_problems(value)
        assert problems[0].message == f"a scenario is a mapping of fields, got {kind}"


def test_format_path() -> None:
    assert format_path(()) == ""
    assert format_path(("rates", "messagesPerSecond")) == "rates.messagesPerSecond"
    assert format_path(("flow", 0, "loop", "steps", 2)) == "flow[0].loop.steps[2]"


def test_yaml_and_json_report_the_same_paths() -> None:
    data = base(rates={"messagesPerSecond": -1}, flow=[{"sned": 1}])
    import yaml

    from_json = problems_of(as_json(data), "s.json")
    from_yaml = problems_of(yaml.safe_dump(data, sort_keys=False), "s.yaml")
    assert [(p.path, p.message, p.hint) for p in from_json] == [(p.path, p.message, p.hint) for p in from_yaml]


def test_yaml_lines_follow_the_yaml_text() -> None:
    text = "name: T\nprotocol: WEBSOCKET\nendpoint: ws://127.0.0.1:8000/ws\nduration_seconds: 60\n" \
           "connections: 0\n"
    problem = problems_of(text, "s.yml")[0]
    assert (problem.source, problem.line, problem.path) == ("s.yml", 5, "connections")


def test_json_text_in_a_yaml_file_loads() -> None:
    scenario = load_scenario_text(json.dumps(base()), "s.yaml", {})
    assert scenario.connections == 10


def test_yaml_text_in_a_json_file_is_invalid_json() -> None:
    problem = problems_of("name: T\n", "s.json")[0]
    assert problem.message == "invalid JSON: Expecting value (column 1)"


def test_yaml_yes_no_on_off_stay_text() -> None:
    text = "name: on\nprotocol: WEBSOCKET\nendpoint: ws://127.0.0.1:8000/ws\nduration_seconds: 5\n" \
           "connections: 1\ndescription: yes\n"
    scenario = load_scenario_text(text, "s.yaml", {})
    assert (scenario.name, scenario.description) == ("on", "yes")


# --- files ---------------------------------------------------------------------------------------


def test_load_scenario_reads_json_and_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(as_json(base()))
    (tmp_path / "a.yaml").write_text("name: T\nprotocol: websocket\nendpoint: ws://127.0.0.1:8000/ws\n"
                                     "duration_seconds: 1m\nconnections: 3\n")
    assert load_scenario(tmp_path / "a.json").connections == 10
    assert load_scenario(str(tmp_path / "a.yaml")).duration_seconds == 60.0


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert (problem.source, problem.message) == (str(path), "file not found")
    assert problem.hint is not None and "streamtestbench generate --type all" in problem.hint


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path)
    assert caught.value.problems[0].message == "is a directory, not a scenario file"


def test_binary_file_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.problems[0].message == "is not UTF-8 text"


def test_error_in_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    text = as_json(base(rates={"messagesPerSeconds": 10.0}))
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, env={})
    problem = caught.value.problems[0]
    assert (problem.source, problem.line) == (str(path), line_of(text, "messagesPerSeconds"))


def test_load_scenario_text_defaults_source_name() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text("[]", env={})
    assert caught.value.problems[0].source == "<scenario>"


def test_scenario_from_data_accepts_file_spelling_and_python_spelling() -> None:
    camel = scenario_from_data(base(rates={"messagesPerSecond": 2, "rampUpSeconds": 5}), env={})
    snake = scenario_from_data(base(rates={"messages_per_second": 2, "ramp_up_seconds": 5}), env={})
    assert camel == snake


# --- regressions: bugs found by these tests and fixed in the model ------------------------------


@pytest.mark.parametrize("auth, message", [
    ({"type": "BEARER_TOKEN", "credentials": {}}, "BEARER_TOKEN needs credentials.token"),
    ({"type": "BASIC_AUTH", "credentials": {"username": "u"}}, "BASIC_AUTH needs credentials.password"),
    ({"type": "API_KEY", "credentials": {"key": "k", "in": "body"}},
     "API_KEY credentials.in must be 'header' or 'query'"),
    ({"type": "JWT"}, "JWT needs credentials.secret"),
])
def test_message_starting_with_a_name_keeps_its_capitals(auth: dict[str, object], message: str) -> None:
    """Was 'bEARER_TOKEN needs ...': the first letter of every message was lower-cased."""
    problem = problems_of(as_json(base(authentication=auth)))[0]
    assert (problem.path, problem.message) == ("authentication", message)


def test_rename_mutation_message_keeps_its_capitals() -> None:
    text = as_json(base(failureInjection={"schemaDrift": {"probability": 0.1, "mutations": [
        {"type": "RENAME_FIELD", "fieldPath": "x"}]}}))
    assert problems_of(text)[0].message == "RENAME_FIELD needs newName (the field's new name)"


@pytest.mark.parametrize("key", ["[", "a[0]", "function-plain", "[]", "function-after[x]"])
def test_unknown_key_with_brackets_is_named(key: str) -> None:
    """Was an IndexError: keys containing '[' or starting with 'function-' were dropped from the path."""
    text = as_json({**base(), key: 1})
    (problem,) = problems_of(text)
    assert (problem.path, problem.line) == (key, line_of(text, json.dumps(key)))
    assert problem.message.startswith(f"unknown field '{key}'; allowed: ")


def test_nested_unknown_key_with_brackets_is_named() -> None:
    problems = problems_of(as_json(base(rates={"messagesPerSecond": 1, "a[0]": 1})))
    assert [(p.path, p.message.split(";")[0]) for p in problems] == [("rates.a[0]", "unknown field 'a[0]'")]


@pytest.mark.parametrize("field, value", [("connections", True), ("duration_seconds", False), ("seed", True)])
def test_boolean_is_not_a_number(field: str, value: bool) -> None:
    """Was accepted in lax mode: "connections": true loaded as 1 connection."""
    (problem,) = data_problems(base(**{field: value}))
    assert (problem.path, problem.message) == (field, f"expected a number, got {str(value).lower()}")


def test_misspelt_top_level_required_key_is_reported_once() -> None:
    data = base(name=None)
    data["nme"] = "T"
    problems = problems_of(as_json(data))
    assert [(p.path, p.hint) for p in problems] == [("nme", "did you mean 'name'?")]


# --- model bugs: the expected behaviour, failing today (see the report) -------------------------


def test_model_bug_yaml_duplicate_key_is_rejected() -> None:
    text = "name: T\nprotocol: WEBSOCKET\nendpoint: ws://127.0.0.1:8000/ws\nduration_seconds: 60\n" \
           "connections: 10\nconnections: 20\n"
    problem = problems_of(text, "s.yaml")[0]
    assert (problem.path, problem.line, problem.message) == (
        "connections", 6, "key 'connections' appears twice in one object")


@pytest.mark.parametrize("changes, path, needle", [
    ({"endpoint": "http://127.0.0.1:8000/ws"}, "endpoint", '"endpoint"'),
    ({"rates": {"messagesPerSecond": 1, "rampUpSeconds": 40, "rampDownSeconds": 30}}, "rates", '"rates"'),
    ({"groups": [{"name": "a", "protocol": "MQTT", "endpoint": "127.0.0.1:1883"}]}, "groups", '"groups"'),
])
def test_model_bug_cross_field_errors_point_at_the_field(changes: dict[str, object], path: str,
                                                         needle: str) -> None:
    text = as_json(base(**changes))
    problem = problems_of(text)[0]
    assert (problem.path, problem.line) == (path, line_of(text, needle))


def test_model_bug_error_inside_http_shorthand_points_at_its_line() -> None:
    text = as_json(base(flow=[{"get": {"url": "/x", "check": [{}]}}]))
    problem = problems_of(text)[0]
    assert problem.line == line_of(text, '"check"') + 1


def test_model_bug_boolean_qos_is_rejected() -> None:
    (problem,) = data_problems(base(protocol="MQTT", endpoint="127.0.0.1:1883", mqtt={"qos": True}))
    assert problem.path == "mqtt.qos"


def test_model_bug_missing_variable_under_a_superscript_key() -> None:
    (problem,) = data_problems({**base(), "\u00b2": "${NOT_SET}"})
    assert problem.message == "environment variable NOT_SET is not set"


def test_model_bug_missing_variable_under_a_numeric_key() -> None:
    text = as_json(base(variables={"12": "${NOT_SET}"}))
    (problem,) = problems_of(text)
    assert (problem.path, problem.line) == ("variables.12", line_of(text, '"12"'))
