"""Problem and ScenarioError text: file:line: path: message, then the hint."""

from __future__ import annotations

from streamtestbench.scenario.errors import Problem, ScenarioError


def test_problem_text() -> None:
    assert str(Problem("f.json", "rates.x", "bad", 8, "fix it")) == "f.json:8: rates.x: bad\n    hint: fix it"
    assert str(Problem("f.json", "rates.x", "bad")) == "f.json: rates.x: bad"
    assert str(Problem("f.json", "", "file not found")) == "f.json: file not found"
    assert str(Problem("f.json", "", "invalid JSON", 3)) == "f.json:3: invalid JSON"


def test_scenario_error_joins_problems() -> None:
    problems = [Problem("a", "x", "one", 1), Problem("a", "y", "two", 2, "h")]
    error = ScenarioError(problems)
    assert error.problems == problems
    assert str(error) == "a:1: x: one\na:2: y: two\n    hint: h"


def test_problem_is_frozen_and_comparable() -> None:
    assert Problem("a", "b", "c") == Problem("a", "b", "c", None, None)
    assert len({Problem("a", "b", "c"), Problem("a", "b", "c")}) == 1
