"""Fault specs and per-message decisions (target/faults.py), with no sockets and no sleeping."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.target.faults import (
    Action,
    DropFault,
    FaultController,
    FaultPlan,
    FaultSpecError,
    ResetFault,
    SlowFault,
    StallFault,
    parse_fault,
    parse_faults,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("stall:2", StallFault(2.0, 0.0)),
        ("stall:1.5@3", StallFault(1.5, 3.0)),
        ("STALL: 2 @ 0.5", StallFault(2.0, 0.5)),
        ("slow:10", SlowFault(10.0)),
        ("slow:0", SlowFault(0.0)),
        ("drop:0.25", DropFault(0.25)),
        ("drop:1", DropFault(1.0)),
        ("reset:0", ResetFault(0.0)),
        ("reset:1.0", ResetFault(1.0)),
    ],
)
def test_parse_valid_specs(spec: str, expected: object) -> None:
    assert parse_fault(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["", "stall", "stall:", "stall:0", "stall:-1", "stall:1@-2", "stall:x", "slow:-5", "slow:abc",
     "drop:1.5", "drop:-0.1", "reset:2", "drop:nan", "slow:inf", "explode:1", "delay:10"],
)
def test_bad_specs_name_the_spec_and_the_allowed_forms(spec: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        parse_fault(spec)
    message = str(info.value)
    assert repr(spec) in message
    assert "stall:SECONDS[@AFTER]" in message and "slow:MS" in message
    assert "drop:RATE" in message and "reset:RATE" in message


def test_parse_faults_stops_at_the_first_bad_one() -> None:
    assert parse_faults(["slow:5", "drop:0.1"]) == (SlowFault(5.0), DropFault(0.1))
    with pytest.raises(FaultSpecError, match="bogus"):
        parse_faults(["slow:5", "bogus:1"])


fault_strategy = st.one_of(
    st.builds(StallFault, st.floats(0.001, 1e4), st.floats(0, 1e4)),
    st.builds(SlowFault, st.floats(0, 1e5)),
    st.builds(DropFault, st.floats(0, 1)),
    st.builds(ResetFault, st.floats(0, 1)),
)


@given(fault_strategy)
def test_spec_round_trips(fault: StallFault | SlowFault | DropFault | ResetFault) -> None:
    again = parse_fault(fault.spec())
    assert type(again) is type(fault)
    # %g keeps 6 significant digits; that is plenty for a test fault.
    for name in fault.__slots__:
        assert getattr(again, name) == pytest.approx(getattr(fault, name), rel=1e-5, abs=1e-9)


def test_no_faults_means_reply_now() -> None:
    plan = FaultPlan((), activated_at=100.0)
    decision = plan.decide(105.0, random.Random(1))
    assert decision == (Action.REPLY, 105.0, False, False)


def test_stall_holds_replies_until_the_window_ends_once() -> None:
    plan = FaultPlan([StallFault(2.0, after=1.0)], activated_at=100.0)
    rng = random.Random(1)
    assert plan.decide(100.5, rng).release_at == 100.5  # before the window
    inside = plan.decide(101.2, rng)
    assert inside.action is Action.REPLY and inside.stalled and inside.release_at == 103.0
    assert plan.decide(102.9, rng).release_at == 103.0
    after = plan.decide(103.0, rng)
    assert not after.stalled and after.release_at == 103.0  # window is half-open, and only once
    assert plan.decide(500.0, rng).release_at == 500.0


def test_slow_adds_its_delay_and_stacks_after_a_stall() -> None:
    plan = FaultPlan([SlowFault(10.0)], activated_at=0.0)
    decision = plan.decide(5.0, random.Random(1))
    assert decision.slowed and decision.release_at == pytest.approx(5.010)
    both = FaultPlan([StallFault(1.0), SlowFault(100.0)], activated_at=0.0).decide(0.5, random.Random(1))
    assert both.stalled and both.slowed and both.release_at == pytest.approx(1.1)


def test_drop_and_reset_at_rate_one_always_apply_and_at_zero_never() -> None:
    rng = random.Random(1)
    assert all(FaultPlan([DropFault(1.0)], 0).decide(t, rng).action is Action.DROP for t in range(100))
    assert all(FaultPlan([ResetFault(1.0)], 0).decide(t, rng).action is Action.RESET for t in range(100))
    assert all(FaultPlan([DropFault(0.0)], 0).decide(t, rng).action is Action.REPLY for t in range(100))


def test_drop_rate_is_roughly_honoured_and_seeded() -> None:
    def draws(seed: int) -> list[Action]:
        controller = FaultController([DropFault(0.3)], now=0.0, seed=seed)
        return [controller.decide(float(i)).action for i in range(2000)]

    first = draws(7)
    assert first == draws(7)  # same seed, same fate for every message
    dropped = sum(action is Action.DROP for action in first) / len(first)
    assert 0.25 < dropped < 0.35


def test_controller_switches_at_run_time() -> None:
    controller = FaultController(now=0.0, seed=1)
    assert not controller.active and controller.specs() == []
    controller.set([StallFault(1.0)], now=50.0)
    assert controller.active and controller.specs() == ["stall:1@0"]
    assert controller.decide(50.5).release_at == 51.0  # the stall counts from the switch
    controller.clear(now=60.0)
    assert not controller.active
    assert controller.decide(60.0).action is Action.REPLY
