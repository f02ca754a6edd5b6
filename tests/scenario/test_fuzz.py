"""Fuzzing the loader: whatever goes in, only a ScenarioError may come out.

Inputs: arbitrary text (as JSON and as YAML), arbitrary JSON-like trees, the examples' data mutated
(keys deleted, renamed, added; values replaced), and the examples' text with characters edited.
A scenario that does load must also plan, and reload from its own ``to_data()``.
"""

from __future__ import annotations

import copy
import json
import os
import traceback
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from streamtestbench.scenario.errors import ScenarioError
from streamtestbench.scenario.examples import examples_for, render_example
from streamtestbench.scenario.loader import load_scenario_text, scenario_from_data
from streamtestbench.scenario.model import Scenario
from streamtestbench.scenario.plan import build_plan

from ._support import base

EXAMPLES_PER_TEST = int(os.environ.get("STB_FUZZ_EXAMPLES", "80"))
"""Raise for a deeper hunt: ``STB_FUZZ_EXAMPLES=5000 pytest tests/scenario/test_fuzz.py``."""
FUZZ = settings(max_examples=EXAMPLES_PER_TEST, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None)

EXAMPLE_DATA = [example.data for example in examples_for("all")]
EXAMPLE_TEXT = [render_example(example, fmt) for example in examples_for("all") for fmt in ("json", "yaml")]

KEYS = ["name", "protocol", "endpoint", "duration_seconds", "connections", "rates", "messagesPerSecond",
        "burstMultiplier", "rampUpSeconds", "phases", "duration", "arrivalRate", "rampTo", "arrivalCount",
        "pause", "executor", "type", "stages", "target", "vus", "rate", "timeUnit", "preAllocatedVUs", "ladder",
        "steps", "sustainSeconds", "cooldownSeconds", "groups", "weight", "flow", "loop", "count", "send",
        "json", "text", "think", "connect", "subscribe", "channel", "topic", "request", "get", "url", "check",
        "status", "failureInjection", "networkDelays", "rangeMs", "start", "endInclusive", "probability",
        "authentication", "credentials", "login", "validation", "mqtt", "qos", "payloads", "variables"]
WORDS = ["WEBSOCKET", "MQTT", "MIXED", "HTTP", "mcp", "VOICE_DATA", "BEARER_TOKEN", "constant-vus",
         "ramping-arrival-rate", "ws://127.0.0.1:8000/ws", "127.0.0.1:1883", "http://127.0.0.1:8000", "1m30s",
         "500ms", "${X}", "${X:-3}", "${clientId}", "$${X}", "", " ", "NaN", "null", "1e309", "-0"]

leaves = (st.none() | st.booleans() | st.integers(min_value=-(10**12), max_value=10**12)
          | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | st.sampled_from(WORDS))
keys = st.sampled_from(KEYS) | st.text(max_size=10)
trees = st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                     | st.dictionaries(keys, children, max_size=5), max_leaves=25)


def _known_bug(error: BaseException) -> bool:
    """Crashes already pinned by model-bug tests, so fuzzing keeps looking for new ones.

    ``_split_path``: a missing variable under a key such as '²' (test_loader).
    """
    frames = traceback.extract_tb(error.__traceback__)
    return isinstance(error, ValueError) and any(frame.name == "_split_path" for frame in frames)


def _check_loaded(scenario: Scenario) -> None:
    build_plan(scenario)
    data = scenario.to_data()
    if "$${" in json.dumps(data) or "${" in json.dumps(data):
        return  # the escape does not survive a round trip: test_interpolate's model-bug test
    again = scenario_from_data(data, "again", None, {})
    assert json.dumps(again.to_data(), sort_keys=True) == json.dumps(data, sort_keys=True)


def _only_scenario_errors(call: Any, *args: Any) -> None:
    try:
        scenario = call(*args)
    except ScenarioError as error:
        assert error.problems
        assert all(problem.message for problem in error.problems)
        str(error)
        return
    except Exception as error:
        if _known_bug(error):
            reject()
        raise
    _check_loaded(scenario)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _only_scenario_errors(load_scenario_text, text, "fuzz.json", {})
    _only_scenario_errors(load_scenario_text, text, "fuzz.yaml", {})


@FUZZ
@given(st.text(alphabet="{}[]:,\"' -\n\t#&*!|>?%@`0123456789.abcenrstuxyz${}", max_size=200))
def test_text_made_of_syntax(text: str) -> None:
    _only_scenario_errors(load_scenario_text, text, "fuzz.yaml", {})
    _only_scenario_errors(load_scenario_text, text, "fuzz.json", {})


@FUZZ
@given(trees)
def test_arbitrary_trees(data: Any) -> None:
    _only_scenario_errors(scenario_from_data, data, "fuzz", None, {})


@FUZZ
@given(st.dictionaries(keys, trees, max_size=6))
def test_trees_merged_into_a_valid_scenario(extra: dict[str, Any]) -> None:
    _only_scenario_errors(scenario_from_data, {**base(), **extra}, "fuzz", None, {})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    data: Any = copy.deepcopy(draw(st.sampled_from(EXAMPLE_DATA)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(data)))
        operation = draw(st.sampled_from(["delete", "replace", "rename", "insert", "wrap", "empty"]))
        if not path:
            if operation in ("delete", "replace"):
                data = draw(trees)
            continue
        parent, last = _parent(data, path), path[-1]
        if operation == "delete":
            del parent[last]
        elif operation == "replace":
            parent[last] = draw(trees)
        elif operation == "wrap":
            parent[last] = [parent[last]] if draw(st.booleans()) else {draw(keys): parent[last]}
        elif operation == "empty":
            parent[last] = type(parent[last])() if isinstance(parent[last], dict | list | str) else None
        elif operation == "rename" and isinstance(parent, dict):
            key = str(last)
            cut = draw(st.integers(min_value=0, max_value=len(key)))
            parent[key[:cut] + draw(st.sampled_from(["", "s", "_", "X"])) + key[cut + 1:]] = parent.pop(last)
        elif operation == "insert" and isinstance(parent, dict):
            parent[draw(keys)] = draw(trees)
        elif operation == "insert" and isinstance(parent, list):
            parent.insert(draw(st.integers(min_value=0, max_value=len(parent))), draw(trees))
    return data


@FUZZ
@given(mutated_examples())
def test_mutated_examples_as_data(data: Any) -> None:
    _only_scenario_errors(scenario_from_data, data, "fuzz", None, {})


@FUZZ
@given(mutated_examples(), st.sampled_from(["json", "yaml"]))
def test_mutated_examples_as_text(data: Any, fmt: str) -> None:
    try:
        text = json.dumps(data, indent=2) if fmt == "json" else yaml.safe_dump(data, sort_keys=False)
    except (ValueError, yaml.YAMLError):
        reject()
    _only_scenario_errors(load_scenario_text, text, f"fuzz.{fmt}", {})


@FUZZ
@given(st.sampled_from(EXAMPLE_TEXT), st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 2),
                                                         st.sampled_from(list('{}[]:,"\n -#0a$'))),
                                               min_size=1, max_size=4))
def test_examples_with_characters_edited(text: str, edits: list[tuple[int, int, str]]) -> None:
    for position, action, char in edits:
        at = position % (len(text) + 1)
        if action == 0:
            text = text[:at] + char + text[at:]
        elif action == 1:
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + char + text[at + 1:]
    _only_scenario_errors(load_scenario_text, text, "fuzz.yaml" if text.startswith("name:") else "fuzz.json", {})


@settings(FUZZ, max_examples=max(10, EXAMPLES_PER_TEST // 5))
@given(st.dictionaries(st.sampled_from(["WS_URL", "AUTH_TOKEN", "CONNECTIONS", "MESSAGES", "BASE_URL",
                                        "MQTT_URL"]), st.text(max_size=20)))
def test_examples_with_arbitrary_environment(env: dict[str, str]) -> None:
    for data in EXAMPLE_DATA:
        _only_scenario_errors(scenario_from_data, data, "fuzz", None, env)


# --- crashes found by fuzzing ------------------------------------------------------------------------


@pytest.mark.parametrize("text, source", [("[" * 100_000, "deep.json"),
                                          ("a: " + "[" * 1_200 + "]" * 1_200, "deep.yaml")])
def test_deep_nesting_is_a_scenario_error(text: str, source: str) -> None:
    """Was a RecursionError from the parser."""
    with pytest.raises(ScenarioError, match="cannot parse: RecursionError"):
        load_scenario_text(text, source, {})


@pytest.mark.parametrize("source", ["big.json", "big.yaml"])
def test_huge_integer_is_a_scenario_error(source: str) -> None:
    """Was a ValueError: Python refuses to convert integers of more than 4300 digits."""
    text = json.dumps(base(connections=1)).replace('"connections": 1', '"connections": ' + "9" * 5000)
    with pytest.raises(ScenarioError, match="4300 digits"):
        load_scenario_text(text, source, {})


def test_model_bug_json_nested_600_deep() -> None:
    text = json.dumps(base())[:-1] + ', "variables": {"a": ' + "[" * 600 + "]" * 600 + "}}"
    with pytest.raises(ScenarioError):
        load_scenario_text(text, "deep.json", {})


def test_model_bug_deeply_nested_data() -> None:
    nested: list[Any] = []
    inner = nested
    for _ in range(3_000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(ScenarioError):
        scenario_from_data(base(variables={"a": nested}), "api", None, {})
