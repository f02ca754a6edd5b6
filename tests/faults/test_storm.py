from __future__ import annotations

import asyncio
import functools
import time

import pytest

from streamtestbench.faults import ReconnectStorm
from streamtestbench.scenario.injection import FailureInjection


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 1.0])
def test_the_storm_selects_its_fraction_of_any_run_of_units(fraction: float) -> None:
    storm = ReconnectStorm(at_seconds=1, fraction=fraction, reconnect_delay_s=0)
    for first, count in ((0, 1000), (500, 200), (7, 40)):
        selected = sum(storm.selects(unit) for unit in range(first, first + count))
        assert abs(selected - fraction * count) <= 3


def test_the_scenario_field_reads_in_file_spelling() -> None:
    config = FailureInjection.model_validate({"reconnectStorm": {"atSeconds": 30, "fraction": 0.5,
                                                                  "reconnectDelayMs": 250}})
    storm = ReconnectStorm.from_scenario(config)
    assert storm is not None
    assert (storm.at_seconds, storm.fraction, storm.reconnect_delay_s) == (30, 0.5, 0.25)
    assert ReconnectStorm.from_scenario(None) is None
    assert ReconnectStorm.from_scenario(FailureInjection.model_validate({"enabled": False, **config.to_data()})) \
        is None


@pytest.mark.parametrize("bad", [{"atSeconds": 1, "fraction": 0}, {"atSeconds": -1, "fraction": 0.5},
                                 {"atSeconds": 1, "fraction": 1.5}])
def test_out_of_range_storms_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FailureInjection.model_validate({"reconnectStorm": bad})


def test_arm_fires_only_for_selected_units_and_only_while_the_moment_is_ahead() -> None:
    async def scenario() -> list[int]:
        storm = ReconnectStorm(at_seconds=0.05, fraction=0.5, reconnect_delay_s=0)
        fired: list[int] = []
        start = time.monotonic_ns()
        handles = [storm.arm(unit, start, time.monotonic_ns(), functools.partial(fired.append, unit))
                   for unit in range(10)]
        late = storm.arm(0, start - 10**9, time.monotonic_ns(), lambda: fired.append(-1))
        assert late is None
        assert sum(handle is not None for handle in handles) == sum(storm.selects(u) for u in range(10))
        await asyncio.sleep(0.2)
        return fired

    fired = asyncio.run(scenario())
    storm = ReconnectStorm(at_seconds=0.05, fraction=0.5, reconnect_delay_s=0)
    assert sorted(fired) == [unit for unit in range(10) if storm.selects(unit)]
