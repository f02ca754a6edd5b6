from __future__ import annotations

import copy
from typing import Any

import pytest

from streamtestbench.faults.schema_drift import (
    MISSING,
    PathError,
    apply_mutation,
    changed_type,
    get_path,
    parse_path,
)
from streamtestbench.scenario.enums import MutationType as M

MESSAGE: dict[str, Any] = {"type": "behavioral_data", "user_id": "u1",
                           "events": [{"x": 1, "y": 2}, {"x": 3, "y": 4}], "gps": {"lat": 1.5, "lon": 2.5}}


@pytest.mark.parametrize(("text", "parts"), [
    ("user_id", ("user_id",)),
    ("gps.lat", ("gps", "lat")),
    ("events[1].x", ("events", 1, "x")),
    ("$.events[0]", ("events", 0)),
    ("matrix[0][2]", ("matrix", 0, 2)),
])
def test_paths_are_dotted_with_list_indexes(text: str, parts: tuple[Any, ...]) -> None:
    assert parse_path(text) == parts


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a[x]", "a[1"])
def test_unreadable_paths_are_refused(text: str) -> None:
    with pytest.raises(PathError):
        parse_path(text)


@pytest.mark.parametrize(("kind", "path", "extra", "expected"), [
    (M.ADD_FIELD, "extra_field", {"new_value": "test_value"}, ("extra_field", "test_value")),
    (M.ADD_FIELD, "meta.source.app", {"new_value": 7}, ("meta", {"source": {"app": 7}})),
    (M.REMOVE_FIELD, "gps.lat", {}, ("gps", {"lon": 2.5})),
    (M.RENAME_FIELD, "user_id", {"new_name": "userId"}, ("userId", "u1")),
    (M.CHANGE_TYPE, "events[1].x", {}, ("events", [{"x": 1, "y": 2}, {"x": "3", "y": 4}])),
    (M.CHANGE_TYPE, "gps", {"new_value": "1.5,2.5"}, ("gps", "1.5,2.5")),
    (M.NULL_FIELD, "events[0]", {}, ("events", [None, {"x": 3, "y": 4}])),
])
def test_each_mutation_changes_only_its_path(kind: M, path: str, extra: dict[str, Any],
                                             expected: tuple[str, Any]) -> None:
    before = copy.deepcopy(MESSAGE)
    result = apply_mutation(MESSAGE, kind, parse_path(path), **extra)
    key, value = expected
    assert result[key] == value
    untouched = {k: v for k, v in MESSAGE.items() if k not in (key, path)}
    assert all(result[k] == v for k, v in untouched.items())
    assert before == MESSAGE  # pure: the input is never changed


def test_rename_keeps_the_field_in_place() -> None:
    result = apply_mutation(MESSAGE, M.RENAME_FIELD, parse_path("user_id"), new_name="uid")
    assert list(result) == ["type", "uid", "events", "gps"]


def test_unchanged_branches_are_shared_not_copied() -> None:
    result = apply_mutation(MESSAGE, M.NULL_FIELD, parse_path("gps.lat"))
    assert result["events"] is MESSAGE["events"]
    assert result["gps"] is not MESSAGE["gps"]


@pytest.mark.parametrize(("kind", "path"), [
    (M.REMOVE_FIELD, "nope"), (M.RENAME_FIELD, "gps.alt"), (M.NULL_FIELD, "events[5]"),
    (M.CHANGE_TYPE, "user_id.deeper"), (M.ADD_FIELD, "events.x"),
])
def test_a_path_that_is_not_there_is_reported_as_missing(kind: M, path: str) -> None:
    assert apply_mutation(MESSAGE, kind, parse_path(path), new_name="n") is MISSING


def test_get_path_reads_through_objects_and_lists() -> None:
    assert get_path(MESSAGE, parse_path("events[1].y")) == 4
    assert get_path(MESSAGE, parse_path("events[2].y")) is MISSING


@pytest.mark.parametrize(("value", "changed"), [
    (3, "3"), (2.5, "2.5"), ("42", 42), ("4.5", 4.5), ("abc", ["abc"]), (True, "true"), (None, ""),
    ({"a": 1}, [1]), ([7, 8], {"0": 7, "1": 8}),
])
def test_change_type_keeps_the_information_in_another_type(value: Any, changed: Any) -> None:
    result = changed_type(value)
    assert result == changed and type(result) is not type(value)


def test_an_unreadable_field_path_is_refused_when_the_scenario_loads() -> None:
    from streamtestbench.scenario.injection import SchemaDrift

    with pytest.raises(ValueError, match="field path"):
        SchemaDrift.model_validate({"probability": 0.1, "mutations": [{"type": "NULL_FIELD", "fieldPath": "a..b"}]})
