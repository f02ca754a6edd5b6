from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pytest

from streamtestbench.faults import COUNTS, Injector
from streamtestbench.scenario.injection import FailureInjection

from ._support import CountingRecorder

DRAWS = 10_000


def _injector(data: dict[str, Any], seed: int = 2024) -> tuple[Injector, CountingRecorder]:
    recorder = CountingRecorder()
    injector = Injector.from_scenario(FailureInjection.model_validate(data), random.Random(seed), recorder)
    assert injector is not None
    return injector, recorder


def _within_binomial(observed: int, probability: float, draws: int = DRAWS) -> bool:
    """Four standard deviations: a correct injector fails this about once in 16,000 seeds."""
    sd = math.sqrt(draws * probability * (1 - probability))
    return abs(observed - draws * probability) <= 4 * sd


SEED_000 = {
    "enabled": True,
    "networkDelays": {"enabled": True, "rangeMs": {"start": 50, "endInclusive": 500}, "probability": 0.05},
    "duplicateMessages": {"probability": 0.01, "maxDuplicates": 3},
    "schemaDrift": {"probability": 0.001, "mutations": [
        {"type": "ADD_FIELD", "fieldPath": "extra_field", "newValue": "test_value"}]},
    "connectionDrops": {"probability": 0.001, "reconnectDelayMs": 1000},
}


@pytest.mark.parametrize("probability", [0.1, 0.5])
def test_network_delay_frequency_and_range_match_the_scenario(probability: float) -> None:
    injector, recorder = _injector({"networkDelays": {"rangeMs": {"start": 50, "endInclusive": 500},
                                                      "probability": probability}})
    delays = [injector.delay_s() for _ in range(DRAWS)]
    hits = [d for d in delays if d > 0]
    assert _within_binomial(len(hits), probability)
    assert recorder.counters[COUNTS.network_delay] == len(hits)
    assert min(hits) >= 0.05 and max(hits) <= 0.5
    assert max(hits) - min(hits) > 0.4  # the whole range is used, not one value


def test_duplicate_frequency_and_copies_match_the_scenario() -> None:
    injector, recorder = _injector({"duplicateMessages": {"probability": 0.1, "maxDuplicates": 3}})
    copies = [injector.duplicates() for _ in range(DRAWS)]
    duplicated = [c for c in copies if c]
    assert _within_binomial(len(duplicated), 0.1)
    assert set(duplicated) == {1, 2, 3}
    assert recorder.counters[COUNTS.duplicate] == sum(duplicated)


def test_connection_drop_frequency_matches_the_scenario() -> None:
    injector, recorder = _injector({"connectionDrops": {"probability": 0.1, "reconnectDelayMs": 250}})
    drops = sum(injector.should_drop() for _ in range(DRAWS))
    assert _within_binomial(drops, 0.1)
    assert recorder.counters[COUNTS.connection_drop] == drops
    assert injector.reconnect_delay_s == 0.25


def test_schema_drift_frequency_and_per_mutation_counters() -> None:
    injector, recorder = _injector({"schemaDrift": {"probability": 0.1, "mutations": [
        {"type": "NULL_FIELD", "fieldPath": "a"}, {"type": "REMOVE_FIELD", "fieldPath": "b"}]}})
    message = {"a": 1, "b": 2}
    changed = sum(injector.mutate(message) != message for _ in range(DRAWS))
    assert _within_binomial(changed, 0.1)
    assert recorder.counters[COUNTS.schema_drift] == changed
    nulls, removals = recorder.counters["injected.schema_drift.NULL_FIELD"], \
        recorder.counters["injected.schema_drift.REMOVE_FIELD"]
    assert nulls + removals == changed and _within_binomial(nulls, 0.5, changed)
    assert message == {"a": 1, "b": 2}  # never changed in place


def test_the_seed_000_block_draws_each_fault_at_its_own_rate() -> None:
    injector, recorder = _injector(SEED_000)
    draws = 100_000
    for _ in range(draws):
        injector.should_drop()
        injector.delay_s()
        injector.mutate_bytes(b'{"type":"metrics"}')
        injector.duplicates()
    for name, probability in ((COUNTS.network_delay, 0.05), (COUNTS.schema_drift, 0.001),
                              (COUNTS.connection_drop, 0.001)):
        assert _within_binomial(recorder.counters[name], probability, draws), name
    assert recorder.counters["injected.schema_drift.ADD_FIELD"] == recorder.counters[COUNTS.schema_drift]


def test_same_seed_same_faults() -> None:
    def run(seed: int) -> list[float]:
        injector, _ = _injector(SEED_000 | {"networkDelays": {"rangeMs": {"start": 1, "endInclusive": 9},
                                                              "probability": 0.3}}, seed)
        return [injector.delay_s() for _ in range(200)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_mutate_bytes_changes_json_and_leaves_other_payloads_alone() -> None:
    injector, recorder = _injector({"schemaDrift": {"probability": 1.0, "mutations": [
        {"type": "RENAME_FIELD", "fieldPath": "data.seq", "newName": "sequence"}]}})
    assert orjson.loads(injector.mutate_bytes(b'{"type":"x","data":{"seq":3}}')) == \
        {"type": "x", "data": {"sequence": 3}}
    assert injector.mutate_bytes(b"plain text") == b"plain text"
    assert injector.mutate_bytes(b'{"type":"x"}') == b'{"type":"x"}'  # no data.seq to rename
    assert recorder.counters[COUNTS.schema_drift] == 1
    assert recorder.counters[COUNTS.schema_drift_no_path] == 2


@pytest.mark.parametrize("data", [
    None,
    {"enabled": False, "connectionDrops": {"probability": 1.0}},
    {"enabled": True},
    {"networkDelays": {"enabled": False, "rangeMs": {"start": 1, "endInclusive": 2}, "probability": 1.0}},
])
def test_absent_or_disabled_injection_gives_no_injector(data: dict[str, Any] | None) -> None:
    config = None if data is None else FailureInjection.model_validate(data)
    assert Injector.from_scenario(config, random.Random(1), CountingRecorder()) is None


def test_probability_zero_everywhere_means_callers_skip_the_per_message_calls() -> None:
    zeroed = {"networkDelays": {"rangeMs": {"start": 1, "endInclusive": 2}, "probability": 0.0},
              "duplicateMessages": {"probability": 0.0}, "connectionDrops": {"probability": 0.0},
              "schemaDrift": {"probability": 0.0, "mutations": [{"type": "NULL_FIELD", "fieldPath": "a"}]}}
    injector, recorder = _injector(zeroed)
    assert injector.any_per_message is False
    rng_state = random.Random(2024).getstate()
    for _ in range(100):
        assert (injector.delay_s(), injector.duplicates(), injector.should_drop()) == (0.0, 0, False)
        assert injector.mutate({"a": 1}) == {"a": 1}
    assert not recorder.counters
    assert random.Random(2024).getstate() == rng_state
    assert _injector(SEED_000)[0].any_per_message is True
