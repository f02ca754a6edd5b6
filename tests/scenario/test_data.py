from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from streamtestbench.scenario.data import DataSpec, read_columns, resolve_data_file, scan_data_files
from streamtestbench.scenario.errors import ScenarioError
from streamtestbench.scenario.loader import load_scenario, scenario_from_data

from ._support import base

FIXTURES = Path(__file__).parent.parent / "templating" / "fixtures"


def http(**changes: Any) -> dict[str, Any]:
    return base(**{"protocol": "HTTP", "endpoint": "http://127.0.0.1:8000", "rates": None,
                   "flow": [{"get": {"url": "/users/${username}"}}], **changes})


def test_defaults_and_spelling() -> None:
    spec = DataSpec.model_validate({"file": "users.csv"})
    assert (spec.order, spec.delimiter, spec.fields) == ("sequence", ",", None)
    assert DataSpec.model_validate({"file": "u.csv", "order": "random", "delimiter": ";",
                                    "fields": ["a", "b"]}).fields == ["a", "b"]


@pytest.mark.parametrize("raw, fragment", [
    ({"file": ""}, "at least 1 character"),
    ({"file": "u.csv", "order": "shuffled"}, "'sequence' or 'random'"),
    ({"file": "u.csv", "delimiter": ";;"}, "at most 1 character"),
    ({"file": "u.csv", "delimiter": '"'}, "cannot be a quote"),
    ({"file": "u.csv", "fields": ["a", "a"]}, "repeated: a"),
    ({"file": "u.csv", "fields": ["a", " "]}, "cannot be blank"),
    ({"file": "u.csv", "fields": []}, "at least 1 item"),
    ({"file": "u.csv", "rows": 3}, "rows"),
])
def test_invalid_specs(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        DataSpec.model_validate(raw)


def test_relative_files_resolve_against_the_base_folder(tmp_path: Path) -> None:
    assert resolve_data_file("users.csv", tmp_path) == tmp_path / "users.csv"
    assert resolve_data_file(str(tmp_path / "x.csv"), "/elsewhere") == tmp_path / "x.csv"
    assert resolve_data_file("u.csv", None) == Path.cwd() / "u.csv"


def test_loader_resolves_the_file_next_to_the_scenario_and_keeps_field_references(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "users.csv", tmp_path / "users.csv")
    shutil.copy(FIXTURES / "http_users.yaml", tmp_path / "scenario.yaml")
    scenario = load_scenario(tmp_path / "scenario.yaml", env={})
    assert scenario.data is not None
    assert scenario.data.file == str(tmp_path / "users.csv")
    login = scenario.flow[0].request  # type: ignore[union-attr]
    assert login.json_body["username"] == "${username}"
    assert scenario.flow[1].request.url == "/api/v1/users/${vu}?role=${role}"  # type: ignore[union-attr]


def test_loader_reports_a_missing_file_at_data_file(tmp_path: Path) -> None:
    text = (FIXTURES / "http_users.yaml").read_text()
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(tmp_path / "s.yaml", env={})
    (problem,) = error.value.problems
    assert problem.path == "data.file"
    assert problem.line == 8
    assert str(tmp_path / "users.csv") in problem.message and "file not found" in problem.message
    assert problem.hint is not None and str(tmp_path) in problem.hint


@pytest.mark.parametrize("content, fragment", [
    ("", "the file is empty"),
    ("username,role\n", "header row but no data rows"),
    ("username,role\n\n\n", "header row but no data rows"),
    (",role\nann,admin\n", "blank column name"),
    ("a,a\n1,2\n", "repeats a"),
    ('a,b\n"unclosed,2\n', "malformed CSV"),
])
def test_loader_reports_unusable_files(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "users.csv").write_text(content)
    with pytest.raises(ScenarioError) as error:
        scenario_from_data(http(data={"file": "users.csv"}), "s.json", base_dir=tmp_path)
    assert error.value.problems[0].path == "data.file"
    assert fragment in str(error.value)


def test_loader_reports_a_folder_and_bad_encoding(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "latin.csv").write_bytes(b"name\n\xe9t\xe9\n")
    with pytest.raises(ScenarioError, match="is a directory"):
        scenario_from_data(http(data={"file": "folder"}), "s.json", base_dir=tmp_path)
    with pytest.raises(ScenarioError, match="not UTF-8"):
        scenario_from_data(http(data={"file": "latin.csv"}), "s.json", base_dir=tmp_path)


def test_group_data_files_are_checked_with_their_own_path(tmp_path: Path) -> None:
    (tmp_path / "ok.csv").write_text("username\nann\n")
    group = {"name": "api", "protocol": "HTTP", "endpoint": "http://127.0.0.1:8000",
             "flow": [{"get": {"url": "/u/${username}"}}], "data": {"file": "missing.csv"}}
    data = base(protocol="MIXED", endpoint=None, rates=None, groups=[group], data={"file": "ok.csv"})
    with pytest.raises(ScenarioError) as error:
        scenario_from_data(data, "s.json", base_dir=tmp_path)
    assert [problem.path for problem in error.value.problems] == ["groups[0].data.file"]


def test_fields_without_a_header_need_only_one_row(tmp_path: Path) -> None:
    (tmp_path / "plain.csv").write_text("ann;admin\n")
    spec = DataSpec.model_validate({"file": "plain.csv", "delimiter": ";", "fields": ["username", "role"]})
    assert read_columns(spec, tmp_path) == ("username", "role")


def test_field_names_are_kept_for_run_time_even_when_an_environment_variable_shares_the_name(
        tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("username\nann\n")
    scenario = scenario_from_data(http(data={"file": "users.csv"}), "s.json", env={"username": "root"},
                                  base_dir=tmp_path)
    assert scenario.flow[0].request.url == "/users/${username}"  # type: ignore[union-attr]


def test_an_undeclared_reference_still_needs_the_environment(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("username\nann\n")
    data = http(data={"file": "users.csv"}, flow=[{"get": {"url": "/u/${usrname}"}}])
    with pytest.raises(ScenarioError, match="environment variable usrname is not set"):
        scenario_from_data(data, "s.json", env={}, base_dir=tmp_path)


def test_the_file_name_may_come_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("username\nann\n")
    data = http(data={"file": "${DATA_FILE}"})
    scenario = scenario_from_data(data, "s.json", env={"DATA_FILE": "people.csv"}, base_dir=tmp_path)
    assert scenario.data is not None and scenario.data.file == str(tmp_path / "people.csv")


def test_scan_gives_columns_and_unusable_files(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("b,c\n1,2\n")
    data = {"data": {"file": "nope.csv"},
            "groups": [{"data": {"fields": ["a"], "file": "h.csv"}}, "junk", {"data": {"file": "h.csv"}},
                       {"data": {"file": "${UNSET}"}}, {"data": {"file": "h.csv", "order": "bad"}}]}
    names, unusable = scan_data_files(data, {}, tmp_path)
    assert names == frozenset({"a", "b", "c"})
    assert [(loc, "file not found" in str(error)) for loc, error in unusable] == [(("data", "file"), True)]


def test_a_missing_file_and_another_mistake_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as error:
        scenario_from_data(http(data={"file": "nope.csv"}, connections=0, flow=[{"get": {"url": "/"}}]), "s.json",
                           base_dir=tmp_path)
    assert sorted(problem.path for problem in error.value.problems) == ["connections", "data.file"]
