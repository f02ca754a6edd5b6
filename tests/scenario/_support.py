"""Helpers shared by the scenario tests: a valid base scenario, located errors, fixtures on disk."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from streamtestbench.scenario.errors import Problem, ScenarioError
from streamtestbench.scenario.loader import load_scenario_text, scenario_from_data
from streamtestbench.scenario.model import Scenario

FIXTURES = Path(__file__).parent / "fixtures"
SEED000 = FIXTURES / "seed000"
SEED000_TEXT = Path("/work/shared/seeds/000_29017e1ae1d99326.txt")

ENV_NAMES = ("WS_URL", "AUTH_TOKEN", "CONNECTIONS", "MESSAGES", "BASE_URL", "MQTT_URL", "GRAPHQL_URL",
             "MCP_URL", "LOADTEST_USERNAME", "LOADTEST_PASSWORD")
"""Every variable the examples read; tests that use os.environ clear them first."""

BASE: dict[str, Any] = {
    "name": "T",
    "protocol": "WEBSOCKET",
    "endpoint": "ws://127.0.0.1:8000/ws",
    "duration_seconds": 60,
    "connections": 10,
    "rates": {"messagesPerSecond": 1.0},
}


def base(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`BASE` with keys replaced (``None`` removes a key)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line where ``needle`` occurs (the n-th time): what an error should point at."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def problems_of(text: str, source: str = "s.json", env: dict[str, str] | None = None) -> list[Problem]:
    """The problems loading ``text`` reports; fails the test when it loads."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, source, {} if env is None else env)
    assert caught.value.problems, "a ScenarioError must carry at least one problem"
    return caught.value.problems


def data_problems(data: Any, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_data(data, "<data>", None, {} if env is None else env)
    return caught.value.problems


def load(data: dict[str, Any], env: dict[str, str] | None = None) -> Scenario:
    return scenario_from_data(data, "<data>", None, {} if env is None else env)
