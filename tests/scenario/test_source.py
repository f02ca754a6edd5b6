"""Parsing scenario text and locating field paths in it."""

from __future__ import annotations

import pytest

from streamtestbench.scenario.errors import ScenarioError
from streamtestbench.scenario.source import SourceMap, build_source_map, looks_like_json, parse_text

YAML = """\
name: T
rates:
  messagesPerSecond: 1
flow:
  - connect: {}
  - loop:
      count: 2
      steps:
        - think: 1
"""

JSON = """{
  "name": "T",
  "rates": {"messagesPerSecond": 1},
  "flow": [
    {"connect": {}},
    {
      "loop": {"count": 2, "steps": [{"think": 1}]}
    }
  ]
}
"""


@pytest.mark.parametrize("name, text, expected", [
    ("a.json", "name: x", True),
    ("a.yaml", "{}", False),
    ("a.yml", "{}", False),
    ("a.txt", "  {\n}", True),
    ("<stdin>", "[1]", True),
    ("<stdin>", "name: x", False),
    ("scenario", "", False),
])
def test_looks_like_json(name: str, text: str, expected: bool) -> None:
    assert looks_like_json(name, text) is expected


def test_yaml_source_map() -> None:
    lines = build_source_map(YAML)
    assert lines.line_of(("name",)) == 1
    assert lines.line_of(("rates", "messagesPerSecond")) == 3
    assert lines.line_of(("flow", 0)) == 5
    assert lines.line_of(("flow", 1, "loop", "count")) == 7
    assert lines.line_of(("flow", 1, "loop", "steps", 0, "think")) == 9


def test_json_source_map() -> None:
    lines = build_source_map(JSON)
    assert lines.line_of(()) == 1
    assert lines.line_of(("rates", "messagesPerSecond")) == 3
    assert lines.line_of(("flow", 0, "connect")) == 5
    assert lines.line_of(("flow", 1)) == 6
    assert lines.line_of(("flow", 1, "loop", "steps", 0)) == 7


def test_unknown_path_falls_back_to_nearest_ancestor() -> None:
    lines = build_source_map(YAML)
    assert lines.line_of(("rates", "nope", 3)) == 2
    assert lines.line_of(("nope",)) == 1
    assert SourceMap().line_of(("a",)) is None


def test_source_map_of_broken_text_is_empty() -> None:
    assert build_source_map("a: [\n").lines == {}
    assert build_source_map("").lines == {}


def test_tabs_do_not_stop_json_locations() -> None:
    text = '{\n\t"name": "T",\n\t"connections": 3\n}'
    assert build_source_map(text).line_of(("connections",)) == 3


def test_parse_text_json_and_yaml() -> None:
    assert parse_text(JSON, "a.json")["rates"] == {"messagesPerSecond": 1}
    assert parse_text(YAML, "a.yaml")["flow"][1]["loop"]["count"] == 2


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"])
def test_yaml_11_booleans_stay_text(word: str) -> None:
    assert parse_text(f"a: {word}\n", "a.yaml") == {"a": word}


@pytest.mark.parametrize("word, value", [("true", True), ("True", True), ("FALSE", False), ("false", False)])
def test_yaml_true_false_are_booleans(word: str, value: bool) -> None:
    assert parse_text(f"a: {word}\n", "a.yaml") == {"a": value}


def test_parse_errors_are_located() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_text('{\n  "a": 1,\n  "b": \n}', "a.json")
    assert caught.value.problems[0].line == 4
    with pytest.raises(ScenarioError) as caught:
        parse_text("a: 1\n b: 2\n", "a.yaml")
    assert caught.value.problems[0].line == 2
    assert caught.value.problems[0].message.startswith("invalid YAML: ")


def test_json_constants_python_accepts() -> None:
    """json.loads takes NaN and Infinity; the model's bounds then reject them."""
    assert parse_text('{"a": Infinity}', "a.json") == {"a": float("inf")}
