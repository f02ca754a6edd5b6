"""Which keys a model allows at a path, and the nearest to a misspelt one."""

from __future__ import annotations

import pytest

from streamtestbench.scenario.auth import Authentication
from streamtestbench.scenario.fields import allowed_keys, model_at, suggest
from streamtestbench.scenario.flow import LoopSpec, SendSpec
from streamtestbench.scenario.injection import RangeMs
from streamtestbench.scenario.load import Executor, Rates, Stage
from streamtestbench.scenario.model import Scenario, UserGroup


@pytest.mark.parametrize("path, model", [
    ((), Scenario),
    (("rates",), Rates),
    (("authentication",), Authentication),
    (("failureInjection", "networkDelays", "rangeMs"), RangeMs),
    (("failure_injection", "network_delays", "range_ms"), RangeMs),
    (("executor", "stages", 0), Stage),
    (("executor",), Executor),
    (("groups", 0), UserGroup),
    (("groups", 0, "rates"), Rates),
    (("flow", 0, "send"), SendSpec),
    (("flow", 0, "loop"), LoopSpec),
    (("flow", 0, "loop", "steps", 1, "send"), SendSpec),
])
def test_model_at(path: tuple[str | int, ...], model: type) -> None:
    assert model_at(Scenario, path) is model


@pytest.mark.parametrize("path", [("nope",), ("variables", "x"), ("name",), ("flow", 0)])
def test_model_at_non_models(path: tuple[str | int, ...]) -> None:
    assert model_at(Scenario, path) is None


def test_allowed_keys_use_the_file_spelling() -> None:
    assert allowed_keys(Rates)[:6] == ["messagesPerSecond", "burstMultiplier", "burstIntervalSeconds",
                                       "burstDurationSeconds", "rampUpSeconds", "rampDownSeconds"]
    assert "duration_seconds" in allowed_keys(Scenario)
    assert "failureInjection" in allowed_keys(Scenario)
    assert {"preAllocatedVUs", "maxVUs", "startVUs", "timeUnit"} <= set(allowed_keys(Executor))


@pytest.mark.parametrize("word, expected", [
    ("messagesPerSeconds", "messagesPerSecond"),
    ("messages_per_second", "messagesPerSecond"),
    ("MESSAGESPERSECOND", "messagesPerSecond"),
    ("burstMultipler", "burstMultiplier"),
    ("rampupseconds", "rampUpSeconds"),
    ("zzzz", None),
])
def test_suggest(word: str, expected: str | None) -> None:
    assert suggest(word, allowed_keys(Rates)) == expected


def test_suggest_among_enum_values() -> None:
    assert suggest("websokcet", ["WEBSOCKET", "MQTT"]) == "WEBSOCKET"
    assert suggest("constant_vus", ["constant-vus", "ramping-vus"]) == "constant-vus"
