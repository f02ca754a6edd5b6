"""Think and expect operations shared by the WebSocket and MQTT flows."""

from __future__ import annotations

import random

from streamtestbench.flows.ops import Expect, Think
from streamtestbench.scenario.flow import ExpectStep, ThinkStep


def test_a_fixed_think_is_exact_and_a_range_stays_inside_its_bounds() -> None:
    fixed = Think.of(ThinkStep.model_validate({"think": 2}))
    assert (fixed.low, fixed.high, fixed.seconds(random.Random(1))) == (2.0, 2.0, 2.0)
    ranged = Think.of(ThinkStep.model_validate({"think": {"min": 1, "max": 3}}))
    draws = [ranged.seconds(random.Random(seed)) for seed in range(50)]
    assert all(1.0 <= d <= 3.0 for d in draws) and len(set(draws)) > 1


def test_an_expect_keeps_its_match_and_timeout_in_seconds() -> None:
    expect = Expect.of(ExpectStep.model_validate({"expect": {"match": {"type": "pong"}, "timeoutMs": 1500}}))
    assert expect.timeout_s == 1.5
    assert expect.matcher.accepts(b"", {"type": "pong", "x": 1})
    assert not expect.matcher.accepts(b"", {"type": "ping"})
